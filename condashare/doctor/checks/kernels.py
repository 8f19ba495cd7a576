"""Jupyter kernels: kernelspecs that cannot start on this machine, and condashare's own ones.

A kernelspec records an interpreter path. In a home shared between OSes, or after a release was
removed, that path may be missing, belong to the other OS's installation (a Mach-O python on
Linux), or sit on a share that does not answer — then the notebook server waits on it. Every
kernelspec in the user's kernel dirs this OS's Jupyter reads is checked: its interpreter's first
bytes are read through a probe (bounded), and condashare's own kernelspecs are checked through
their record (the installation this machine would pick, the release's python, the launcher).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from condashare.bounded.liveness import probe_words
from condashare.bounded.paths import ERROR, MISSING, UNRESPONSIVE, ProbeResult, run_probes
from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.kernels import store
from condashare.kernels.paths import search_dirs
from condashare.kernels.spec import LAUNCHER, KernelRecord, render_launcher
from condashare.render import shell_word, shown
from condashare.site.file import Site
from condashare.site.installations import choose_installation, parse_executable_header
from condashare.wording import plural, seconds_text

CID = "jupyter.kernelspecs"
_HEAD = "512"


@dataclass(frozen=True)
class _Target:
    """One interpreter a kernelspec starts, and what to tell the user about that kernelspec."""

    spec: store.FoundSpec
    path: str
    ours: bool
    display: str
    fix_gone: str  # how to get rid of (or repair) this kernelspec


def _display(spec: store.FoundSpec) -> str:
    name = spec.spec.get("display_name") if spec.spec else None
    return f"{spec.name} ({name})" if isinstance(name, str) and name else spec.name


def _others_interpreters(spec: store.FoundSpec) -> list[str]:
    """argv[0] and every absolute argument named python* (``/usr/bin/env python3 ...`` aside)."""
    argv = spec.spec.get("argv") if spec.spec else None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return []
    out = [argv[0]] if argv[0].startswith("/") else []
    out += [a for a in argv[1:] if a.startswith("/") and posixpath.basename(a).startswith("python")]
    return list(dict.fromkeys(out))


def _record_target(ctx: Context, spec: store.FoundSpec, record: KernelRecord) -> str | Finding:
    """The release's python on this machine, or a finding saying why there is none."""
    site = Site("", record.probe_timeout, record.installations, "", "kernel record")
    choice = choose_installation(site, ctx.host.platform, ctx.host.facts, ctx.env)
    if choice.installation is None:
        return warning(
            CID,
            f"kernel {_display(spec)} has no installation for this {ctx.host.platform} machine",
            choice.reason,
            "Run `condashare kernels` again (it records the site file's installations), or ask "
            "your administrators for an installation for this machine.",
            path=spec.path,
        )
    return posixpath.join(choice.installation.prefix, "envs", record.release, "bin", "python")


def _stale(ctx: Context, spec: store.FoundSpec, record: KernelRecord) -> Finding | None:
    """A launcher that differs from its record, or a record older than the site file."""
    if spec.files.get(LAUNCHER) != render_launcher(record):
        return warning(
            CID,
            f"the launcher of kernel {_display(spec)} is missing or was changed",
            f"{shown(os.path.join(spec.path, LAUNCHER))} is not what condashare writes for this "
            "release.",
            "Run `condashare kernels` to write it again.",
            path=spec.path,
        )
    if ctx.site is not None and ctx.site.found_by != "--prefix":
        now = {(i.name, i.os, i.arch, i.prefix) for i in ctx.site.installations}
        then = {(i.name, i.os, i.arch, i.prefix) for i in record.installations}
        if now != then:
            return warning(
                CID,
                f"kernel {_display(spec)} was made from another version of the site file",
                "Its installations differ from those of " + (ctx.site.path or "the site file"),
                "Run `condashare kernels` to bring the kernels up to date.",
                path=spec.path,
            )
    return None


