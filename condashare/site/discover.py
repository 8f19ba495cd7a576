"""Zero-config: find the conda installations under some directories and write a site file.

Most sites never publish a site file, yet their installations tell what they are: a root prefix
has ``conda-meta/`` and ``etc/profile.d/conda.sh``, its ``bin/python`` is an ELF or Mach-O file
for one CPU, and its conda-meta records name the conda ``subdir``. Every directory is searched
by a child program and every file read by a probe (:mod:`condashare.bounded`), so a dead share
makes a directory "unresponsive", never a hang; installations that cannot be identified are
reported and left out rather than guessed.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from condashare.bounded.liveness import probe_words
from condashare.bounded.paths import MISSING, OK, run_program
from condashare.bounded.programs import condaroots
from condashare.errors import ExitCode
from condashare.files.read import Reader
from condashare.files.write import (
    AppliedEdit,
    EditError,
    apply_edit,
    plan_edit,
    read_state,
)
from condashare.host.detect import Platform, PlatformError, normalize_arch
from condashare.host.mounts import Mount, mount_for
from condashare.site.file import SiteError, parse_site, unsafe_path_reason
from condashare.site.installations import (
    BinaryPlatform,
    InstallationEvidence,
    identify_installations,
)
from condashare.wording import plural

DEFAULT_DEPTH = 2  # DIR, its sub-directories and theirs: /nfs/cpkgs/<site>/anaconda3_linux
MAX_DEPTH = 4
MAX_LOOKED = 2000  # directories one search looks at before it stops (and says so)
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Root:
    """A root prefix a search found, with its identity (a symlink to it has the same)."""

    path: str
    dev: int
    ino: int


@dataclass(frozen=True)
class SearchedDir:
    """One directory searched: how it answered, on which mount, how much was looked at."""

    path: str
    status: str  # ok | missing | unresponsive | error | skipped
    detail: str
    mount: Mount | None = None
    roots: tuple[Root, ...] = ()


@dataclass(frozen=True)
class FoundInstallation:
    """A conda root found, what its files say, and whether it goes into the site file."""

    name: str
    prefix: str
    via: str  # "under /nfs/cpkgs" or "CONDA_EXE"
    os: str | None
    arch: tuple[str, ...]
    why: str  # "linux-x86_64 from bin/python's ELF header ..."
    evidence: InstallationEvidence | None = None
    problem: str = ""  # non-empty: left out of the site file, and why

    @property
    def usable(self) -> bool:
        return not self.problem and self.os is not None


@dataclass(frozen=True)
class Discovery:
    """What ``site discover`` found, and the site file text it makes (None: nothing usable)."""

    searched: tuple[SearchedDir, ...]
    found: tuple[FoundInstallation, ...]
    text: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def usable(self) -> tuple[FoundInstallation, ...]:
        return tuple(f for f in self.found if f.usable)

    @property
    def unanswered(self) -> bool:
        """A directory or an installation's files did not answer: the result may be partial."""
        return any(s.status in ("unresponsive", "skipped") for s in self.searched) or any(
            f.evidence is not None and f.evidence.probe.status == "unresponsive" for f in self.found
        )


def conda_exe_root(conda_exe: str) -> str | None:
    """The root prefix ``CONDA_EXE`` belongs to (``<root>/bin/conda``, ``<root>/condabin/conda``),
    by string work alone (nothing is touched)."""
    if not conda_exe.startswith("/"):
        return None
    path = posixpath.normpath(conda_exe)
    parent = posixpath.dirname(path)
    if posixpath.basename(parent) in ("bin", "condabin") and posixpath.basename(path) in (
        "conda",
        "mamba",
    ):
        return posixpath.dirname(parent) or "/"
    return None


def _mount_words(mount: Mount | None) -> str:
    if mount is None:
        return "on an unknown filesystem"
    return f"on {mount.fstype} {mount.source} (mounted at {mount.mountpoint})"


