"""Run a command as another local user, or as root without the rights that bypass file modes.

The project's Python lives under /root (mode 0700) here, so another uid cannot run it: a second
user runs Debian's ``/usr/bin/python3`` (standard library only). Root minus CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH and CAP_FOWNER is checked against the mode bits like anyone else, and can
still run the project's Python and condashare.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from conftest import need

SECOND_UID = 54321
SYSTEM_PYTHON = "/usr/bin/python3"


def _setpriv() -> str:
    need(os.geteuid() == 0, "needs root to switch users")
    path = shutil.which("setpriv")
    need(path is not None, "setpriv is missing (util-linux)")
    assert path is not None
    return path


def as_second_user(uid: int = SECOND_UID) -> list[str]:
    """A command prefix running as uid/gid ``uid`` with no supplementary groups."""
    prefix = [_setpriv(), f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    need(os.path.exists(SYSTEM_PYTHON), f"{SYSTEM_PYTHON} is missing")
    return prefix


def as_plain_root() -> list[str]:
    """A command prefix running as root without the capabilities that bypass file modes."""
    prefix = [_setpriv(), "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    need(probe.returncode == 0, f"cannot drop capabilities here: {probe.stderr.strip()}")
    return prefix


def can_read(prefix: list[str], path: str) -> bool:
    """Can the user ``prefix`` runs as open and read ``path``?"""
    code = "import sys; open(sys.argv[1], 'rb').read(1)"
    proc = subprocess.run(
        [*prefix, SYSTEM_PYTHON, "-I", "-c", code, path], capture_output=True, text=True
    )
    return proc.returncode == 0