def _judge(ctx: Context, target: _Target, result: ProbeResult) -> Finding | None:
    """A finding when the interpreter cannot start here; None when it looks fine."""
    who = f"kernel {_display(target.spec)}"
    data = {"kernelspec": target.spec.path, "interpreter": target.path, "ours": target.ours}
    other = next(
        (i for i in ctx.other_installations if target.path.startswith(i.prefix.rstrip("/") + "/")),
        None,
    )
    if other is not None:
        return error(
            CID,
            f"{who} runs {target.path} of the {other.os} installation {other.name!r}",
            f"It cannot start on this {ctx.host.os} machine: a kernelspec written on the other "
            "OS of a shared home.",
            target.fix_gone,
            **data,
        )
    if result.status == MISSING:
        return error(
            CID,
            f"{who} points at a missing interpreter {target.path}",
            "Starting it fails: the environment was removed, renamed or is not mounted here.",
            target.fix_gone,
            **data,
        )
    if result.status == UNRESPONSIVE:
        then = (
            f"the kernel start fails after {seconds_text(ctx.timeout)}"
            if target.ours
            else "starting it makes the notebook server wait for the share"
        )
        return error(
            CID,
            f"{who}: the share holding {target.path} does not answer",
            f"{probe_words(result, ctx.timeout)}; {then} until the share is back.",
            "See `condashare doctor mount`; condashare's kernels (`condashare kernels`) fail "
            "fast instead of hanging.",
            **data,
        )
    if result.status == ERROR:
        return warning(CID, f"{who}: cannot read {target.path}", probe_words(result), **data)
    header = parse_executable_header(bytes.fromhex(str(result.data.get("data", ""))))
    if header is not None and header.os != ctx.host.os:
        return error(
            CID,
            f"{who} runs a {header.os} program ({header.format}) on this {ctx.host.os} machine",
            shown(f"{target.path} is built for {header.os}-{'+'.join(header.archs)}."),
            target.fix_gone,
            **data,
        )
    return None


def check_kernelspecs(ctx: Context) -> list[Finding]:
    dirs = search_dirs(ctx.host.os, ctx.env, ctx.home)
    findings: list[Finding] = []
    targets: list[_Target] = []
    count = 0
    for scan in store.scan_all(dirs, ctx.reader):
        if scan.status == UNRESPONSIVE:
            findings.append(
                error(
                    CID,
                    f"the Jupyter kernel dir {scan.kernels_dir} does not answer",
                    "Jupyter reads it whenever it lists kernels, so the notebook server hangs.",
                    "Keep Jupyter's data dir on local disk (JUPYTER_DATA_DIR) or see "
                    "`condashare doctor mount`.",
                    path=scan.kernels_dir,
                )
            )
            continue
        if scan.status == ERROR:
            findings.append(warning(CID, f"cannot read {scan.kernels_dir}", scan.detail))
            continue
        for spec in scan.specs:
            count += 1
            record = spec.record
            if record is not None:
                found = _record_target(ctx, spec, record)
                if isinstance(found, Finding):
                    findings.append(found)
                    continue
                stale = _stale(ctx, spec, record)
                if stale is not None:
                    findings.append(stale)
                fix = "Run `condashare kernels`: it removes kernels of releases that are gone."
                targets.append(_Target(spec, found, True, _display(spec), fix))
                continue
            fix = (
                f"Remove it (`jupyter kernelspec remove {shell_word(spec.name)}`), or reinstall it "
                "from an environment of this machine; for the shared releases use "
                "`condashare kernels`, whose kernels pick each machine's installation when they "
                "start."
            )
            targets.extend(
                _Target(spec, p, False, _display(spec), fix) for p in _others_interpreters(spec)
            )
    paths = list(dict.fromkeys(t.path for t in targets))
    answers = run_probes([("head", p, _HEAD) for p in paths], ctx.bound_for(paths))
    results = {r.path: r for r in answers}
    for target in targets:
        judged = _judge(ctx, target, results[target.path])
        if judged is not None:
            findings.append(judged)
    if findings:
        return findings
    if not count:
        return [info(CID, "no Jupyter kernelspecs in your kernel dirs", ", ".join(dirs))]
    return [ok(CID, f"{plural(count, 'kernelspec')} can start on this machine", ", ".join(dirs))]


KERNELSPECS = Check(
    CID,
    "jupyter",
    "Jupyter kernelspecs start on this machine",
    check_kernelspecs,
    description="reads each kernelspec's interpreter header through a probe; condashare's "
    "kernels are checked through their record",
)
