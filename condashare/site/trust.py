"""Who, besides root, the admins and you, can change what every shell runs.

Every user's shell sources an installation's ``conda.sh`` (``conda.csh``, ``conda.fish``) and
``init`` writes the prefixes the site file names into their startup files: whoever can change
one of those files, or any directory on the way to it, runs code as every user. A file is only
as safe as each lookup that reaches it, so the whole chain is examined with the kernel's rules:

- a directory's owner, and its group or everyone when it is group- or world-writable, can
  replace any entry in it (rename, unlink, create);
- in a sticky directory (``/tmp``) only the entry's owner and the directory's owner can replace
  an existing entry, but anyone who may write the directory can create a missing one;
- the file itself can be changed by its owner and by whoever its mode bits let write;
- symlinks are followed, and the chain of their target is examined the same way.

ACLs are not read, but cannot hide a writer: any ACL entry that grants write needs the mask to
grant it, and the mask is what the group bits show, so such a file reads as group-writable.
The walk touches only lookups (``lstat``/``readlink``) and runs in a child process we can
abandon whenever the path may be on a share; a share that does not answer gives "unknown".
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from condashare.admin.policy import account_name, group_name, resolve_policy
from condashare.bounded.paths import run_programs
from condashare.bounded.programs import pathchain
from condashare.host.mounts import Mount, may_be_remote
from condashare.site.file import Site
from condashare.wording import seconds_text

WriterKind = Literal["user", "group", "everyone"]
TrustStatus = Literal["trusted", "untrusted", "unknown"]

# The file each shell family sources from an installation (as conda installs them).
CONDA_SCRIPTS: tuple[str, ...] = (
    "etc/profile.d/conda.sh",
    "etc/profile.d/conda.csh",
    "etc/fish/conf.d/conda.fish",
)


@dataclass(frozen=True)
class Step:
    """One lookup on the way to a path: the entry ``path`` found in the real directory
    ``directory`` ("" for ``/``); ``kind`` dir | file | link | other | missing."""

    directory: str
    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    link: str = ""

    @property
    def sticky(self) -> bool:
        return bool(self.mode & stat.S_ISVTX)


@dataclass(frozen=True)
class Writer:
    """Someone who can change what a path leads to, and the entry that lets them."""

    kind: WriterKind
    id: int  # uid or gid; -1 for everyone
    path: str  # the directory or file whose owner or mode bits give the access
    how: str  # "owner" | "group-writable" | "world-writable" | "owns the entry"
    mode: int

    def who(self) -> str:
        """``everyone``, ``group staff``, ``user alice`` (names resolved on this machine)."""
        if self.kind == "everyone":
            return "everyone"
        if self.kind == "group":
            return f"group {group_name(self.id)}"
        return f"user {account_name(self.id)}"

    def describe(self) -> str:
        """``/nfs/cpkgs is world-writable (mode 0777)``, ``user bob owns /nfs/cpkgs``."""
        if self.how == "owner":
            return f"{self.who()} owns {self.path}"
        if self.how == "owns the entry":
            return f"{self.who()} owns {self.path} in a sticky directory"
        return f"{self.path} is {self.how} (mode {self.mode & 0o7777:04o})"


@dataclass(frozen=True)
class Trusted:
    """Who may change what every shell runs: root, you, and the admins."""

    uids: frozenset[int]
    gids: frozenset[int] = frozenset()  # groups named as the admins' group

    def trusts(self, writer: Writer) -> bool:
        if writer.kind == "user":
            return writer.id in self.uids
        return writer.kind == "group" and writer.id in self.gids


@dataclass(frozen=True)
class PathTrust:
    """Who besides the trusted can change what ``path`` (a ``role``) leads to.

    ``status`` is unknown when the chain could not be read (``error`` says why: the share did
    not answer, a symlink loop ...). ``missing``: the path does not exist; ``writers`` then
    says who could create it.
    """

    role: str  # "site file", "conda.sh of linux" ...
    path: str
    status: TrustStatus
    writers: tuple[Writer, ...] = ()
    missing: bool = False
    error: str = ""
    unresponsive: bool = False

    @property
    def by_everyone(self) -> bool:
        return any(w.kind == "everyone" for w in self.writers)

    def summary(self) -> str:
        """One phrase: who can change it and through what (for messages)."""
        if self.status == "unknown":
            return f"cannot tell who can change {self.path}: {self.error}"
        if not self.writers:
            return f"only root and the admins can change {self.path}"
        who = sorted({w.who() for w in self.writers}, key=lambda s: (s != "everyone", s))
        verb = "create" if self.missing else "change"
        return f"{', '.join(who)} can {verb} {self.path}: " + "; ".join(
            w.describe() for w in self.writers[:3]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "path": self.path,
            "status": self.status,
            "missing": self.missing,
            "error": self.error,
            "writers": [
                {"who": w.who(), "kind": w.kind, "id": w.id, "path": w.path, "how": w.how,
                 "mode": f"{w.mode & 0o7777:04o}"}
                for w in self.writers
            ],
        }  # fmt: skip


def _mode_writers(step: Step, creating: bool = False) -> list[Writer]:
    """Who the owner and mode bits of ``step`` let write it (change a file, or replace entries
    of a directory: only create them when sticky, unless ``creating``)."""
    out = [Writer("user", step.uid, step.path, "owner", step.mode)]
    guarded = step.kind == "dir" and step.sticky and not creating
    if step.mode & 0o020 and not guarded:
        out.append(Writer("group", step.gid, step.path, "group-writable", step.mode))
    if step.mode & 0o002 and not guarded:
        out.append(Writer("everyone", -1, step.path, "world-writable", step.mode))
    return out


def writers_of(steps: Sequence[Step]) -> list[Writer]:
    """Everyone who can change what the last step leads to, by the kernel's rules."""
    dirs = {s.path: s for s in steps if s.kind == "dir"}
    out: list[Writer] = []
    for i, step in enumerate(steps):
        holder = dirs.get(step.directory)
        if holder is not None:
            out.extend(_mode_writers(holder, creating=step.kind == "missing"))
            if holder.sticky and step.kind != "missing":
                out.append(Writer("user", step.uid, step.path, "owns the entry", step.mode))
        if i == len(steps) - 1 and step.kind in ("file", "other"):
            out.extend(_mode_writers(step))
    unique: dict[tuple[str, int, str], Writer] = {}
    for w in out:
        unique.setdefault((w.kind, w.id, w.path), w)
    open_to_all = {w.path for w in out if w.kind == "everyone"}
    return [w for w in unique.values() if w.kind != "group" or w.path not in open_to_all]