def _search(path: str, depth: int, timeout: float, mount: Mount | None) -> SearchedDir:
    res = run_program(condaroots, [str(depth), str(MAX_LOOKED), path], timeout, path)
    where = _mount_words(mount)
    if res.status != OK:
        words = "does not exist" if res.status == MISSING else probe_words(res)
        return SearchedDir(path, res.status, f"{words} ({where})", mount)
    roots = tuple(Root(str(p), int(d), int(i)) for p, d, i in res.data.get("roots", []))
    looked = int(res.data.get("looked", 0))
    detail = f"looked at {plural(looked, 'directory', 'directories')} {where}"
    if not res.data.get("complete", True):
        detail += f"; stopped after {MAX_LOOKED} (name a deeper directory to search it all)"
    return SearchedDir(path, OK, detail, mount, roots)


def _header_words(ev: InstallationEvidence) -> str:
    found = ev.found
    assert found is not None
    if ev.source == "bin/python":
        return f"bin/python's {found.format} header"
    return f"{ev.source} (subdir {found_subdir(found)})"


def found_subdir(found: BinaryPlatform) -> str:
    """The conda subdir a header's first architecture stands for (``linux-64``, ``osx-arm64``)."""
    return Platform(found.os, found.archs[0]).conda_subdir


def judge(ev: InstallationEvidence) -> tuple[str | None, tuple[str, ...], str, str]:
    """(os, archs, why, problem) from an installation's evidence; a problem leaves it out."""
    found = ev.found
    if found is None:
        return None, (), "", f"cannot tell its platform: {ev.describe()}"
    meta = ev.subdir
    archs = found.archs
    why = f"{found.os}-{'+'.join(archs)} from {_header_words(ev)}"
    if meta is not None and ev.source == "bin/python":
        meta_words = f"{ev.subdir_source} (subdir {found_subdir(meta)})"
        if meta.os != found.os or not set(meta.archs) & set(archs):
            problem = (
                f"its files disagree: bin/python is {found.format} {found.os}-{'+'.join(archs)} "
                f"but {meta_words} is for {meta.os}-{meta.archs[0]}"
            )
            return None, (), why, problem
        if len(archs) > 1:
            archs = meta.archs
            why = f"{found.os}-{archs[0]} from {_header_words(ev)} ({'+'.join(found.archs)})"
            why += f", narrowed by {meta_words}"
        else:
            why += f"; {meta_words} agrees"
    try:
        archs = tuple(normalize_arch(a) for a in archs)
    except PlatformError as exc:
        return None, (), why, f"an architecture condashare does not know: {exc}"
    return found.os, archs, why, ""


