"""conda's ``.condarc`` search path (conda-facts §1): which files it reads, in which order,
which it skips by name, and each one read and parsed (bounded on a share)."""

from __future__ import annotations

import errno
import posixpath
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from condashare.bounded.paths import OK, UNRESPONSIVE
from condashare.conda.context import (
    CONDARC_FILENAMES,
    MAX_CONDARC_BYTES,
    TEMPLATE_DIRS,
    YAML_EXTENSIONS,
    CondaContext,
    CondarcError,
    custom_expandvars,
    listdir,
    posix_expanduser,
    touch_path,
)
from condashare.files.read import ReadStatus, kind_of

# --------------------------------------------------------------------------- search path


@dataclass(frozen=True)
class SearchSpot:
    """One entry of conda's search path after expansion."""

    template: str
    path: str  # expanded, as conda would name it (may be relative: an unset variable)
    slot: str  # system | root | user | prefix | condarc


def search_path(ctx: CondaContext) -> list[SearchSpot]:
    """conda's SEARCH_PATH expanded for ``ctx``, lowest precedence first."""
    mapping = dict(ctx.env)
    if ctx.conda_root and "CONDA_ROOT" not in mapping:
        mapping["CONDA_ROOT"] = ctx.conda_root  # conda/__init__.py sets it to sys.prefix
    # conda passes the target prefix (the active env, else the root) as CONDA_PREFIX.
    target = ctx.env.get("CONDA_PREFIX") or ctx.conda_root
    if target:
        mapping["CONDA_PREFIX"] = target
    templates: list[tuple[str, str]] = []
    for directory in ctx.system_dirs:
        templates += [(f"{directory}/{n}", "system") for n in (*CONDARC_FILENAMES, "condarc.d/")]
    for directory, slot in TEMPLATE_DIRS:
        templates += [(f"{directory}/{n}", slot) for n in (*CONDARC_FILENAMES, "condarc.d/")]
    templates.append(("~/.condarc", "user"))
    templates += [(f"$CONDA_PREFIX/{n}", "prefix") for n in (*CONDARC_FILENAMES, "condarc.d/")]
    templates.append(("$CONDARC", "condarc"))
    out = []
    for template, slot in templates:
        expanded = posix_expanduser(custom_expandvars(template, mapping), mapping)
        norm = str(PurePosixPath(expanded))  # pathlib normalisation, as conda's Path()
        out.append(SearchSpot(template, norm, slot))
    return out


@dataclass
class CondarcFile:
    """One configuration file conda reads (or would, were it valid)."""

    path: str
    slot: str
    template: str
    status: str  # ok | invalid | unreadable | unresponsive
    error: str = ""
    line: int | None = None
    conda_fails: bool = False  # invalid in a way that stops conda, not just a warning
    data: Any = None  # the ruamel round-trip mapping (None when empty or invalid)

    @property
    def problem(self) -> str:
        """Why it cannot be used, with the line when known (empty when it can)."""
        return f"line {self.line}: {self.error}" if self.line else self.error


@dataclass(frozen=True)
class IgnoredFile:
    """A file on the search path conda silently skips (name rule), worth telling the user."""

    path: str
    reason: str


def _yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt")


