"""``admin publish``: make one release env safe to show users, and say where they will see it.

The checks before users see a release: modes in the env and in its installation's package
cache (no write for others, read for all: archives included, since users' conda links from that
cache), owners among the admins, the CEP 22 frozen marker, a deep verify against conda's own
records, and the env's place in the site file's view (which installation, which name).
Planning changes nothing; :func:`apply_publish` applies exactly the plan.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

from condashare.admin.audit import (
    Applied,
    Change,
    apply_changes,
    examine,
    policy_summary,
    problems_remain,
)
from condashare.admin.policy import resolve_policy
from condashare.admin.tree import walk_tree
from condashare.findings import Finding, Severity, exit_code_for
from condashare.pathtext import within
from condashare.render import shell_word
from condashare.site.file import AdminSettings, Installation, Site
from condashare.wording import plural, seconds_text

ViewStatus = Literal["release", "base", "inside", "outside", "no-site"]


@dataclass(frozen=True)
class SiteView:
    """Where an env sits in the site file's view, and so whether (and as what) users see it."""

    status: ViewStatus
    name: str  # the name users activate it by ("" when they cannot)
    installation: Installation | None
    site_path: str

    def finding(self, prefix: str) -> Finding:
        """What the admin is told about the env's place in the site's view."""
        inst = self.installation
        where = f"installation {inst.name!r} ({inst.os}, {inst.prefix})" if inst else ""
        os_name = inst.os if inst else ""
        envs_dir = inst.envs_dir if inst else ""
        texts: dict[ViewStatus, tuple[Severity, str, str, str]] = {
            "release": (
                Severity.OK,
                f"users of {os_name} machines will see it as {self.name!r}, in {where}",
                f"`conda activate {self.name}` and `condashare envs` list it on every {os_name} "
                f"machine of the site ({self.site_path}).",
                "",
            ),
            "base": (Severity.OK, f"it is the base env of {where}", "", ""),
            "inside": (
                Severity.WARNING,
                f"it is inside {where} but not in its envs dir",
                f"conda lists envs by name only from {envs_dir}; users must activate it by "
                f"path ({prefix}).",
                f"Create release envs as {envs_dir}/NAME.",
            ),
            "outside": (
                Severity.WARNING,
                f"it is in none of the installations of the site file {self.site_path}",
                "Users of condashare will not see it (condashare envs, kernels).",
                "Add its installation to the site file, or create the env in one of them.",
            ),
            "no-site": (
                Severity.WARNING,
                "no site file: cannot say which users will see it",
                "condashare looks for the site file as described in docs/site-file.md.",
                "Pass --site FILE, or publish the site file first.",
            ),
        }
        severity, title, detail, fix = texts[self.status]
        data = {
            "status": self.status,
            "name": self.name,
            "installation": inst.name if inst else None,
            "site_file": self.site_path,
        }
        return Finding("admin.site-view", severity, title, detail, fix, data=data)


def site_view(prefix: str, site: Site | None) -> SiteView:
    """Which installation of ``site`` holds the env at ``prefix`` (by path; no I/O)."""
    path = posixpath.normpath(prefix)
    if site is None:
        return SiteView("no-site", "", None, "")
    for inst in site.installations:
        if path == inst.prefix:
            return SiteView("base", "base", inst, site.path)
        if posixpath.dirname(path) == inst.envs_dir:
            return SiteView("release", posixpath.basename(path), inst, site.path)
        if within(path, inst.prefix):
            return SiteView("inside", "", inst, site.path)
    return SiteView("outside", "", None, site.path)


