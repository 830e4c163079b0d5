"""Helpers shared by the bench scripts (`run_all.py` skips files whose name starts with "_")."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100, nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def status_kb(field: str, pid: int | str = "self") -> int:
    """A field of /proc/<pid>/status in KB (VmRSS: resident now, VmHWM: peak); 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextlib.asynccontextmanager
async def bench_services(name: str) -> AsyncIterator[tuple[Any, str]]:
    """(services, where the database is) on a throw-away database `bench_<name>_<random>`: on
    MONGODB_URI when set, else on a local server in a temporary folder; dropped and stopped after."""
    from server.app import create_services
    from server.localdb import LocalDatabase
    from settings import Settings

    local = services = None
    try:
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            tmp = Path(tempfile.mkdtemp(prefix=f"kjcj-bench-{name}-"))
            local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
            uri = local.start()
        settings = Settings.from_env({}, mongodb_uri=uri, mongodb_db=f"bench_{name}_{uuid.uuid4().hex[:8]}")
        services = await create_services(settings)
        yield services, "MONGODB_URI" if local is None else local.kind
    finally:
        if services is not None:
            await services.db.client.drop_database(services.db.name)
            await services.close()
        if local is not None:
            local.stop()
