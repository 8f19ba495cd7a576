"""Move a user's writable state off a network home onto this machine's disk, reversibly.

What NFS breaks is the state that is written all the time and locked: conda's package cache
(repodata cache locks, a SQLite shard cache in WAL mode), the directory new environments go to,
IPython's ``history.sqlite``, Jupyter's runtime files and its SQLite databases. The doctor can
only advise about locks; it can move that state. Every change is a setting in a user file:

- ``~/.condarc``: a local package cache and a local envs dir first in ``pkgs_dirs``/``envs_dirs``
  (tagged ``#!top`` so no other file's entries come before them); the dirs conda used so far stay
  listed after them, so existing environments stay visible and a host without the local dir falls
  back to them. Only when no local dir exists: ``no_lock: true`` (conda reads it through its
  context at every lock, the same switch ``--no-lock`` sets) and ``use_lockfiles: false`` (mamba).
- ``<IPYTHONDIR>/profile_*/ipython_config.py``: a marked block setting
  ``c.HistoryManager.hist_file`` to a per-host local path (``:memory:`` when it cannot be made).
- ``<JUPYTER_CONFIG_DIR>/jupyter_config.py`` (read by every Jupyter application: the server,
  ``jupyter server list``, lab, notebook, console): a marked block giving them a per-host local
  runtime dir (``JUPYTER_RUNTIME_DIR``, which Jupyter takes only from the environment; the
  kernels a server starts inherit it) and local paths for ``nbsignatures.db`` and
  ``file_id_manager.db``.

Each file is planned (old and new bytes, a diff), written by the one writer of user files
(:mod:`condashare.files.write`: atomic, backed up, bounded on a share) and recorded with its old
bytes, so ``doctor --fix --reverse`` restores it exactly, or removes just what was added when the
file changed since. The record lives at ``$XDG_STATE_HOME/condashare/offnet.json`` (default
``~/.local/state``) on Linux *and* macOS, so a home shared by both finds one record.

Where "local" is: :func:`choose_local_root` — the first of ``$CONDASHARE_LOCAL_DIR``,
``/var/tmp``, ``/tmp`` that this machine's mount table shows on a local filesystem and that is a
writable directory. ``/var/tmp`` exists on every Linux and macOS machine, is on the machine's
own disk and survives reboots (``/tmp`` is a tmpfs on many distributions). Under it,
``condashare-USER/`` holds conda's dirs (the same text in a shared ``~/.condarc`` names each
machine's own disk) and ``condashare-USER/HOST/`` the IPython and Jupyter files, HOST being the
short host name computed when IPython or Jupyter starts, so two machines sharing the home never
share a file even where ``/var/tmp`` itself were shared.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import pwd
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from condashare.conda.condarc import (
    CondarcError,
    insert_lines,
    item_line,
    locate_list,
    parse_condarc,
    remove_items,
)
from condashare.files.read import MAX_STATE_BYTES, UserFileError
from condashare.files.write import (
    Edit,
    EditError,
    apply_edit,
    check_text,
    plan_edit,
    read_state,
    replace_file,
)

if TYPE_CHECKING:
    from condashare.doctor.context import Context

BEGIN = "# >>> condashare offnet >>>"
END = "# <<< condashare offnet <<<"
RECORD_VERSION = 1
LOCAL_CANDIDATES = ("/var/tmp", "/tmp")
TOP = "#!top"

Kind = Literal["conda-pkgs", "conda-envs", "conda-locks", "ipython", "jupyter"]


# --------------------------------------------------------------------------- where is local


@dataclass(frozen=True)
class LocalChoice:
    """The local directory chosen for this machine, and why (or why there is none)."""

    base: str | None  # /var/tmp
    root: str | None  # /var/tmp/condashare-USER
    host: str  # this machine's key under ``root``
    why: str
    refused: tuple[str, ...] = ()  # candidates passed over, with the reason

    @property
    def usable(self) -> bool:
        return self.root is not None

    @property
    def conda_pkgs(self) -> str:
        return posixpath.join(self.root or "", "conda", "pkgs")

    @property
    def conda_envs(self) -> str:
        return posixpath.join(self.root or "", "conda", "envs")

    @property
    def host_dir(self) -> str:
        return posixpath.join(self.root or "", self.host)


def host_key(name: str) -> str:
    """The short host name as a safe directory name (the same code runs inside the configs)."""
    short = name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", short) or "host"


def user_name() -> str:
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = str(os.getuid())
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or str(os.getuid())


def foreign_dir(path: str) -> str:
    """Why ``path`` (on local disk) must not be used, or "" when it is absent or safely ours.

    ``/var/tmp`` is writable by everyone: a directory another user created there in advance
    under our name would let them read our history or plant packages in our conda cache.
    """
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISDIR(st.st_mode):
        return "exists and is not a directory"
    if st.st_uid != os.getuid():
        return f"owned by another user (uid {st.st_uid}), who could change what is in it"
    if st.st_mode & 0o022:
        return "writable by other users"
    return ""


def choose_local_root(ctx: Context) -> LocalChoice:
    """The first candidate that the mount table shows local and that is a writable directory.

    One function decides it (a later module on per-host vs shared state can take it over).
    Candidates: ``$CONDASHARE_LOCAL_DIR`` (a site's persistent local scratch), ``/var/tmp``,
    ``/tmp``. A candidate on a network filesystem (a diskless node) is refused: it would move
    the problem, not fix it. Only local paths are stat'ed, so this never touches a share.
    """
    host = host_key(socket.gethostname())
    chosen = ctx.env.get("CONDASHARE_LOCAL_DIR", "")
    candidates = ([chosen] if chosen else []) + list(LOCAL_CANDIDATES)
    refused: list[str] = []
    for cand in candidates:
        if not posixpath.isabs(cand):
            refused.append(f"{cand}: not an absolute path")
            continue
        if ctx.is_remote(cand):
            mount = ctx.mount_of(cand)
            fs = mount.fstype if mount else "unknown"
            refused.append(f"{cand}: on {fs}, not this machine's disk")
            continue
        if not os.path.isdir(cand) or not os.access(cand, os.W_OK | os.X_OK):
            refused.append(f"{cand}: not a writable directory")
            continue
        root = posixpath.join(cand, f"condashare-{user_name()}")
        problem = foreign_dir(root)
        if problem:
            refused.append(f"{root}: {problem}")
            continue
        source = "CONDASHARE_LOCAL_DIR" if cand == chosen else "default"
        why = f"{cand} ({source}): on this machine's own disk"
        return LocalChoice(cand, root, host, why, tuple(refused))
    return LocalChoice(None, None, host, "no local directory found", tuple(refused))


# --------------------------------------------------------------------------- where state is


def ipython_dir(ctx: Context) -> str:
    return ctx.expand(ctx.env.get("IPYTHONDIR") or posixpath.join(ctx.home, ".ipython"))


def jupyter_config_dir(ctx: Context) -> str:
    return ctx.expand(ctx.env.get("JUPYTER_CONFIG_DIR") or posixpath.join(ctx.home, ".jupyter"))


def jupyter_data_dir(ctx: Context) -> str:
    from condashare.kernels.paths import jupyter_data_dir as data_dir

    return ctx.expand(data_dir(ctx.host.os, ctx.env, ctx.home)[0])


def jupyter_runtime_dir(ctx: Context) -> str:
    env = ctx.env.get("JUPYTER_RUNTIME_DIR")
    return ctx.expand(env) if env else posixpath.join(jupyter_data_dir(ctx), "runtime")


def ipython_profiles(ctx: Context) -> list[str]:
    """The profile dirs that exist (``profile_default`` when none does yet)."""
    from condashare.doctor.checks.sqlite_nfs import _ipython_profiles

    return _ipython_profiles(ctx, ipython_dir(ctx))


def user_condarc(ctx: Context) -> str:
    """The file ``conda config`` writes without flags (conda-facts §3)."""
    return posixpath.join(ctx.home, ".condarc")


def _shared_prefixes(ctx: Context) -> list[str]:
    return [i.prefix for i in ctx.site.installations] if ctx.site else []


@dataclass(frozen=True)
class Spot:
    """One kind of writable state on a network filesystem, and the file whose setting moves it."""

    kind: Kind
    label: str
    path: str  # where the state is now
    config: str  # the file the fix edits
    fixed: bool  # the setting is already there


def _has_block(ctx: Context, path: str) -> bool:
    from condashare.doctor.checks._util import read_small

    status, data = read_small(ctx, path)
    return status == "ok" and BEGIN.encode() in data


def find_spots(ctx: Context, local: LocalChoice) -> list[Spot]:
    """Writable state that lies on a possibly remote filesystem (string work and small reads)."""
    spots: list[Spot] = []
    cfg = ctx.conda_config
    shared = _shared_prefixes(ctx)
    rc = user_condarc(ctx)
    pkgs = cfg.user_pkgs_dir(shared)
    first_pkgs = cfg.pkgs_dirs[0] if cfg.pkgs_dirs else None
    if pkgs and ctx.is_remote(pkgs):
        spots.append(Spot("conda-pkgs", "conda package cache", pkgs, rc, False))
    elif local.usable and first_pkgs == local.conda_pkgs:
        spots.append(Spot("conda-pkgs", "conda package cache", first_pkgs, rc, True))
    envs = cfg.user_envs_dir(shared)
    if envs and ctx.is_remote(envs):
        spots.append(Spot("conda-envs", "directory for new environments", envs, rc, False))
    elif local.usable and envs == local.conda_envs:
        spots.append(Spot("conda-envs", "directory for new environments", envs, rc, True))
    ipdir = ipython_dir(ctx)
    if ctx.is_remote(ipdir):
        for profile in ipython_profiles(ctx):
            conf = posixpath.join(ipdir, profile, "ipython_config.py")
            db = posixpath.join(ipdir, profile, "history.sqlite")
            spots.append(Spot("ipython", f"IPython history ({profile})", db, conf, False))
    runtime, data = jupyter_runtime_dir(ctx), jupyter_data_dir(ctx)
    if ctx.is_remote(runtime) or ctx.is_remote(data):
        conf = posixpath.join(jupyter_config_dir(ctx), "jupyter_config.py")
        where = runtime if ctx.is_remote(runtime) else data
        spots.append(Spot("jupyter", "Jupyter runtime files and databases", where, conf, False))
    return [_mark_fixed(ctx, s) for s in spots]


def _mark_fixed(ctx: Context, spot: Spot) -> Spot:
    if spot.kind in ("ipython", "jupyter") and _has_block(ctx, spot.config):
        return Spot(spot.kind, spot.label, spot.path, spot.config, True)
    return spot


# --------------------------------------------------------------------------- the edits


# Runs inside IPython's and Jupyter's config files at every start: the per-host local dir,
# refused (None) unless this user owns the root and nobody else can write it — /var/tmp is
# writable by everyone, and a directory another user made there in advance must not be used.
_LOCAL_DIR_CODE = """\
def _condashare_local(root, *parts):
    import os, re, socket, stat
    if root is None:
        return None
    host = re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname().split('.')[0]) or 'host'
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        st = os.lstat(root)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        where = os.path.join(root, host, *parts)
        os.makedirs(where, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return where
"""


def ipython_block(local: LocalChoice, profile: str) -> str:
    """Python for ipython_config.py: the history file on this machine's disk, else memory."""
    root = repr(local.root) if local.usable else "None"
    return (
        f"{BEGIN}\n"
        "# IPython's history database on this machine's own disk, not the network home:\n"
        "# SQLite needs locks NFS does not give (written by `condashare doctor --fix`;\n"
        "# undo with `condashare doctor --fix --reverse`).\n"
        + _LOCAL_DIR_CODE
        + f"_condashare_where = _condashare_local({root}, 'ipython', {profile!r})\n"
        "if _condashare_where is None:\n"
        "    c.HistoryManager.hist_file = ':memory:'\n"
        "else:\n"
        "    c.HistoryManager.hist_file = _condashare_where + '/history.sqlite'\n"
        "del _condashare_local, _condashare_where\n"
        f"{END}\n"
    )


def jupyter_block(local: LocalChoice) -> str:
    """Python for jupyter_config.py: runtime dir and databases on this machine's disk."""
    root = repr(local.root) if local.usable else "None"
    return (
        f"{BEGIN}\n"
        "# Jupyter's runtime files and SQLite databases on this machine's own disk, not the\n"
        "# network home (written by `condashare doctor --fix`; undo with\n"
        "# `condashare doctor --fix --reverse`).\n"
        + _LOCAL_DIR_CODE
        + f"_condashare_where = _condashare_local({root}, 'jupyter', 'runtime')\n"
        "if _condashare_where is None:\n"
        "    c.NotebookNotary.db_file = ':memory:'\n"
        "    c.BaseFileIdManager.db_path = ':memory:'\n"
        "else:\n"
        "    import os as _condashare_os\n"
        "    _condashare_os.environ.setdefault('JUPYTER_RUNTIME_DIR', _condashare_where)\n"
        "    _condashare_where = _condashare_os.path.dirname(_condashare_where)\n"
        "    c.NotebookNotary.db_file = _condashare_where + '/nbsignatures.db'\n"
        "    c.BaseFileIdManager.db_path = _condashare_where + '/file_id_manager.db'\n"
        "    del _condashare_os\n"
        "del _condashare_local, _condashare_where\n"
        f"{END}\n"
    )


def add_block(text: str, block: str) -> str:
    if BEGIN in text:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text else "") + block


