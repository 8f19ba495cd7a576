"""Build doctor Contexts for tests from real files: a sandbox home, a site file, real mounts."""

from __future__ import annotations

import os
from pathlib import Path

from condashare.doctor.context import Context, build_context
from condashare.doctor.model import Check
from condashare.findings import Finding, Severity
from condashare.host.detect import HostInputs
from condashare.host.mounts import Mount, read_mount_table
from condashare.site.locate import LocateRequest


def site_file(
    tmp: Path,
    *installations: tuple[str, str, str],
    timeout: float = 2.0,
    filename: str = "site.toml",
) -> Path:
    """Write a site file; installations are (name, prefix, os)."""
    lines = ["[site]", 'name = "test"', f"probe_timeout = {timeout}"]
    for name, prefix, os_name in installations:
        lines += [
            "[[installations]]",
            f'name = "{name}"',
            f'prefix = "{prefix}"',
            f'os = "{os_name}"',
        ]
    path = tmp / filename
    path.write_text("\n".join(lines) + "\n")
    return path


def make_ctx(
    home: Path,
    site: Path | None = None,
    env: dict[str, str] | None = None,
    mounts: list[Mount] | None = None,
    shell: str = "/bin/bash",
    deep: bool = False,
    system: str = "Linux",
    machine: str = "x86_64",
    target: str | None = None,
) -> Context:
    full_env = dict(os.environ)
    full_env["HOME"] = str(home)
    full_env["SHELL"] = shell
    full_env.update(env or {})
    for key, value in list(full_env.items()):
        if value == "":
            del full_env[key]
    inputs = HostInputs(
        system=system, machine=machine, env=full_env, passwd_shell=shell, passwd_home=str(home)
    )
    request = LocateRequest(
        site_path=str(site) if site else None,
        env=full_env,
        inputs=inputs,
        mounts=read_mount_table() if mounts is None else mounts,
        user_config_dir=str(home / ".config" / "condashare"),
        site_config_dirs=[],
    )
    return build_context(request, deep=deep, target=target)


def run_one(check: Check, ctx: Context) -> list[Finding]:
    """Run a check in this process (tests of one check's logic on healthy or local inputs)."""
    return check.run(ctx)


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank)


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.is_problem]


# A 64-bit arm64 Mach-O header (magic MH_MAGIC_64, cputype CPU_TYPE_ARM64, MH_EXECUTE), as the
# first bytes of python on an Apple-silicon Mac: a Mac binary cannot be produced otherwise here.
MACHO_ARM64_HEAD = bytes.fromhex("cffaedfe0c000001000000000200000011000000c8080000")


def make_install(prefix: Path, os_name: str = "linux", subdir: str | None = None) -> Path:
    """A small conda-shaped installation: bin/python's real header, conda.sh, conda-meta."""
    import json
    import sys

    (prefix / "bin").mkdir(parents=True)
    if os_name == "linux":
        with open(os.path.realpath(sys.executable), "rb") as fh:
            head = fh.read(4096)
    else:
        head = MACHO_ARM64_HEAD + bytes(4096 - len(MACHO_ARM64_HEAD))
    (prefix / "bin" / "python").write_bytes(head)
    (prefix / "bin" / "python").chmod(0o755)
    (prefix / "bin" / "conda").write_text("#!/bin/sh\n")
    (prefix / "bin" / "conda").chmod(0o755)
    profile = prefix / "etc" / "profile.d"
    profile.mkdir(parents=True)
    (profile / "conda.sh").write_text("conda() { :; }\n")
    (profile / "conda.sh").chmod(0o644)
    meta = prefix / "conda-meta"
    meta.mkdir()
    sub = subdir or ("linux-64" if os_name == "linux" else "osx-arm64")
    (meta / "python-3.11.7-0.json").write_text(json.dumps({"name": "python", "subdir": sub}))
    (meta / "history").write_text("")
    (prefix / "pkgs").mkdir()
    (prefix / "pkgs" / "urls.txt").write_text("")
    (prefix / "envs").mkdir()
    return prefix


def nfs_mount(
    mountpoint: str,
    options: str = "rw,vers=4.2,hard,proto=tcp,local_lock=none",
    fstype: str = "nfs4",
) -> Mount:
    """A mount-table record as /proc/self/mountinfo shows a kernel NFS mount (captured shape)."""
    from condashare.host.mounts import parse_mountinfo

    line = (
        f"40 25 0:52 / {mountpoint} rw,relatime shared:7 - {fstype} "
        f"nfsserver:/export/conda {options},addr=10.0.0.1"
    )
    return parse_mountinfo(line)[0]
