"""Conda-format environments whose python really runs ipykernel, for the kernels tests.

conda itself is not on PyPI, so a release env is a venv of the running interpreter (a real
python, ``bin/python`` a real ELF binary) made conda-shaped: ``conda-meta/history`` and, for
conda's own record of an installed ipykernel, ``conda-meta/ipykernel-<version>-<build>.json``.
ipykernel and its dependencies are the ones pip installed for the tests (``.[test]``), reached
through a ``.pth`` file in the env's own site-packages; ``sys.prefix`` is the env.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

PYVER = f"python{sys.version_info.major}.{sys.version_info.minor}"


def kernel_site_dirs() -> list[str]:
    """Where the running interpreter finds ipykernel, jupyter_client and their dependencies."""
    import ipykernel
    import jupyter_client
    import tornado
    import zmq

    dirs = {os.path.dirname(os.path.dirname(m.__file__ or "")) for m in (ipykernel, zmq, tornado)}
    dirs.add(os.path.dirname(os.path.dirname(jupyter_client.__file__ or "")))
    dirs.update(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    return sorted(d for d in dirs if d)


def make_template(dest: Path) -> Path:
    """A venv (no pip) that can import ipykernel; copy it with :func:`make_release`."""
    subprocess.run(
        [os.path.realpath(sys.executable), "-m", "venv", "--without-pip", str(dest)],
        check=True,
        capture_output=True,
    )
    site = dest / "lib" / PYVER / "site-packages"
    (site / "condashare_test_kernel_deps.pth").write_text("\n".join(kernel_site_dirs()) + "\n")
    return dest


def make_installation(prefix: Path) -> Path:
    """A shared installation's root as far as the kernels need it."""
    (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
    (prefix / "conda-meta" / "history").write_text("")
    (prefix / "envs").mkdir(exist_ok=True)
    (prefix / "bin").mkdir(exist_ok=True)
    return prefix


def make_release(
    envs_dir: Path,
    name: str,
    template: Path | None,
    ipykernel: str | None = "conda",
    wrapper: bool = False,
) -> Path:
    """``envs_dir/name`` as a conda env: with ipykernel recorded by conda ("conda"), installed
    by pip into its own site-packages ("pip"), or without it (None, and no python needed).

    ``wrapper``: ``bin/python`` becomes a ``#!/bin/sh`` script running the venv's python next
    to it, which an OS-neutral check accepts on any OS (a Mac's Mach-O python cannot run here).
    """
    prefix = envs_dir / name
    if template is not None:
        shutil.copytree(template, prefix, symlinks=True)
    (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
    (prefix / "conda-meta" / "history").write_text("==> 2026-01-01 00:00:00 <==\n")
    if ipykernel == "conda":
        record = {"name": "ipykernel", "version": "7.4.0", "build": "pyh0_0", "subdir": "noarch"}
        (prefix / "conda-meta" / "ipykernel-7.4.0-pyh0_0.json").write_text(json.dumps(record))
    elif ipykernel == "pip":
        import ipykernel_launcher

        site = prefix / "lib" / PYVER / "site-packages"
        site.mkdir(parents=True, exist_ok=True)
        shutil.copy(ipykernel_launcher.__file__, site / "ipykernel_launcher.py")
    if wrapper:
        python = prefix / "bin" / "python"
        python.unlink()
        python.write_text('#!/bin/sh\nexec "$(dirname "$0")/python3" "$@"\n')
        python.chmod(0o755)
    return prefix


def write_site(path: Path, installations: list[tuple[str, Path, str, str]], timeout: float) -> Path:
    """A site file: installations are (name, prefix, os, arch or "")."""

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # valid TOML for these values

    parts = [f"[site]\nname = 'kernels test'\nprobe_timeout = {timeout}\n"]
    for name, prefix, os_name, arch in installations:
        arch_line = f"arch = [{q(arch)}]\n" if arch else ""
        parts.append(
            f"[[installations]]\nname = {q(name)}\nprefix = {q(str(prefix))}\n"
            f"os = {q(os_name)}\n{arch_line}"
        )
    path.write_text("".join(parts))
    return path