def strip_block(text: str) -> str:
    """Remove every marked block (and the blank line add_block put before it)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == BEGIN:
            inside = True
            if out and out[-1] == "\n":
                out.pop()
            continue
        if inside:
            inside = line.rstrip("\n") != END
            continue
        out.append(line)
    return "".join(out)


@dataclass
class Added:
    """What one fix put in a file, so it can be taken out again when the file changed since."""

    kind: Literal["item", "scalar", "block", "key"]
    key: str = ""
    value: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "value": self.value}


def _insert_top(text: str, path: str, key: str, value: str) -> str:
    layout = locate_list(text, path, key)
    if value in layout.values:
        return text
    return insert_lines(text, path, key, 0, item_line(layout, value, TOP), value)


def _append(text: str, path: str, key: str, value: str) -> str:
    layout = locate_list(text, path, key)
    if value in layout.values:
        return text
    return insert_lines(text, path, key, len(layout.items), item_line(layout, value), value)


def _track(added: list[Added], old: str, new: str, key: str, value: str) -> str:
    """Remember an item only when this fix really added it (reverse must not drop the user's)."""
    if new != old:
        added.append(Added("item", key, value))
    return new


def set_scalar(text: str, path: str, key: str, value: bool) -> tuple[str, bool]:
    """Add ``key: value`` at the end when the file does not set the key (never overrides one)."""
    data = parse_condarc(text, path) or {}
    if key in data:
        return text, False
    if text and not text.endswith("\n"):
        text += "\n"
    new = text + f"{key}: {'true' if value else 'false'}\n"
    parsed = parse_condarc(new, path) or {}
    if parsed.get(key) is not value:
        raise CondarcError(path, None, f"could not add {key} safely; file unchanged")
    return new, True


def condarc_text(
    ctx: Context, text: str, path: str, kinds: set[Kind], local: LocalChoice
) -> tuple[str, list[Added]]:
    """``~/.condarc`` with the local dirs first (and the dirs used so far kept after them)."""
    added: list[Added] = []
    cfg = ctx.conda_config
    for key, kind in (("pkgs_dirs", "conda-pkgs"), ("envs_dirs", "conda-envs")):
        if kind in kinds and local.usable and locate_list(text, path, key).style == "absent":
            added.append(Added("key", key))  # the fix writes the key: reverse removes it
    if "conda-pkgs" in kinds and local.usable:
        had_list = bool(locate_list(text, path, "pkgs_dirs").items)
        if not cfg.pkgs_dirs_configured and not had_list:
            # conda's defaults apply only while no file lists pkgs_dirs: keep them listed.
            for old in cfg.pkgs_dirs:
                text = _track(added, text, _append(text, path, "pkgs_dirs", old), "pkgs_dirs", old)
        new = _insert_top(text, path, "pkgs_dirs", local.conda_pkgs)
        text = _track(added, text, new, "pkgs_dirs", local.conda_pkgs)
    if "conda-envs" in kinds and local.usable:
        # conda always appends ~/.conda/envs (and <root>/envs): existing envs stay visible.
        new = _insert_top(text, path, "envs_dirs", local.conda_envs)
        text = _track(added, text, new, "envs_dirs", local.conda_envs)
    if "conda-pkgs" in kinds and not local.usable:
        for key, val in (("no_lock", True), ("use_lockfiles", False)):
            text, did = set_scalar(text, path, key, val)
            if did:
                added.append(Added("scalar", key, str(val).lower()))
    return text, added


def remove_added(text: str, path: str, added: list[dict[str, Any]]) -> str:
    """Take out what a fix added (used when the file changed since the fix)."""
    if any(a.get("kind") == "block" for a in added):
        text = strip_block(text)
    for a in added:
        kind, key, value = a.get("kind"), str(a.get("key", "")), str(a.get("value", ""))
        if kind == "item":
            layout = locate_list(text, path, key)
            drop = [it.index for it in layout.items if it.value == value]
            if drop:
                text, _ = remove_items(text, path, key, drop)
        elif kind == "key":
            continue  # after every item is gone, below
        elif kind == "scalar":
            lines = text.splitlines(keepends=True)
            keep = [ln for ln in lines if ln.rstrip("\n") != f"{key}: {value}"]
            text = "".join(keep)
    for a in added:
        if a.get("kind") == "key":
            layout = locate_list(text, path, str(a.get("key", "")))
            if (
                layout.style in ("null", "block")
                and not layout.items
                and layout.key_line is not None
            ):
                lines = text.splitlines(keepends=True)
                del lines[layout.key_line]
                text = "".join(lines)
    return text


# --------------------------------------------------------------------------- plan, apply, record


@dataclass
class FilePlan:
    """The planned edit of one file and what it adds."""

    edit: Edit
    added: list[Added] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what it does, for people
    copy: tuple[str, str] | None = None  # (old database, its new place on this machine)


@dataclass
class Plan:
    local: LocalChoice
    files: list[FilePlan]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(f.edit.changed for f in self.files)

    def diff(self) -> str:
        head = [f"local directory: {self.local.why}"] if self.local.usable else []
        if self.local.usable:
            head.append(
                f"  conda: {self.local.root}/conda/ (the same path on every machine, each its "
                f"own disk); IPython/Jupyter: {self.local.root}/HOST/ (here HOST = "
                f"{self.local.host})"
            )
        head += [f"  passed over {r}" for r in self.local.refused]
        head += self.notes
        for f in self.files:
            head += f.lines
        body = "".join(f.edit.diff() for f in self.files)
        return "\n".join(head) + ("\n" + body if body else "")


def _text_of(path: str, data: bytes | None) -> str:
    text = check_text(path, data)
    return text or ""


def _plan_file(
    ctx: Context, path: str, transform: Callable[[str], tuple[str, list[Added]]], why: str
) -> FilePlan:
    state = read_state(path, ctx.reader)
    old = _text_of(path, state.data)
    new, added = transform(old)
    new_bytes = new.encode() if (new or state.data is not None) else None
    edit = plan_edit(path, lambda _old: new_bytes, why, state=state, reader=ctx.reader)
    return FilePlan(edit, added)


def _adding(block: str) -> Callable[[str], tuple[str, list[Added]]]:
    return lambda text: (add_block(text, block), [Added("block")])


def _const(data: bytes | None) -> Callable[[bytes | None], bytes | None]:
    return lambda _old: data


def plan(ctx: Context, spots: list[Spot]) -> Plan:
    """What ``--fix`` writes for ``spots`` (nothing is written here)."""
    local = choose_local_root(ctx)
    todo = [s for s in spots if not s.fixed]
    files: list[FilePlan] = []
    notes: list[str] = []
    if not local.usable:
        notes.append(
            "no local directory on this machine: IPython and Jupyter keep their databases in "
            "memory; conda's package cache stays where it is with locking turned off"
        )
    conda_kinds: set[Kind] = {s.kind for s in todo if s.kind.startswith("conda")}
    if conda_kinds:
        rc = user_condarc(ctx)
        fp = _plan_file(
            ctx,
            rc,
            lambda t: condarc_text(ctx, t, rc, conda_kinds, local),
            "keep conda's writable dirs on local disk",
        )
        if local.usable:
            if "conda-pkgs" in conda_kinds:
                fp.lines.append(f"conda package cache -> {local.conda_pkgs} (first in pkgs_dirs)")
            if "conda-envs" in conda_kinds:
                fp.lines.append(
                    f"new environments -> {local.conda_envs} (first in envs_dirs; existing "
                    "ones stay visible)"
                )
        else:
            fp.lines.append("conda: no_lock: true, use_lockfiles: false")
        files.append(fp)
    for s in todo:
        if s.kind == "ipython":
            profile = posixpath.basename(posixpath.dirname(s.path))
            dest = f"{local.host_dir}/ipython/{profile}/history.sqlite"
            block = ipython_block(local, profile)
        elif s.kind == "jupyter":
            dest = f"{local.host_dir}/jupyter/"
            block = jupyter_block(local)
        else:
            continue
        fp = _plan_file(ctx, s.config, _adding(block), f"{s.label} on local disk")
        fp.lines.append(f"{s.label} -> {dest if local.usable else 'memory'}")
        if s.kind == "ipython" and local.usable:
            fp.copy = (s.path, dest)
            fp.lines.append(f"  the existing {s.path}, if any, is copied there (this machine)")
        files.append(fp)
    return Plan(local, files, notes)


def record_path(ctx: Context) -> str:
    """In condashare's shared state dir (:mod:`condashare.host.dirs`: the same place on Linux
    and macOS), so a home shared by both keeps one record."""
    from condashare.host import dirs

    return posixpath.join(dirs.state_dir({**ctx.env, "HOME": ctx.home}), "offnet.json")


def backup_dir(ctx: Context) -> str:
    from condashare.host import dirs

    return dirs.backup_dir({**ctx.env, "HOME": ctx.home})


def load_record(ctx: Context) -> dict[str, Any]:
    """The record of applied fixes; UserFileError when it cannot be read (never guessed empty)."""
    raw = ctx.reader.require(record_path(ctx), MAX_STATE_BYTES)
    empty: dict[str, Any] = {"version": RECORD_VERSION, "files": {}, "hosts": {}}
    if raw is None:
        return empty
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return empty
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return empty
    data.setdefault("hosts", {})
    return data


def save_record(ctx: Context, record: dict[str, Any]) -> None:
    data = json.dumps(record, indent=2, sort_keys=True).encode()
    replace_file(record_path(ctx), data, 0o600, ctx.reader)


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def apply(ctx: Context, the_plan: Plan) -> list[str]:
    """Write the plan: the record first (a crash after it loses nothing), then each file.

    Returns the backups kept. The local dirs are created here (local disk, never a share).
    """
    record = load_record(ctx)
    files: dict[str, Any] = record["files"]
    for fp in the_plan.files:
        e = fp.edit
        if not e.changed:
            continue
        entry = files.get(e.target)
        before = e.old if entry is None else _decode_before(entry)
        added = ([] if entry is None else list(entry.get("added", []))) + [
            a.as_dict() for a in fp.added
        ]
        files[e.target] = {
            "path": e.path,
            "before_b64": None if before is None else base64.b64encode(before).decode(),
            "after_sha256": _sha(e.new),
            "added": added,
            "time": time.time(),
        }
    local = the_plan.local
    if local.usable and local.root:
        os.makedirs(local.root, mode=0o700, exist_ok=True)
        problem = foreign_dir(local.root)  # made by someone else since it was chosen?
        if problem:
            raise EditError(local.root, problem + "; nothing was changed")
        made = [local.conda_pkgs, local.conda_envs, local.host_dir]
        for d in made:
            os.makedirs(d, mode=0o700, exist_ok=True)
        record["hosts"][local.host] = {"root": local.root, "dirs": made, "time": time.time()}
    save_record(ctx, record)
    backups = []
    for fp in the_plan.files:
        done = apply_edit(fp.edit, backup_dir(ctx), ctx.reader)
        if done.backup:
            backups.append(done.backup)
        if fp.copy is not None:
            copy_history(ctx, *fp.copy)
    return backups


def _copy_new(src: str, dst: str) -> bool:
    """Copy ``src`` to ``dst`` unless ``dst`` exists; runs where a hang is harmless."""
    import shutil

    if os.path.exists(dst) or not os.path.isfile(src):
        return False
    os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
    tmp = dst + ".condashare-tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def copy_history(ctx: Context, src: str, dst: str) -> str:
    """Keep the user's IPython history: the old database is copied (bytes, no SQLite locks
    taken on the share) to its new local place, once. In a child with a deadline when the old
    one is on a share; returns copied | skipped | unresponsive | error."""
    from condashare.bounded import calls

    if not ctx.is_remote(src):
        try:
            return "copied" if _copy_new(src, dst) else "skipped"
        except OSError:
            return "error"
    answer = calls.call(_copy_new, src, dst, timeout=max(10.0, 5 * ctx.timeout))
    if answer.state == calls.TIMEOUT:
        return "unresponsive"
    if answer.state != calls.DONE:
        return "error"
    return "copied" if answer.value else "skipped"


def _decode_before(entry: dict[str, Any]) -> bytes | None:
    raw = entry.get("before_b64")
    return None if raw is None else base64.b64decode(str(raw))


@dataclass
class Reversal:
    edits: list[Edit]
    kept: list[str]  # files whose record stays (could not be undone)
    notes: list[str]

    def diff(self) -> str:
        return "\n".join(self.notes) + "".join(e.diff() for e in self.edits)


def plan_reverse(ctx: Context) -> Reversal:
    """The edits that undo every recorded fix: exact old bytes when the file is as the fix left
    it, else only the added lines/items/blocks taken out."""
    record = load_record(ctx)
    edits: list[Edit] = []
    kept: list[str] = []
    notes: list[str] = []
    for target, entry in sorted(record["files"].items()):
        if not isinstance(entry, dict):
            continue
        path = str(entry.get("path", target))
        try:
            state = read_state(target, ctx.reader)
            if _sha(state.data) == entry.get("after_sha256"):
                new = _decode_before(entry)
            else:
                text = _text_of(target, state.data)
                added = [a for a in entry.get("added", []) if isinstance(a, dict)]
                stripped = remove_added(text, target, added)
                created = entry.get("before_b64") is None
                new = None if created and not stripped.strip() else stripped.encode()
                notes.append(f"{path} changed since the fix: only what the fix added is removed")
            edits.append(plan_edit(target, _const(new), "undo doctor --fix", state, ctx.reader))
        except (EditError, CondarcError, UserFileError) as exc:
            kept.append(target)
            notes.append(f"{path}: cannot undo ({exc})")
    dirs = [d for h in record.get("hosts", {}).values() for d in h.get("dirs", [])]
    if dirs:
        notes.append(
            "left in place (they may hold environments and packages; remove them yourself): "
            + ", ".join(sorted(set(dirs)))
        )
    return Reversal(edits, kept, notes)


def apply_reverse(ctx: Context, rev: Reversal) -> list[str]:
    backups = []
    for e in rev.edits:
        done = apply_edit(e, backup_dir(ctx), ctx.reader)
        if done.backup:
            backups.append(done.backup)
    record = load_record(ctx)
    record["files"] = {k: v for k, v in record["files"].items() if k in rev.kept}
    if not record["files"]:
        record["hosts"] = {}
    save_record(ctx, record)
    return backups