def parse_steps(raw: Sequence[Sequence[Any]]) -> list[Step]:
    return [
        Step(str(d), str(p), str(k), int(m), int(u), int(g), str(ln))
        for d, p, k, m, u, g, ln in raw
    ]


def walk_chains(
    paths: Sequence[str], mounts: Sequence[Mount], timeout: float
) -> dict[str, list[Step] | tuple[str, bool]]:
    """The lookups reaching each path, or (why not, unresponsive) when they could not be read.

    Paths entirely on local filesystems are walked here; the others each in a child, all at
    once under one deadline."""
    out: dict[str, list[Step] | tuple[str, bool]] = {}
    remote: list[str] = []
    for path in dict.fromkeys(paths):
        if may_be_remote(path, mounts):
            remote.append(path)
            continue
        try:
            out[path] = parse_steps(pathchain.walk(path))
        except OSError as exc:
            out[path] = (exc.strerror or str(exc), False)
    jobs = [(pathchain, [p], p) for p in remote]
    for res in run_programs(jobs, timeout):
        if res.ok:
            out[res.path] = parse_steps(res.data.get("steps", []))
        elif res.status == "unresponsive":
            out[res.path] = (f"the share did not answer within {seconds_text(timeout)}", True)
        else:
            out[res.path] = (res.error or res.status, False)
    return out


