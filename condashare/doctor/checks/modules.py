"""Environment modulefiles written by ``condashare modules``: still today's set, still loadable.

The modulefiles are a snapshot of the releases and of the site file on the day they were
written. Releases come and go, so the set drifts: a new release has no module, a removed one
leaves a module whose load fails, a changed site file leaves files choosing old prefixes. The
directories are the default one and every ``$MODULEPATH`` entry holding condashare's files; each
is read in an abandonable child, since ``module avail`` reads them without any timeout.
"""

from __future__ import annotations

import os

from condashare.conda.condarc import CondaContext
from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.modules.render import Format, owns
from condashare.modules.sync import ModulesPlan, default_dir, plan_sync, scan
from condashare.render import shell_word, shown
from condashare.shared_envs.setup import Setup
from condashare.wording import agree, plural, seconds_text

CID = "modules.files"
_MAX_LISTED = 5
# How each kind of drift the sync plan finds reads: (plan action, counted noun, title, detail).
_DRIFT = (
    ("create", "shared release", "{n} {have} no modulefile in {where}", "Missing: {names}."),
    (
        "remove",
        "modulefile",
        "{n} in {where} {are} for releases that are gone",
        "`module load` of {names} fails: no installation has the release now.",
    ),
    (
        "update",
        "modulefile",
        "{n} in {where} {are} not what condashare writes today",
        "{names}: written from another version of the site file (installations, probe timeout) "
        "or of condashare.",
    ),
)


def _dirs(ctx: Context) -> list[str]:
    """The default directory first, then each absolute ``$MODULEPATH`` entry, once."""
    found = [default_dir(ctx.home)]
    found += [d for d in ctx.env.get("MODULEPATH", "").split(":") if d.startswith("/")]
    return list(dict.fromkeys(os.path.normpath(d) for d in found))


def _names(modules: list[str]) -> str:
    more = len(modules) - _MAX_LISTED
    return ", ".join(map(shown, modules[:_MAX_LISTED])) + (f" and {more} more" if more > 0 else "")


def _judge(ctx: Context, plan: ModulesPlan) -> list[Finding]:
    """What drifted between the modulefiles of one directory and today's releases."""
    where = shown(plan.directory)
    fix = f"Run `condashare modules --dir {shell_word(plan.directory)}` to sync them."
    findings: list[Finding] = []
    here = ctx.installation
    for listing in plan.listings:
        if listing.status != "ok" and here is not None and listing.installation == here.name:
            findings.append(
                error(
                    CID,
                    f"`module load` of the modulefiles in {where} fails on this machine",
                    f"The share of installation {listing.installation!r} does not answer "
                    f"({listing.detail}): each load gives up after {seconds_text(ctx.timeout)}.",
                    "See `condashare doctor mount`.",
                    directory=plan.directory,
                )
            )
    if plan.status == "skipped":
        return findings or [warning(CID, f"modulefiles in {where} not compared", plan.detail)]
    by_action: dict[str, list[str]] = {}
    for change in plan.changes:
        by_action.setdefault(change.action, []).append(change.module)
    for action, noun, title, detail in _DRIFT:
        modules = by_action.get(action, [])
        if modules:
            findings.append(
                warning(
                    CID,
                    title.format(
                        n=plural(len(modules), noun),
                        where=where,
                        are=agree(len(modules), "is", "are"),
                        have=agree(len(modules), "has", "have"),
                    ),
                    detail.format(names=_names(modules)),
                    fix,
                    directory=plan.directory,
                    modules=modules,
                )
            )
    mine = next((x for x in plan.listings if here and x.installation == here.name), None)
    if here is not None and mine is not None and mine.status == "ok":
        kept = [c for c in plan.changes if c.action in ("unchanged", "update") and c.new]
        elsewhere = [c.module for c in kept if owns(c.new or b"") not in mine.releases]
        if elsewhere:
            findings.append(
                info(
                    CID,
                    f"{plural(len(elsewhere), 'module')} in {where} cannot be loaded on this "
                    "machine",
                    f"{_names(elsewhere)}: installation {here.name!r} of this "
                    f"{ctx.host.platform} machine does not have the release (another "
                    "installation of the site has it).",
                    directory=plan.directory,
                    modules=elsewhere,
                )
            )
    return findings


def check_modulefiles(ctx: Context) -> list[Finding]:
    site = ctx.site
    if site is None:
        return [info(CID, "no site file: modulefiles not checked")]
    conda = CondaContext(
        env=ctx.env,
        cwd=ctx.home,
        conda_root=None,
        mounts=ctx.mounts,
        installations=site.installations,
        probe_timeout=ctx.timeout,
    )
    setup = Setup(ctx.host, site, ctx.installation, conda, False, "", "")
    findings: list[Finding] = []
    checked: list[str] = []
    reader = ctx.reader
    for directory in _dirs(ctx):
        found, status, why = scan(directory, reader)
        if found is None and status != "unresponsive":
            findings.append(warning(CID, f"cannot read {shown(directory)}", why))
            continue
        if found is None:
            findings.append(
                error(
                    CID,
                    f"the modulefile directory {shown(directory)} does not answer",
                    f"{why}. `module avail` and every `module load` read it without a "
                    "timeout, so they hang while it is down.",
                    "Keep modulefiles on local disk or in the home (the default of `condashare "
                    "modules`), or see `condashare doctor mount`.",
                    directory=directory,
                )
            )
            continue
        ours = [rel for rel, data in found.items() if data is not None and owns(data)]
        if not ours:
            continue
        checked.append(directory)
        fmt: Format = "lua" if any(rel.endswith(".lua") for rel in ours) else "tcl"
        findings += _judge(ctx, plan_sync(setup, directory, reader, fmt))
    if findings:
        return findings
    if not checked:
        return [info(CID, "no modulefiles of condashare's", ", ".join(_dirs(ctx)))]
    return [ok(CID, "the modulefiles match today's releases", ", ".join(checked))]


FILES = Check(
    CID,
    "modules",
    "condashare's modulefiles match today's releases",
    check_modulefiles,
    description="compares each modulefile directory (the default one, $MODULEPATH) with the "
    "releases the installations list now, through bounded probes",
)
