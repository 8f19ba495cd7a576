"""What one condashare kernelspec is: its name, its kernel.json, its launcher, its record.

A kernelspec is a directory ``condashare-<release>/`` with ``kernel.json`` and ``launch.sh``.
The launcher holds every installation of the site (one ``uname -sm`` case arm each, as the
shell block has), so the same directory works on each OS and CPU that reads it and picks that
machine's installation at launch. ``kernel.json``'s ``metadata.condashare`` is the record it was
made from and the marker that makes it ours: sync and ``--reverse`` touch nothing without it.

The argv finds the launcher through ``$HOME`` when the kernelspec is in the home, because a home
shared between Linux and macOS may be mounted at different paths on each; clients other than
jupyter_client (VS Code) only substitute ``{connection_file}``, so ``{resource_dir}`` is not used.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condashare.shared_envs.releases import parse_release
from condashare.shells.code import format_timeout
from condashare.shells.dialects import PosixDialect
from condashare.site.file import Installation, unsafe_path_reason

MARKER = "condashare kernels"
RECORD_FORMAT = 1
NAME_PREFIX = "condashare-"
KERNEL_JSON = "kernel.json"
LAUNCHER = "launch.sh"
FILES = (KERNEL_JSON, LAUNCHER)
_VALID_NAME = re.compile(r"^[a-z0-9._-]+$")  # jupyter_client's kernel name rule, lower case
_TEMPLATE = Path(__file__).resolve().parent / "launch.sh"


@dataclass(frozen=True)
class KernelRecord:
    """What a kernelspec was made from: the release and every installation that may run it."""

    release: str
    installations: tuple[Installation, ...]
    probe_timeout: float
    site: str = ""  # the site file it came from, for people reading kernel.json

    def to_json(self) -> dict[str, Any]:
        return {
            "managed_by": MARKER,
            "format": RECORD_FORMAT,
            "release": self.release,
            "site": self.site,
            "probe_timeout": self.probe_timeout,
            "installations": [
                {"name": i.name, "os": i.os, "arch": list(i.arch), "prefix": i.prefix}
                for i in self.installations
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> KernelRecord | None:
        """The record in a kernel.json's ``metadata.condashare``; None unless ours and intact."""
        if not isinstance(data, dict) or data.get("managed_by") != MARKER:
            return None
        release, timeout = data.get("release"), data.get("probe_timeout")
        raw = data.get("installations")
        if not isinstance(release, str) or not isinstance(raw, list):
            return None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            return None
        insts: list[Installation] = []
        for item in raw:
            if not isinstance(item, dict):
                return None
            name, os_name, prefix = item.get("name"), item.get("os"), item.get("prefix")
            arch = item.get("arch", [])
            if not all(isinstance(v, str) for v in (name, os_name, prefix)):
                return None
            if not isinstance(arch, list) or not all(isinstance(a, str) for a in arch):
                return None
            insts.append(Installation(str(name), str(prefix), str(os_name), tuple(arch)))
        site = data.get("site", "")
        return cls(release, tuple(insts), float(timeout), site if isinstance(site, str) else "")


def release_problem(release: str) -> str | None:
    """Why an env name cannot become a kernel (it is written into shell code), or None."""
    reason = unsafe_path_reason(release)
    if reason:
        return reason
    if "/" in release or release in ("", ".", ".."):
        return "is not a plain directory name"
    return None


def kernel_name(release: str) -> str:
    """A stable, valid kernel directory name: ``condashare-isis4.3.0``.

    Jupyter lower-cases names and allows only ``[a-z0-9._-]``; when the release name has to be
    changed to fit, a short hash of the original keeps two such names apart.
    """
    plain = re.sub(r"[^a-z0-9._-]+", "-", release.lower()).strip("-.") or "env"
    if plain != release:
        plain += "-" + hashlib.sha256(release.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    name = NAME_PREFIX + plain
    assert _VALID_NAME.match(name)
    return name


def display_name(release: str) -> str:
    """What the notebook's kernel menu shows: ``isis 4.3.0 (shared)``."""
    family, version = parse_release(release)
    return f"{family} {version} (shared)" if version else f"{release} (shared)"


def render_launcher(record: KernelRecord) -> bytes:
    """The launcher for ``record``: case arms per installation, the release, the timeout."""
    dialect = PosixDialect()
    arms = dialect.arms(record.installations)
    text = _TEMPLATE.read_text(encoding="utf-8")
    for key, value in (
        ("__CONDASHARE_CASES__\n", arms),
        ("__CONDASHARE_RELEASE__", dialect.quote(record.release)),
        ("__CONDASHARE_TIMEOUT__", dialect.quote(format_timeout(record.probe_timeout))),
    ):
        if key not in text:
            raise RuntimeError(f"kernel launcher template lacks {key.strip()}")
        text = text.replace(key, value)
    return text.encode("utf-8")


def launcher_command(kernel_dir: str, home: str) -> str:
    """The ``sh -c`` text that runs the launcher: through ``$HOME`` when it is in the home."""
    quote = PosixDialect().quote
    launcher = posixpath.join(kernel_dir, LAUNCHER)
    home = home.rstrip("/")
    if home and launcher.startswith(home + "/"):
        where = '"$HOME"/' + quote(launcher[len(home) + 1 :])
    else:
        where = quote(launcher)
    return f'exec /bin/sh {where} "$@"'


def render_kernel_json(record: KernelRecord, kernel_dir: str, home: str) -> bytes:
    spec = {
        "argv": [
            "/bin/sh",
            "-c",
            launcher_command(kernel_dir, home),
            "condashare-kernel",
            "-f",
            "{connection_file}",
        ],
        "display_name": display_name(record.release),
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True, "condashare": record.to_json()},
    }
    return (json.dumps(spec, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_files(record: KernelRecord, kernel_dir: str, home: str) -> dict[str, bytes]:
    """The bytes of every file of the kernelspec at ``kernel_dir``."""
    return {
        KERNEL_JSON: render_kernel_json(record, kernel_dir, home),
        LAUNCHER: render_launcher(record),
    }


def record_of(spec: Mapping[str, Any] | None) -> KernelRecord | None:
    """The condashare record of a parsed kernel.json, None when the kernelspec is not ours."""
    if not isinstance(spec, Mapping):
        return None
    metadata = spec.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    return KernelRecord.from_json(metadata.get("condashare"))