def judge(
    role: str, path: str, chain: list[Step] | tuple[str, bool], trusted: Trusted
) -> PathTrust:
    """The verdict on one walked chain."""
    if isinstance(chain, tuple):
        return PathTrust(role, path, "unknown", error=chain[0], unresponsive=chain[1])
    writers = tuple(w for w in writers_of(chain) if not trusted.trusts(w))
    missing = bool(chain) and chain[-1].kind == "missing"
    return PathTrust(role, path, "untrusted" if writers else "trusted", writers, missing)


def by_cause(verdicts: Sequence[PathTrust]) -> list[tuple[Writer, list[PathTrust]]]:
    """Each untrusted writer (who, through which entry) with the paths it can change: a
    world-writable parent of the prefix is one problem, however many scripts lie below it."""
    causes: dict[tuple[str, int, str, str], tuple[Writer, list[PathTrust]]] = {}
    for verdict in verdicts:
        for writer in verdict.writers:
            key = (writer.kind, writer.id, writer.path, writer.how)
            causes.setdefault(key, (writer, []))[1].append(verdict)
    return list(causes.values())


def trusted_for(site: Site, owners: Sequence[int] = (), me: int | None = None) -> Trusted:
    """root, ``me`` (you may change what only your own shell runs), the owners of the
    installations (``owners``: who owns each prefix administers it) and the site file's
    ``[admin]`` owners and group."""
    me = os.getuid() if me is None else me
    policy = resolve_policy(site.admin, 0, 0)
    gids = frozenset({policy.admin_gid}) if site.admin.group is not None else frozenset()
    return Trusted(frozenset({0, me, *owners, *policy.extra_owners}), gids)


def installation_targets(site: Site, os_name: str) -> list[tuple[str, str, str]]:
    """``(role, path, prefix)`` of every conda script of this OS's installations."""
    out: list[tuple[str, str, str]] = []
    for inst in site.installations:
        if inst.os != os_name:
            continue  # another OS's prefix is another machine's path
        for rel in CONDA_SCRIPTS:
            role = f"{os.path.basename(rel)} of {inst.name}"
            out.append((role, os.path.join(inst.prefix, rel), inst.prefix))
    return out


def examine_site(
    site: Site,
    os_name: str,
    mounts: Sequence[Mount],
    timeout: float,
    me: int | None = None,
    scripts: Sequence[str] = CONDA_SCRIPTS,
) -> list[PathTrust]:
    """The site file (when there is one) and each conda script of this OS's installations.

    A conda script that does not exist under a prefix whose ``etc`` nobody else can write is
    left out: no shell sources it and nobody else can put it there. ``scripts`` limits the
    scripts examined (``init`` asks for those of the shells it sets up)."""
    targets = [
        t for t in installation_targets(site, os_name) if any(t[1].endswith(s) for s in scripts)
    ]
    prefixes = list(dict.fromkeys(t[2] for t in targets))
    site_path = os.path.abspath(site.path) if site.path else ""
    paths = [*prefixes, *(t[1] for t in targets), *([site_path] if site_path else [])]
    chains = walk_chains(paths, mounts, timeout)
    owners = []
    for prefix in prefixes:
        chain = chains.get(prefix)
        if isinstance(chain, list) and chain and chain[-1].kind == "dir":
            owners.append(chain[-1].uid)
    trusted = trusted_for(site, owners, me)
    out: list[PathTrust] = []
    if site_path:
        out.append(judge("site file", site_path, chains[site_path], trusted))
    for role, path, _ in targets:
        verdict = judge(role, path, chains[path], trusted)
        if verdict.missing and verdict.status == "trusted":
            continue
        out.append(verdict)
    return out
