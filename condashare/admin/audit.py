"""The permission and supply-chain audit of a tree, as findings plus a repair plan.

Every user runs the shared installation's code: a file there that others can write is a way to
run code as all of them, a file users cannot read breaks their conda (a 0600 package archive
fails every link from the shared cache), a symlink leaving the tree makes its target part of
every release, a setuid file has no business in a conda env, and an env without the CEP 22
marker is changed by one ``conda install -n NAME`` from any account that can write the share.

:func:`examine` is pure (walk + policy in, findings and changes out); :func:`audit` walks and
examines; :func:`apply_changes` applies a plan. Changes are limited to what was planned: remove
write bits the policy does not allow, add the read bits users need, clear setuid/setgid on
files, write the marker. Owners are never changed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from condashare.admin.frozen import marker_bytes, repaired_message
from condashare.admin.policy import AdminPolicy, account_name, group_name, resolve_policy
from condashare.admin.tree import (
    Action,
    ApplyStatus,
    Entry,
    EnvMeta,
    Walk,
    apply_actions,
    needed_bits,
    order_actions,
    walk_tree,
)
from condashare.findings import Finding, Severity, exit_code_for
from condashare.render import shell_word, shown
from condashare.site.file import AdminSettings
from condashare.wording import agree, plural, seconds_text

DETAIL_LINES = 10  # paths shown in a finding's detail
DATA_PATHS = 200  # paths kept in a finding's data
ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")

Markers = Literal["releases", "root", "none"]


@dataclass(frozen=True)
class Change:
    """One planned change, as the admin is shown it."""

    path: str  # absolute, as the admin spelled the root
    what: str  # "mode 0600 -> 0644" | "write conda-meta/frozen"
    reasons: tuple[str, ...]
    root: str  # the real root the action is relative to
    action: Action
    links: tuple[str, ...] = ()  # other paths of the same inode (changed with it)


@dataclass(frozen=True)
class Applied:
    """What became of one change."""

    path: str
    what: str
    status: ApplyStatus
    detail: str = ""


@dataclass
class AuditReport:
    """One audit: what was walked, what was found, what is planned and what was applied."""

    root: str
    real_root: str
    status: str  # the walk's: ok | missing | not-a-dir | error | unresponsive
    detail: str
    entries: int
    seconds: float
    policy: dict[str, Any]
    findings: list[Finding]
    plan: list[Change]
    applied: list[Applied] = field(default_factory=list)
    fix: bool = False
    dry_run: bool = False

    @property
    def incomplete(self) -> bool:
        return self.status != "ok" or any(a.status == "not-done" for a in self.applied)

    @property
    def problems_left(self) -> bool:
        """Problems in the tree as it is after this run (a dry run changed nothing)."""
        return problems_remain(self.findings, self.applied, self.fix)

    @property
    def exit_code(self) -> int:
        return exit_code_for(
            usage=self.status in ("missing", "not-a-dir"),
            incomplete=self.incomplete,
            problems=self.problems_left,
        )


def remaining(
    findings: Sequence[Finding], applied: Sequence[Applied], fixed: bool
) -> list[Finding]:
    """The problems still there once ``applied`` is done. A finding counts as repaired only when
    the plan was applied (``fixed``), covered all of it, and every change went through."""
    failed = any(a.status != "changed" for a in applied)
    return [
        f
        for f in findings
        if f.severity.is_problem
        and (failed or not (fixed and f.fixable and f.data.get("fully_planned", True)))
    ]


def problems_remain(findings: Sequence[Finding], applied: Sequence[Applied], fixed: bool) -> bool:
    """Is anything still wrong once ``applied`` is done (see :func:`remaining`)?"""
    return bool(remaining(findings, applied, fixed)) or any(a.status != "changed" for a in applied)


def _join(root: str, rel: str) -> str:
    return os.path.join(root, rel) if rel else root


def _listing(paths: Sequence[str], total: int) -> str:
    lines = [shown(p) for p in sorted(paths)[:DETAIL_LINES]]
    if total > len(lines):
        lines.append(f"... and {total - len(lines)} more")
    return "\n".join(lines)


@dataclass
class _Group:
    """Paths sharing one reason, for one finding."""

    paths: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, path: str) -> None:
        self.count += 1
        if len(self.paths) < DATA_PATHS:
            self.paths.append(path)


def wanted_mode(entry: Entry, policy: AdminPolicy, rel_in_inst: str) -> tuple[int, list[str]]:
    """The mode an entry should have and why: every reason its current mode is wrong."""
    perm, new, why = entry.mode, entry.mode, []
    if entry.kind not in ("file", "dir"):
        return perm, ["special"]
    if not policy.write_exempt(rel_in_inst):
        if perm & 0o002:
            why.append("world-writable")
            new &= ~0o002
        if perm & 0o020 and not policy.allows_group_write(entry.gid):
            why.append("group-writable")
            new &= ~0o020
    need = needed_bits(entry.kind, perm)
    if need & ~perm:
        why.append("unreadable")
        new |= need
    if entry.kind == "file" and perm & (stat.S_ISUID | stat.S_ISGID):
        why.append("setuid")
        new &= ~(stat.S_ISUID | stat.S_ISGID)
    return new, why


def _is_archive(path: str) -> bool:
    return path.endswith(ARCHIVE_SUFFIXES) and os.path.basename(os.path.dirname(path)) == "pkgs"


def examine(
    walk: Walk,
    policy: AdminPolicy,
    *,
    shown_root: str | None = None,
    rel_base: str = "",
    markers: Markers = "releases",
    message: str | None = None,
    fix_hint: str = "",
) -> tuple[list[Finding], list[Change]]:
    """Findings and the repair plan for one walked tree (no I/O).

    ``rel_base`` is the tree's path inside its installation (``envs/x``, ``pkgs``), so that
    the site's ``admin.writable`` subtrees apply; ``markers`` says which envs get a frozen
    marker planned: every env below the root (``releases``), the root env only, or none.
    ``fix_hint`` is the command that applies the plan (default: ``admin audit ROOT --fix``).
    """
    root = shown_root or walk.root
    fix_hint = fix_hint or _fix_command(root)
    groups: dict[str, _Group] = {}
    changes: list[Change] = []
    by_inode: dict[tuple[int, int], int] = {}
    unplanned: set[str] = set()
    for entry in walk.flagged:
        path = _join(root, entry.rel)
        rel_in_inst = "/".join(p for p in (rel_base, entry.rel) if p)
        new, why = wanted_mode(entry, policy, rel_in_inst)
        for reason in why:
            key = "archive" if reason == "unreadable" and _is_archive(path) else reason
            groups.setdefault(key, _Group()).add(path)
            if new == entry.mode:
                unplanned.add(key)
        if new == entry.mode:
            continue
        inode = (entry.dev, entry.ino)
        if entry.nlink > 1 and inode in by_inode:
            first = changes[by_inode[inode]]
            changes[by_inode[inode]] = Change(
                first.path, first.what, first.reasons, first.root, first.action,
                (*first.links, path),
            )  # fmt: skip
            continue
        by_inode[inode] = len(changes)
        action = Action("chmod", entry.rel, entry.mode, new, entry.dev, entry.ino)
        what = f"mode {entry.mode:04o} -> {new:04o}"
        changes.append(Change(path, what, tuple(why), walk.real_root, action))
    findings = _mode_findings(groups, unplanned, policy, fix_hint)
    findings += _owner_findings(walk, policy, root)
    findings += _link_findings(walk, root)
    marker_findings, marker_changes = _marker_findings(walk, root, markers, message, fix_hint)
    findings += marker_findings
    changes += marker_changes
    findings += _walk_findings(walk, root)
    if policy.unknown:
        findings.append(
            Finding(
                "admin.policy",
                Severity.WARNING,
                "the site file names accounts this machine does not know",
                ", ".join(policy.unknown),
                "Check the [admin] table of the site file (names must exist on every machine "
                "that audits).",
                data={"unknown": list(policy.unknown)},
            )
        )
    return findings, sorted(changes, key=lambda c: c.path)


_MODE_TEXT = {
    "world-writable": (
        Severity.ERROR,
        "{n_files_or_dirs} writable by everyone",
        "Anyone on any machine mounting the share can change what every user runs.",
    ),
    "group-writable": (
        Severity.WARNING,
        "{n_files_or_dirs} writable by their group",
        "Every member of the owning group can change them.",
    ),
    "archive": (
        Severity.ERROR,
        "{n_archives} in pkgs/ not readable by every user",
        "conda keeps a channel file's mode on downloaded archives: a 0600 archive cannot be "
        "read by anyone else, so every user's conda fails on that package of the shared "
        "cache (and the doctor's I/O check fails for all of them).",
    ),
    "unreadable": (
        Severity.ERROR,
        "{n_files_or_dirs} users need {are} not readable (or searchable) by everyone",
        "Users' conda and programs fail with 'Permission denied' on them.",
    ),
    "setuid": (
        Severity.ERROR,
        "{n_files} with the setuid or setgid bit",
        "conda packages never need them; such a program runs with its owner's rights for "
        "whoever starts it.",
    ),
    "special": (
        Severity.WARNING,
        "{n_special} in the tree",
        "A conda installation holds files, directories and symlinks only.",
    ),
}


def _title(template: str, n: int) -> str:
    """A ``_MODE_TEXT`` title with its count worded ("1 file or dir", "3 files or dirs")."""
    return template.format(
        n_files_or_dirs=plural(n, "file or dir", "files or dirs"),
        n_archives=plural(n, "package archive"),
        n_files=plural(n, "file"),
        n_special=plural(n, "device, FIFO or socket file"),
        are=agree(n, "is", "are"),
    )


def _fix_command(root: str) -> str:
    return f"condashare admin audit {shell_word(root)} --fix (see the plan with --fix --dry-run)"


def _mode_findings(
    groups: dict[str, _Group], unplanned: set[str], policy: AdminPolicy, fix_hint: str
) -> list[Finding]:
    out: list[Finding] = []
    for key, (severity, title, why) in _MODE_TEXT.items():
        group = groups.get(key)
        if group is None:
            continue
        detail = why + "\n" + _listing(group.paths, group.count)
        if key == "group-writable" and policy.group_writable:
            detail = (
                f"Only the admins' group {policy.admin_group} may write (site file); these are "
                "writable by another group.\n" + _listing(group.paths, group.count)
            )
        fixable = key != "special"
        fix = fix_hint if fixable else "Remove them (condashare never deletes files)."
        out.append(
            Finding(
                f"admin.{key}",
                severity,
                _title(title, group.count),
                detail,
                fix,
                fixable,
                data={
                    "count": group.count,
                    "paths": group.paths,
                    "fully_planned": key not in unplanned,
                },
            )
        )
    return out


def _owner_findings(walk: Walk, policy: AdminPolicy, root: str) -> list[Finding]:
    foreign = sorted(uid for uid in walk.owners if not policy.allows_owner(uid))
    if not foreign:
        return []
    lines, data = [], []
    for uid in foreign:
        name = account_name(uid)
        samples = [_join(root, rel) for rel in walk.owner_samples.get(uid, [])]
        example = shown(samples[0]) if samples else "?"
        lines.append(f"{name}: {walk.owners[uid]} entries, e.g. {example}")
        data.append({"uid": uid, "account": name, "count": walk.owners[uid], "paths": samples})
    owner = account_name(policy.owner_uid)
    return [
        Finding(
            "admin.owner",
            Severity.WARNING,
            f"entries owned by {plural(len(foreign), 'account')} outside the admins",
            f"The admins are {owner} and the group {policy.admin_group} ({policy.source}). "
            "Whoever owns a file can change it for every user.\n" + "\n".join(lines),
            f"As root: chown -R {owner}:{group_name(policy.admin_gid)} on those paths "
            "(condashare never changes owners).",
            data={"owners": data},
        )
    ]


def _link_findings(walk: Walk, root: str) -> list[Finding]:
    if not walk.links_out:
        return []
    shown = [f"{_join(root, rel)} -> {target}" for rel, target in walk.links_out]
    return [
        Finding(
            "admin.symlink-out",
            Severity.WARNING,
            f"{plural(len(walk.links_out), 'symlink')} "
            f"{agree(len(walk.links_out), 'points', 'point')} outside the tree",
            "Their targets become part of every release, with whatever owner and mode they "
            "have there; --fix never follows them.\n" + _listing(shown, len(shown)),
            "Replace them with the files themselves, or make sure the targets are protected "
            "like the installation.",
            data={
                "links": [
                    {"path": _join(root, rel), "target": target}
                    for rel, target in walk.links_out[:DATA_PATHS]
                ],
                "count": len(walk.links_out),
            },
        )
    ]


def _marker_findings(
    walk: Walk, root: str, markers: Markers, message: str | None, fix_hint: str
) -> tuple[list[Finding], list[Change]]:
    findings: list[Finding] = []
    changes: list[Change] = []
    missing: list[EnvMeta] = []
    for env in sorted(walk.envs, key=lambda e: e.rel):
        wanted = env.rel != "" if markers == "releases" else markers == "root" and not env.rel
        path = _join(root, env.rel)
        marker = env.marker
        if marker.state == "valid":
            if wanted and message and marker.message != message:
                changes.append(_marker_change(walk, env, path, message, "new message"))
            continue
        if not wanted:
            if markers == "releases" and env.rel == "" and marker.state == "absent":
                findings.append(
                    Finding(
                        "admin.base-not-frozen",
                        Severity.INFO,
                        f"the base env {shown(path)} has no frozen marker",
                        "Freezing base (CEP 22) stops `conda install` into it by accident; "
                        "admins update it with --override-frozen.",
                        f"condashare admin publish {shell_word(path)}",
                        data={"env": path},
                    )
                )
            continue
        if marker.state == "absent":
            missing.append(env)
            changes.append(_marker_change(walk, env, path, message, "not frozen"))
            continue
        fixable = marker.state == "invalid" or "symlink" in marker.problem
        findings.append(
            Finding(
                "admin.frozen-invalid",
                Severity.WARNING,
                f"the frozen marker of {shown(path)} is {marker.problem}",
                "conda refuses changes to a frozen env with the marker's message; a marker it "
                "cannot read makes it fail with a traceback instead, or not see the marker.",
                fix_hint + "; it rewrites the marker, the old text kept as message"
                if fixable
                else f"Remove {shown(path)}/conda-meta/frozen and publish again.",
                fixable,
                data={"env": path, "problem": marker.problem},
            )
        )
        if fixable:
            text = repaired_message(marker, message)
            changes.append(_marker_change(walk, env, path, text, "invalid marker", True))
    if missing:
        names = [_join(root, e.rel) for e in missing]
        findings.append(
            Finding(
                "admin.not-frozen",
                Severity.WARNING,
                f"{plural(len(missing), 'env')} without the frozen marker (conda-meta/frozen)",
                "conda 25.5+ refuses to install into, update or remove a frozen env without "
                "--override-frozen (CEP 22); without the marker one command from any account "
                "that can write the share changes the release for every user. (The marker does "
                "not stop `conda create -n NAME` from replacing an env: see docs/admin.md.)\n"
                + _listing(names, len(names)),
                fix_hint,
                True,
                data={"envs": names},
            )
        )
    return findings, changes


def _marker_change(
    walk: Walk, env: EnvMeta, path: str, message: str | None, why: str, replace: bool = False
) -> Change:
    data = marker_bytes(message)
    action = Action("marker", env.rel, data=data, replace=replace or env.marker.state != "absent")
    what = "write conda-meta/frozen" + (f" ({len(data)} bytes)" if data else " (empty)")
    return Change(os.path.join(path, "conda-meta", "frozen"), what, (why,), walk.real_root, action)


def _walk_findings(walk: Walk, root: str) -> list[Finding]:
    out: list[Finding] = []
    if walk.unlisted:
        shown = [f"{_join(root, rel)}: {why}" for rel, why in walk.unlisted]
        out.append(
            Finding(
                "admin.unlisted",
                Severity.WARNING,
                f"{len(walk.unlisted)} entries could not be read: not audited",
                _listing(shown, len(shown)),
                "Run the audit as the installation's owner or as root.",
                data={"entries": shown[:DATA_PATHS], "count": len(shown)},
            )
        )
    if walk.status == "unresponsive":
        out.append(
            Finding(
                "admin.unresponsive",
                Severity.ERROR,
                f"{root}: the share stopped answering ({walk.detail})",
                f"{walk.entries} entries were read before it stopped; the rest was not audited.",
                "See condashare doctor mount; run the audit again when the share answers.",
                data={"entries": walk.entries},
            )
        )
    elif walk.status != "ok":
        out.append(
            Finding(
                "admin.unreadable-root",
                Severity.ERROR,
                f"{root}: {walk.detail}",
                data={"status": walk.status},
            )
        )
    return out


def policy_summary(policy: AdminPolicy) -> dict[str, Any]:
    return {
        "source": policy.source,
        "owner": account_name(policy.owner_uid),
        "admin_group": policy.admin_group,
        "extra_owners": sorted(account_name(u) for u in policy.extra_owners),
        "group_writable": policy.group_writable,
        "writable": list(policy.writable),
    }


def audit(
    prefix: str,
    *,
    settings: AdminSettings | None = None,
    settings_source: str = "default",
    timeout: float = 15.0,
    message: str | None = None,
) -> AuditReport:
    """Walk the installation at ``prefix`` and plan its repair (nothing is changed here)."""
    walk = walk_tree(prefix, timeout)
    policy = resolve_policy(
        settings or AdminSettings(), walk.root_uid, walk.root_gid, settings_source
    )
    findings, plan = examine(walk, policy, markers="releases", message=message)
    if walk.status == "ok" and not any(f.severity.is_problem for f in findings):
        findings.insert(0, _clean(walk, prefix))
    return AuditReport(
        prefix,
        walk.real_root,
        walk.status,
        walk.detail,
        walk.entries,
        walk.seconds,
        policy_summary(policy),
        findings,
        plan,
    )


def _clean(walk: Walk, root: str) -> Finding:
    return Finding(
        "admin.audit",
        Severity.OK,
        f"{plural(walk.entries, 'entry', 'entries')} audited in {root}: no problems",
        f"{plural(walk.files, 'file')}, {plural(walk.dirs, 'dir')}, "
        f"{plural(walk.links, 'symlink')}, {plural(len(walk.envs), 'env')} "
        f"({seconds_text(walk.seconds)})",
    )


def apply_changes(plan: Sequence[Change], timeout: float = 15.0) -> list[Applied]:
    """Apply exactly the planned changes, each root's in one ordered pass; in plan order back."""
    by_root: dict[str, list[int]] = {}
    for i, change in enumerate(plan):
        by_root.setdefault(change.root, []).append(i)
    results: dict[int, Applied] = {}
    for root, indexes in by_root.items():
        actions = [plan[i].action for i in indexes]
        ordered = order_actions(actions)
        position = {id(a): i for a, i in zip(actions, indexes, strict=True)}
        outcomes, _ = apply_actions(root, ordered, timeout)
        for action, outcome in zip(ordered, outcomes, strict=True):
            i = position[id(action)]
            results[i] = Applied(plan[i].path, plan[i].what, outcome.status, outcome.detail)
    return [results[i] for i in range(len(plan))]


def fix(report: AuditReport, timeout: float = 15.0) -> AuditReport:
    """Apply the report's plan and record what happened (``fix`` set, ``dry_run`` not)."""
    report.applied = apply_changes(report.plan, timeout)
    report.fix = True
    return report
