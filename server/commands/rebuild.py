"""`python -m server rebuild`: rewrite every read model (lists, submissions per day) from the sources."""

from __future__ import annotations

from server.lifecycle.rebuild import rebuild_read_models


def add_parser(subparsers) -> None:
    """Register `rebuild`."""
    subparsers.add_parser(
        "rebuild",
        help="rewrite the staff lists and daily counts from applications, archives and "
        "the audit log (a repair; run while the server is stopped)",
    )


async def run(args, services) -> int:
    """Rebuild and print what was rewritten."""
    result = await rebuild_read_models(services)
    print(", ".join(f"{k}: {v}" for k, v in result.items()))
    return 0
