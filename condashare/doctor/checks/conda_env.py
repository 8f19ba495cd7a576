"""Which conda runs, and environment variables that silently change what conda and Python do."""

from __future__ import annotations

from condashare.conda.onpath import find_on_path
from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.pathtext import within
from condashare.render import shown


def check_conda_exe(ctx: Context) -> list[Finding]:
    cid = "conda.exe"
    exe = ctx.env.get("CONDA_EXE") or ""
    on_path, skipped = find_on_path("conda", ctx.env.get("PATH", ""), ctx.mounts, ctx.timeout)
    data = {"CONDA_EXE": exe or None, "on_path": on_path, "unresponsive_path_dirs": list(skipped)}
    findings: list[Finding] = []
    for directory in skipped:
        findings.append(
            warning(
                cid,
                f"PATH entry {directory} is on a share that does not answer",
                "Every command lookup that reaches it waits for the server.",
                "Remove it from PATH while the share is down.",
                **data,
            )
        )
    inst = ctx.installation
    for label, path in (("CONDA_EXE", exe), ("conda on PATH", on_path or "")):
        if not path:
            continue
        for other in ctx.other_installations:
            if within(path, other.prefix):
                findings.append(
                    error(
                        cid,
                        f"{label} is the {other.os} installation's conda: {path}",
                        f"This {ctx.host.os} host runs the conda of installation {other.name!r}; "
                        "it "
                        "cannot execute here. A startup file or an inherited environment set it.",
                        "Open a new shell after `condashare init`; check startup files with "
                        "condashare doctor startup.",
                        **data,
                    )
                )
    if findings:
        return findings
    if not exe and not on_path:
        return [
            info(
                cid,
                "no conda on PATH and CONDA_EXE is not set",
                "Shells here do not have conda yet.",
                "Run `condashare init` and open a new shell.",
                **data,
            )
        ]
    current = exe or on_path or ""
    if inst is not None and not within(current, inst.prefix):
        return [
            info(
                cid,
                f"conda here is {current}, not the shared installation {inst.prefix}",
                "Fine if you use your own conda on purpose (for example with the shared "
                "envs in envs_dirs).",
                "To use the shared installation: condashare init",
                **data,
            )
        ]
    return [ok(cid, f"conda: {current}", **data)]


# Variables that change how conda or its Python behave, with why each matters.
_PY_VARS = {
    "PYTHONHOME": "makes every Python (conda's included) look for its standard library in one "
    "place: conda and most environments break",
    "PYTHONPATH": "puts the same directories in front of every environment's packages: "
    "packages from another Python version or OS get imported",
    "PYTHONSTARTUP": None,
}
_CONDA_OVERRIDES = (
    "CONDARC",
    "CONDA_ENVS_DIRS",
    "CONDA_ENVS_PATH",
    "CONDA_PKGS_DIRS",
    "CONDA_ROOT_PREFIX",
    "CONDA_CHANNELS",
    "CONDA_SUBDIR",
    "CONDA_OVERRIDE_GLIBC",
    "CONDA_OVERRIDE_OSX",
    "CONDA_NO_LOCK",
    "CONDA_OFFLINE",
    "CONDA_PKGS_DIR",
)


def check_overrides(ctx: Context) -> list[Finding]:
    cid = "conda.overrides"
    env = ctx.env
    findings: list[Finding] = []
    for var in ("PYTHONHOME", "PYTHONPATH"):
        if env.get(var):
            findings.append(
                warning(
                    cid,
                    f"{var} is set: {env[var]}",
                    f"{var} {_PY_VARS[var]}.",
                    f"Unset it (`unset {var}`) and remove it from your startup files; set it only "
                    "for the one program that needs it.",
                    variable=var,
                    value=env[var],
                )
            )
    if env.get("CONDA_ENVS_DIRS") and env.get("CONDA_ENVS_PATH"):
        findings.append(
            error(
                cid,
                "both CONDA_ENVS_DIRS and CONDA_ENVS_PATH are set",
                "conda refuses to run when both aliases are set.",
                "Keep one: unset CONDA_ENVS_PATH",
            )
        )
    pkgs = env.get("CONDA_PKGS_DIRS", "")
    if pkgs and ":" in pkgs and "," not in pkgs:
        findings.append(
            warning(
                cid,
                "CONDA_PKGS_DIRS uses ':' but conda splits it on ','",
                f"conda reads {pkgs!r} as ONE directory named with colons.",
                f"Write it with commas: export CONDA_PKGS_DIRS={pkgs.replace(':', ',')}",
                value=pkgs,
            )
        )
    subdir = env.get("CONDA_SUBDIR", "")
    if subdir and subdir != ctx.host.platform.conda_subdir:
        findings.append(
            warning(
                cid,
                f"CONDA_SUBDIR={subdir} on a {ctx.host.platform.conda_subdir} host",
                "conda will install packages built for another platform.",
                "Unset it unless you are deliberately building for another platform.",
                value=subdir,
            )
        )
    for var in ("CONDA_ENVS_DIRS", "CONDA_ENVS_PATH", "CONDA_PKGS_DIRS"):
        value = env.get(var, "")
        if "$" in value:
            findings.append(
                warning(
                    cid,
                    f"{var} contains an unexpanded variable: {value}",
                    "conda expands variables it knows; an unset one stays literal and the path "
                    "becomes relative to the current directory.",
                    "Set it with the variable already expanded.",
                    variable=var,
                    value=value,
                )
            )
    set_vars = [v for v in _CONDA_OVERRIDES if env.get(v)]
    if set_vars:
        findings.append(
            info(
                cid,
                "conda settings overridden from the environment: " + ", ".join(set_vars),
                "\n".join(shown(f"{v}={env[v]}") for v in set_vars),
                "They win over every .condarc; unset them if that is not intended.",
                variables={v: env[v] for v in set_vars},
            )
        )
    prefix = env.get("CONDA_PREFIX", "")
    if prefix:
        for other in ctx.other_installations:
            if within(prefix, other.prefix):
                findings.append(
                    error(
                        cid,
                        f"CONDA_PREFIX is an environment of the {other.os} installation",
                        f"{prefix} was activated on another OS and inherited here.",
                        "Run `conda deactivate` (or open a fresh login shell).",
                        value=prefix,
                    )
                )
    return findings or [ok(cid, "no variables override conda or Python")]


CONDA_EXE = Check("conda.exe", "conda", "which conda runs", check_conda_exe)
OVERRIDES = Check(
    "conda.overrides", "conda", "overriding environment variables", check_overrides, budget=3
)
