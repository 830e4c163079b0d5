"""`python -m server sweep-files`: remove stored files nothing refers to, and chunks without a file entry."""

from __future__ import annotations

import argparse
import datetime as dt

from server.filesweep import FileSweeper

MIN_AGE_MINUTES = 5  # younger files may belong to an upload a running server is finishing


def _age(raw: str) -> int:
    minutes = int(raw)
    if minutes < MIN_AGE_MINUTES:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_AGE_MINUTES}")
    return minutes


def add_parser(subparsers) -> None:
    """Register `sweep-files`."""
    p = subparsers.add_parser(
        "sweep-files",
        help="remove stored files no document refers to (older than ORPHAN_FILE_MINUTES) and chunks "
        "without a file entry; running servers do it every FILE_SWEEP_MINUTES",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.add_argument("--older-than-minutes", type=_age, default=None, help="instead of ORPHAN_FILE_MINUTES")


async def run(args, services) -> int:
    """One sweep now (unless another process is sweeping); prints what was removed."""
    age = dt.timedelta(minutes=args.older_than_minutes) if args.older_than_minutes else None
    report = await services.get(FileSweeper).sweep(force=True, dry_run=args.dry_run, older_than=age)
    if report is None:
        print("another process is sweeping files right now; try again in a few minutes")
        return 1
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} {report['files']} orphaned files ({report['bytes']} bytes) and {report['chunk_sets']} chunk sets "
        f"without a file entry; {report['files_scanned']} files checked"
    )
    for fid in report["removed_files"]:
        print(f"  file {fid}")
    for fid in report["removed_chunk_sets"]:
        print(f"  chunks of {fid}")
    return 0
