"""What this test process's children are doing, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from condashare.bounded.children import reap


def child_states() -> dict[int, str]:
    """pid -> state letter (R, S, D, Z ...) of every live or zombie child of this process."""
    out: dict[int, str] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
        if int(fields[1]) == me:
            out[int(entry.name)] = fields[0]
    return out


def wait_reaped(seconds: float = 10) -> int:
    """Reap until nothing abandoned is left or ``seconds`` pass; how many are left."""
    deadline = time.monotonic() + seconds
    while reap() and time.monotonic() < deadline:
        time.sleep(0.05)
    return reap()
