"""Helpers shared by the bench scripts (`run_all.py` skips files whose name starts with "_")."""

from __future__ import annotations

import math
import socket


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
