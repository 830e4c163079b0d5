"""`python -m server migrate`: move a deployment's records into archives and applications (idempotent)."""

from __future__ import annotations

from server.lifecycle.migrate import migrate


def add_parser(subparsers) -> None:
    """Register `migrate`."""
    subparsers.add_parser(
        "migrate",
        help="move first-version records into archives and applications (idempotent, resumable; start-up runs it too)",
    )


async def run(args, services) -> int:
    """Run the migration and print what it did."""
    result = await migrate(services)
    print(f"records: {result['records']}, migrated: {result['migrated']}, already migrated: {result['skipped']}")
    return 0
