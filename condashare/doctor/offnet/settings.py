"""The settings that move the state: blocks in IPython's and Jupyter's config, ~/.condarc lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from condashare.conda.condarc import (
    CondarcError,
    insert_lines,
    item_line,
    locate_list,
    parse_condarc,
    remove_items,
)

if TYPE_CHECKING:
    from condashare.doctor.context import Context
from condashare.doctor.offnet.places import BEGIN, END, TOP, Kind
from condashare.host.dirs import LocalChoice

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