def parse_condarc(text: str, path: str) -> Any:
    """Round-trip parse; CondarcError (with line) for YAML conda cannot use."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        data = _yaml().load(text)
    except ReaderError as exc:
        # a character YAML never accepts (an ESC pasted from a coloured terminal): the line
        # and the character, not the parser's multi-line text naming "<unicode string>"
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = f" U+{exc.character:04X}" if isinstance(exc.character, int) else ""
        raise CondarcError(
            path, line, f"not valid YAML: character{char} is not allowed (a control character?)"
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CondarcError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except YAMLError as exc:
        raise CondarcError(path, None, f"not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise CondarcError(path, 1, "the top level must be a mapping (key: value)")
    return data


def _load_file(ctx: CondaContext, path: str, slot: str, template: str) -> CondarcFile | IgnoredFile:
    """Read one condarc file through the one reader and parse it.

    A file that is not a regular file (a FIFO or device in ``condarc.d/``) is one conda skips;
    it comes back as an IgnoredFile, unread.
    """
    res = ctx.reader.read(ctx.absolute(path), MAX_CONDARC_BYTES)
    if res.status is ReadStatus.UNRESPONSIVE:
        return CondarcFile(path, slot, template, "unresponsive", res.reason)
    if res.status is ReadStatus.REFUSED and res.mode is not None and not stat.S_ISREG(res.mode):
        return IgnoredFile(path, f"{res.reason}: conda ignores it")
    if not res.ok or res.data is None:
        return CondarcFile(path, slot, template, "unreadable", res.reason)
    try:
        text = res.data.decode("utf-8")
    except UnicodeDecodeError:
        return CondarcFile(path, slot, template, "unreadable", "is not UTF-8 text")
    from ruamel.yaml.reader import ReaderError
    from ruamel.yaml.scanner import ScannerError

    try:
        data = parse_condarc(text, path)
    except CondarcError as exc:
        # conda warns and skips a file with a scanner/reader error; other YAML errors stop it.
        try:
            _yaml().load(text)
        except (ScannerError, ReaderError):
            fails = False
        except Exception:
            fails = True
        else:
            fails = True  # top level is not a mapping
        return CondarcFile(path, slot, template, "invalid", exc.message, exc.line, fails)
    return CondarcFile(path, slot, template, "ok", data=data)


def load_search_path(ctx: CondaContext) -> tuple[list[CondarcFile], list[IgnoredFile]]:
    """The files conda reads, in its order, each parsed; plus files it silently ignores."""
    files: list[CondarcFile] = []
    ignored: list[IgnoredFile] = []
    seen: set[str] = set()
    for spot in search_path(ctx):
        touch = touch_path(ctx, spot.path)
        if touch.status == UNRESPONSIVE:
            files.append(
                CondarcFile(spot.path, spot.slot, spot.template, "unresponsive", touch.error)
            )
            continue
        if touch.status == "error" and touch.errno == errno.ELOOP:
            ignored.append(IgnoredFile(spot.path, "is a symlink loop: conda ignores it"))
        if touch.status != OK:
            continue
        found: list[str] = []
        name = posixpath.basename(spot.path)
        if not stat.S_ISREG(touch.mode) and not stat.S_ISDIR(touch.mode):
            ignored.append(
                IgnoredFile(
                    spot.path,
                    f"is {kind_of(touch.mode)}, not a regular file: conda "
                    "ignores it (and condashare does not read it)",
                )
            )
        elif stat.S_ISREG(touch.mode):
            if name in CONDARC_FILENAMES or posixpath.splitext(name)[1] in YAML_EXTENSIONS:
                found.append(spot.path)
            elif spot.slot == "condarc":
                ignored.append(
                    IgnoredFile(
                        spot.path,
                        "CONDARC names a file conda ignores: it "
                        "must be called .condarc or condarc or end in "
                        ".yml/.yaml",
                    )
                )
        elif stat.S_ISDIR(touch.mode):
            status, entries = listdir(ctx, spot.path)
            for entry_name, kind in sorted(entries):
                if posixpath.splitext(entry_name)[1] not in YAML_EXTENSIONS:
                    continue
                if kind in ("file", "link"):
                    found.append(posixpath.join(spot.path, entry_name))
            if status == UNRESPONSIVE:
                files.append(
                    CondarcFile(
                        spot.path, spot.slot, spot.template, "unresponsive", "share did not answer"
                    )
                )
        for path in found:
            if path in seen:
                continue
            seen.add(path)
            loaded = _load_file(ctx, path, spot.slot, spot.template)
            if isinstance(loaded, IgnoredFile):
                ignored.append(loaded)
            else:
                files.append(loaded)
    return files, ignored
