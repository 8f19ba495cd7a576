"""Finding conda (or any program) on PATH without hanging on a PATH entry on a dead share."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from condashare.bounded.liveness import is_share_failure
from condashare.bounded.paths import OK, UNRESPONSIVE, run_probe
from condashare.host.mounts import Mount, may_be_remote


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_on_path(
    name: str, path_env: str, mounts: Sequence[Mount], timeout: float
) -> tuple[str | None, tuple[str, ...]]:
    """Like ``shutil.which`` but PATH entries on network mounts are checked through the probe.

    On a share the candidate is opened and read (what running it does): a cached stat would
    find ``conda`` on a share that died. Entries whose share does not answer, or fails (ESTALE,
    EIO, ENOTCONN ...), are skipped and returned second.
    """
    skipped: list[str] = []
    for directory in path_env.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, name)
        if may_be_remote(candidate, mounts):
            result = run_probe("head", candidate, timeout, "64")
            mode = int(result.data.get("stat", {}).get("mode", 0))
            if result.status == OK and stat.S_ISREG(mode) and mode & 0o111:
                return candidate, tuple(skipped)
            if result.status == UNRESPONSIVE or is_share_failure(result.errno):
                skipped.append(directory)
            continue
        if _executable(candidate):
            return candidate, tuple(skipped)
    return None, tuple(skipped)
