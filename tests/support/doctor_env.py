"""Build doctor Contexts for tests from real files: a sandbox home, a site file, real mounts."""

from __future__ import annotations

import os
from pathlib import Path

from condashare.doctor.context import Context, build_context
from condashare.doctor.model import Check, Finding, Severity
from condashare.host import HostInputs
from condashare.mounts import Mount, read_mount_table


def site_file(tmp: Path, *installations: tuple[str, str, str], timeout: float = 2.0) -> Path:
    """Write a site file; installations are (name, prefix, os)."""
    lines = ['[site]', 'name = "test"', f"probe_timeout = {timeout}"]
    for name, prefix, os_name in installations:
        lines += ["[[installations]]", f'name = "{name}"', f'prefix = "{prefix}"',
                  f'os = "{os_name}"']
    path = tmp / "site.toml"
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
) -> Context:
    full_env = dict(os.environ)
    full_env["HOME"] = str(home)
    full_env["SHELL"] = shell
    full_env.update(env or {})
    for key, value in list(full_env.items()):
        if value == "":
            del full_env[key]
    inputs = HostInputs(system=system, machine=machine, env=full_env, passwd_shell=shell,
                        passwd_home=str(home))
    return build_context(
        site_path=str(site) if site else None,
        env=full_env,
        deep=deep,
        inputs=inputs,
        mounts=read_mount_table() if mounts is None else mounts,
        user_config_dir=str(home / ".config" / "condashare"),
        site_config_dirs=[],
    )


def run_one(check: Check, ctx: Context) -> list[Finding]:
    """Run a check in this process (tests of one check's logic on healthy or local inputs)."""
    return check.run(ctx)


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank)


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.is_problem]