def _name_for(prefix: str, taken: set[str]) -> str:
    base = _NAME_UNSAFE.sub("_", posixpath.basename(prefix.rstrip("/"))).strip("._-")
    base = base or "conda"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes (``\\"`` ``\\\\`` ``\\uXXXX``) are valid TOML."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_site_text(found: Sequence[FoundInstallation], searched: Sequence[str]) -> str:
    """The site file for the usable installations, in the order found (first match wins)."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# Written by `condashare site discover` on {stamp}.",
        "# Searched: " + ", ".join(_toml_string(p) for p in searched),
        "# The first installation whose os and arch fit a machine is the one it uses.",
        "",
    ]
    for inst in found:
        if not inst.usable:
            continue
        lines += [
            "[[installations]]",
            f"name = {_toml_string(inst.name)}",
            f"prefix = {_toml_string(inst.prefix)}",
            f"os = {_toml_string(inst.os or '')}",
            "arch = [" + ", ".join(_toml_string(a) for a in inst.arch) + "]",
            f"description = {_toml_string('discovered: ' + inst.why)}",
            "",
        ]
    return "\n".join(lines)


def discover(
    dirs: Sequence[str],
    env: Mapping[str, str],
    mounts: Sequence[Mount],
    timeout: float,
    depth: int = DEFAULT_DEPTH,
    use_conda_exe: bool = True,
) -> Discovery:
    """Search ``dirs`` (and CONDA_EXE's root) for conda installations and identify each one."""
    searched: list[SearchedDir] = []
    dead: set[str] = set()  # mount points that did not answer: not asked again
    order: list[tuple[Root, str]] = []  # (root, via)

    def search(path: str, level: int, via: str) -> None:
        mount = mount_for(path, mounts)
        if mount is not None and mount.mountpoint in dead:
            detail = f"not searched: its share did not answer earlier ({_mount_words(mount)})"
            searched.append(SearchedDir(path, "skipped", detail, mount))
            return
        result = _search(path, level, timeout, mount)
        if result.status == "unresponsive" and mount is not None and mount.possibly_remote:
            dead.add(mount.mountpoint)
        searched.append(result)
        order.extend((root, via) for root in result.roots)

    for raw in dirs:
        path = posixpath.normpath(os.path.abspath(raw))
        search(path, depth, f"under {path}")
    notes: list[str] = []
    exe = env.get("CONDA_EXE", "") if use_conda_exe else ""
    exe_root = conda_exe_root(exe) if exe else None
    if exe and exe_root is None:
        notes.append(f"CONDA_EXE={exe} is not <root>/bin/conda; not searched")
    if exe_root and all(root.path != exe_root for root, _ in order):
        search(exe_root, 0, "CONDA_EXE")
    return identify(order, searched, timeout, notes)


def identify(
    order: list[tuple[Root, str]],
    searched: list[SearchedDir],
    timeout: float,
    notes: list[str],
) -> Discovery:
    """Identify each root (all probes at once, one deadline) and build the site file text."""
    unique: list[tuple[str, str]] = []
    seen: dict[tuple[int, int], str] = {}
    for item, via in order:
        key = (item.dev, item.ino)
        if key in seen:
            if seen[key] != item.path:
                notes.append(f"{item.path} is the same directory as {seen[key]}; listed once")
            continue
        seen[key] = item.path
        unique.append((item.path, via))
    evidence = identify_installations([r for r, _ in unique], timeout) if unique else []
    taken: set[str] = set()
    found: list[FoundInstallation] = []
    for (root, via), ev in zip(unique, evidence, strict=True):
        os_name, archs, why, problem = judge(ev)
        reason = unsafe_path_reason(root)
        if reason:
            problem = f"its path {reason}; it cannot be used in shell code"
        found.append(FoundInstallation(_name_for(root, taken), root, via, os_name, archs, why, ev,
                                       problem))  # fmt: skip
    usable = [f for f in found if f.usable]
    by_platform: dict[tuple[str | None, tuple[str, ...]], str] = {}
    for inst in usable:
        plat = (inst.os, inst.arch)
        if plat in by_platform:
            notes.append(
                f"{inst.name} is for {inst.os}-{'+'.join(inst.arch)} like {by_platform[plat]}, "
                f"which comes first and is the one chosen; reorder the file to change that"
            )
        else:
            by_platform[plat] = inst.name
    text = None
    if usable:
        text = render_site_text(found, [s.path for s in searched])
        try:
            parse_site(text, "(discovered site file)", "discover")
        except SiteError as exc:  # a bug here must not write a file every command refuses
            raise AssertionError(f"discover made an invalid site file: {exc}") from None
    return Discovery(tuple(searched), tuple(found), text, tuple(notes))


class DiscoverError(Exception):
    """The site file cannot be written (it exists, its share does not answer ...)."""

    def __init__(self, path: str, message: str, exit_code: int = ExitCode.USAGE) -> None:
        self.path = path
        self.exit_code = exit_code
        super().__init__(f"{path}: {message}")


def write_site_file(
    text: str, path: str, reader: Reader, backup_dir: str, force: bool = False
) -> AppliedEdit:
    """Write the discovered site file through the one writer of user files.

    An existing file is someone's configuration (perhaps edited by hand): it is replaced only
    with ``force``, and then its old bytes are kept in ``backup_dir``.
    """
    try:
        state = read_state(path, reader)
        if state.exists and not force:
            raise DiscoverError(
                path, "a site file is already there; pass --force to replace it (a backup is kept)"
            )
        edit = plan_edit(path, lambda _old: text.encode("utf-8"), "site discover", state, reader)
        return apply_edit(edit, backup_dir, reader)
    except EditError as exc:
        # a share that did not answer, or a write the system refused (read-only filesystem,
        # full disk: exit 3), keeps its own exit code; a file condashare will not edit is 2
        raise DiscoverError(path, exc.message, exc.exit_code) from None
    except OSError as exc:
        raise DiscoverError(path, f"cannot write: {exc.strerror or exc}") from None