@dataclass
class PublishReport:
    """The plan for one release (and, once applied, what was done)."""

    prefix: str
    status: str  # ok | missing | not-a-dir | not-an-env | error | unresponsive
    detail: str
    view: SiteView
    policy: dict[str, Any]
    findings: list[Finding]
    plan: list[Change]
    verify: dict[str, Any] = field(default_factory=dict)
    applied: list[Applied] = field(default_factory=list)
    dry_run: bool = True

    @property
    def incomplete(self) -> bool:
        return (
            self.status not in ("ok",)
            or any(a.status == "not-done" for a in self.applied)
            or bool(self.verify.get("incomplete"))
        )

    @property
    def publishable(self) -> bool:
        """True when nothing is left to change and nothing is wrong (after applying)."""
        if self.status != "ok" or self.incomplete:
            return False
        if self.dry_run and self.plan:
            return False
        return not problems_remain(self.findings, self.applied, not self.dry_run)

    @property
    def exit_code(self) -> int:
        return exit_code_for(
            usage=self.status in ("missing", "not-a-dir", "not-an-env"),
            incomplete=self.incomplete,
            problems=not self.publishable,
        )


def plan_publish(
    prefix: str,
    *,
    site: Site | None,
    message: str | None = None,
    timeout: float = 15.0,
    deep: bool = True,
) -> PublishReport:
    """Everything publish checks, and the changes it would make (none are made here)."""
    prefix = os.path.normpath(os.path.abspath(prefix))
    view = site_view(prefix, site)
    settings = site.admin if site else AdminSettings()
    source = f"site file {site.path}" if site and site.path else "default"
    walk = walk_tree(prefix, timeout)
    policy = resolve_policy(settings, walk.root_uid, walk.root_gid, source)
    empty = policy_summary(policy)
    if walk.status in ("missing", "not-a-dir"):
        return PublishReport(prefix, walk.status, walk.detail, view, empty, [], [])
    if walk.complete and not any(e.rel == "" for e in walk.envs):
        detail = "not a conda environment (no conda-meta/history)"
        return PublishReport(prefix, "not-an-env", detail, view, empty, [], [])
    inst = view.installation
    rel_base = posixpath.relpath(prefix, inst.prefix) if inst else ""
    rel_base = "" if rel_base == "." else rel_base
    hint = f"condashare admin publish {shell_word(prefix)} (see the changes with --dry-run)"
    findings, plan = examine(
        walk, policy, rel_base=rel_base, markers="root", message=message, fix_hint=hint
    )
    status, detail = walk.status, walk.detail
    if inst is not None and view.status != "base":
        pkgs = walk_tree(inst.pkgs_dir, timeout)
        if pkgs.status != "missing":
            more, more_plan = examine(pkgs, policy, rel_base="pkgs", markers="none", fix_hint=hint)
            findings += more
            plan += more_plan
            if pkgs.status != "ok" and status == "ok":
                status, detail = pkgs.status, f"{inst.pkgs_dir}: {pkgs.detail}"
    findings.append(view.finding(prefix))
    verified: dict[str, Any] = {}
    if status == "ok":
        verified = _verify(prefix, deep, timeout, findings)
    return PublishReport(
        prefix, status, detail, view, policy_summary(policy), findings, plan, verified
    )


def _verify(prefix: str, deep: bool, timeout: float, findings: list[Finding]) -> dict[str, Any]:
    """The verify engine's public entry point; its findings join the report."""
    from condashare.verify.api import verify

    report = verify([prefix], deep=deep, timeout=timeout)
    problems = [f for f in report.findings if f.severity.is_problem]
    s = report.stats
    summary = (
        f"{plural(s.files, 'file')} in {plural(s.records, 'package')} verified "
        f"({report.mode}, {s.bytes_hashed / (1 << 20):,.1f} MiB hashed, {seconds_text(s.seconds)})"
    )
    if report.findings:
        findings.extend(report.findings)
    elif not report.incomplete:
        findings.append(Finding("admin.verify", Severity.OK, summary))
    return {
        "mode": report.mode,
        "files": s.files,
        "records": s.records,
        "bytes_hashed": s.bytes_hashed,
        "seconds": s.seconds,
        "problems": len(problems),
        "incomplete": report.incomplete,
        "summary": summary,
    }


def apply_publish(report: PublishReport, timeout: float = 15.0) -> PublishReport:
    """Apply exactly the planned changes; the report then says what became of each."""
    report.applied = apply_changes(report.plan, timeout)
    report.dry_run = False
    return report
