"""Plan, render, apply and reverse the managed condashare blocks in shell startup files.

The block knows every installation in the site file and picks one at shell start from ``uname
-sm``, so one home shared by Linux and macOS machines works on both. It sources the
installation's ``conda.sh`` / ``conda.csh`` / ``conda.fish`` directly (no Python, no conda at
shell start) after a mount-table check and a bounded probe (``shell/check.sh``), so a dead share
costs at most the probe timeout. Templates are real shell files in ``shell/``; rendering only
replaces placeholders with values quoted for the dialect.

Text rules (all on bytes, so CRLF files and files without a final newline survive exactly):
the block is written with LF line ends between ``# >>> condashare >>>`` and
``# <<< condashare <<<``; running again replaces it in place; flag lines inside the block record
what else ``init`` did (created the file, added a line break before the block) so ``--reverse``
undoes exactly that. ``conda initialize`` blocks are disabled by prefixing each of their lines,
which ``--reverse`` strips again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from condashare.files.read import Reader
from condashare.files.write import Edit, EditError, FileState, check_text, plan_edit, read_state
from condashare.host.mounts import LOCAL_FSTYPES
from condashare.site.file import Installation, Site, unsafe_path_reason

SHELLS = ("bash", "zsh", "sh", "tcsh", "fish")
SHELL_ALIASES = {"bash": "bash", "zsh": "zsh", "sh": "sh", "dash": "sh", "ksh": "sh",
                 "tcsh": "tcsh", "csh": "tcsh", "fish": "fish"}  # fmt: skip

BEGIN = b"# >>> condashare >>>"
END = b"# <<< condashare <<<"
FLAG_CREATED = b"# condashare: created this file"
FLAG_NEWLINE = b"# condashare: added the line break before this block"
DISABLED_PREFIX = b"# [condashare-disabled] "
CONDA_BLOCK_NAMES = ("conda initialize", "mamba initialize")

_OS_UNAME = {"linux": "Linux", "macos": "Darwin"}
# uname -m spellings of each canonical architecture (Linux says aarch64, macOS arm64).
_ARCH_UNAME = {
    "x86_64": ("x86_64", "amd64"),
    "arm64": ("arm64", "aarch64"),
    "x86": ("i386", "i486", "i586", "i686", "x86"),
    "ppc64le": ("ppc64le",),
    "s390x": ("s390x",),
    "armv7l": ("armv7l",),
    "riscv64": ("riscv64",),
}


def shell_dir() -> Path:
    """The templates: top-level ``shell/`` in a checkout, ``condashare/shell`` when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "shell", here.parent / "shell"):
        if (candidate / "posix.sh").is_file():
            return candidate
    raise FileNotFoundError("condashare's shell templates (shell/posix.sh) are missing")


class StartupError(Exception):
    """A startup file cannot be edited safely (half block, two blocks ...); nothing changed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


# ---------------------------------------------------------------- dialects and rendering


def mountinfo_escape(path: str) -> str:
    r"""Escape a path as the kernel writes it in mountinfo (space ``\040``, backslash ``\134``)."""
    out = []
    for ch in path:
        if ch in " \t\n\\":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def _code(name: str) -> str:
    """A shell/ snippet without its comment lines (they document the file, not the block)."""
    text = (shell_dir() / name).read_text(encoding="utf-8")
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.lstrip().startswith("#"))


def _fill(name: str, text: str, replacements: Mapping[str, str]) -> str:
    """Replace every placeholder of a template; a missing one is a broken install, not input."""
    for key, value in replacements.items():
        if key not in text:
            raise RuntimeError(f"template {name} lacks {key.strip()}")
        text = text.replace(key, value)
    return text


def _local_fs_pattern() -> str:
    """condashare.host.mounts.LOCAL_FSTYPES as one ``case`` pattern: the shell and Python agree."""
    names = sorted(LOCAL_FSTYPES)
    bad = [n for n in names if not n.replace("_", "").isalnum()]
    if bad:
        raise RuntimeError(f"LOCAL_FSTYPES has names unfit for a shell pattern: {bad}")
    return "|".join(names)


def _check_code() -> str:
    """shell/check.sh: the mount-table lookup, with the local filesystems filled in."""
    return _fill("check.sh", _code("check.sh"), {"__CONDASHARE_LOCAL_FS__": _local_fs_pattern()})


def _awk_code() -> str:
    """shell/read.awk, the probe child's reader, without comments and indentation: it is one
    quoted word in every block, and bash lexes a block's words at every shell start."""
    return "".join(ln.strip() + "\n" for ln in _code("read.awk").splitlines() if ln.strip())


def _race_program() -> str:
    """shell/race.sh as a /bin/sh program: ``sh -c PROGRAM sh SECONDS COMMAND...``."""
    return _code("race.sh") + '_condashare_race "$@"\nprintf \'%s\\n\' "$_condashare_x"\n'


def _helper_code(dialect: str) -> str:
    """shell/helper.sh as a stand-alone /bin/sh program for csh and fish (inputs from the
    environment), with the check, the reader and the race in place. csh gets a private copy
    of conda.csh to source (shell/copy_csh.sh); fish takes the content itself."""
    csh = dialect == "csh"
    return _fill(
        "helper.sh",
        _code("helper.sh"),
        {
            "__CONDASHARE_AWK__": DIALECTS["posix"].quote(_awk_code()),
            "__CONDASHARE_CHECK__\n": _check_code(),
            "__CONDASHARE_RACE__\n": _code("race.sh"),
            "__CONDASHARE_READER__\n": _code("copy_csh.sh") if csh else "",
            "__CONDASHARE_READ_CMD__": (
                '_condashare_copy "$_condashare_f"'
                if csh
                else 'awk "$_condashare_aw" "$_condashare_f"'
            ),
            "__CONDASHARE_VERDICT__\n": _code("verdict.sh"),
        },
    )


def _patterns(inst: Installation) -> list[str]:
    """``uname -sm`` outputs this installation accepts; ``*`` stands for any architecture."""
    os_word = _OS_UNAME[inst.os]
    if not inst.arch:
        return [f"{os_word} *"]
    out: list[str] = []
    for arch in inst.arch:
        for spelling in _ARCH_UNAME.get(arch, (arch,)):
            out.append(f"{os_word} {spelling}")
    return list(dict.fromkeys(out))


def _rosetta_patterns(inst: Installation) -> list[str]:
    """An arm64-only macOS installation also serves ``Darwin x86_64``: a shell translated by
    Rosetta on Apple silicon reports x86_64 but can run the arm64 installation (host.py makes
    the same choice). These arms come after all exact ones, so an x86_64 installation wins."""
    if inst.os == "macos" and "arm64" in inst.arch and "x86_64" not in inst.arch:
        return ["Darwin x86_64"]
    return []


def format_timeout(seconds: float) -> str:
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "1"


class Dialect:
    """One family of shells: its template, its quoting, its file to source."""

    name = ""
    template = ""
    conda_file = ""

    def quote(self, value: str) -> str:
        raise NotImplementedError

    def pattern(self, pattern: str) -> str:
        raise NotImplementedError

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        raise NotImplementedError

    def code(self) -> dict[str, str]:
        """The shared shell code this dialect's template takes, by placeholder."""
        return {"__CONDASHARE_CHECK__": self.quote(_helper_code(self.name))}

    def refuse_reason(self, value: str) -> str | None:
        return unsafe_path_reason(value)

    def render(self, site: Site, timeout: float | None = None) -> str:
        """The block body (no markers) for every installation of ``site``."""
        for inst in site.installations:
            reason = self.refuse_reason(inst.prefix)
            if reason:
                raise StartupError(site.path or "--prefix", f"prefix {inst.prefix!r} {reason}")
        text = _code(self.template)  # comments document the template, not the block
        arms = "".join(self.arm(inst) for inst in site.installations)
        arms += "".join(
            self.arm(inst, _rosetta_patterns(inst))
            for inst in site.installations
            if _rosetta_patterns(inst)
        )
        seconds = site.probe_timeout if timeout is None else timeout
        replacements = {
            "__CONDASHARE_CASES__\n": arms,
            "__CONDASHARE_TIMEOUT__": self.quote(format_timeout(seconds)),
            **self.code(),
        }
        return _fill(self.template, text, replacements)


class PosixDialect(Dialect):
    """sh, dash, bash and zsh."""

    name = "posix"
    template = "posix.sh"
    conda_file = "etc/profile.d/conda.sh"

    def quote(self, value: str) -> str:
        return "'" + value.replace("'", "'\\''") + "'"

    def pattern(self, pattern: str) -> str:
        if pattern.endswith(" *"):
            return self.quote(pattern[:-1]) + "*"
        return self.quote(pattern)

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        pats = "|".join(self.pattern(p) for p in patterns or _patterns(inst))
        return (
            f"    {pats})\n"
            f"      _condashare_p={self.quote(inst.prefix)}\n"
            f"      _condashare_pe={self.quote(mountinfo_escape(inst.prefix))} ;;\n"
        )

    def code(self) -> dict[str, str]:
        # Inserted as is, not re-indented: the code has line breaks inside strings.
        return {
            "__CONDASHARE_CHECK__\n": _check_code(),
            "__CONDASHARE_AWK__": self.quote(_awk_code()),
            "__CONDASHARE_RACE_PROGRAM__": self.quote(_race_program()),
            "__CONDASHARE_VERDICT__\n": _code("verdict.sh"),
        }


class CshDialect(Dialect):
    """tcsh and csh."""

    name = "csh"
    template = "csh.csh"
    conda_file = "etc/profile.d/conda.csh"

    def quote(self, value: str) -> str:
        # Single quotes keep everything literal except ``!`` (history) and a line break,
        # which need a backslash; a quote is closed, escaped and reopened.
        body = value.replace("'", "'\\''").replace("!", "\\!").replace("\n", "\\\n")
        return "'" + body + "'"

    def pattern(self, pattern: str) -> str:
        if pattern.endswith(" *"):
            return self.quote(pattern[:-1]) + "*"
        return self.quote(pattern)

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        labels = "".join(f"    case {self.pattern(p)}:\n" for p in patterns or _patterns(inst))
        return (
            f"{labels}"
            f"      set _condashare_p = {self.quote(inst.prefix)}\n"
            f"      setenv _CONDASHARE_PE {self.quote(mountinfo_escape(inst.prefix))}\n"
            "      breaksw\n"
        )


class FishDialect(Dialect):
    """fish."""

    name = "fish"
    template = "fish.fish"
    conda_file = "etc/fish/conf.d/conda.fish"

    def quote(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def pattern(self, pattern: str) -> str:
        return self.quote(pattern)  # fish's case treats * in a quoted word as a wildcard

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        pats = " ".join(self.pattern(p) for p in patterns or _patterns(inst))
        return (
            f"    case {pats}\n"
            f"      set _condashare_p {self.quote(inst.prefix)}\n"
            f"      set _CONDASHARE_PE {self.quote(mountinfo_escape(inst.prefix))}\n"
        )


DIALECTS: dict[str, Dialect] = {"posix": PosixDialect(), "csh": CshDialect(), "fish": FishDialect()}
SHELL_DIALECT = {"bash": "posix", "zsh": "posix", "sh": "posix", "tcsh": "csh", "fish": "fish"}


def info_line(command: str) -> str:
    """The comment that tells whoever reads the file which command manages the block."""
    return (
        f"# Managed by '{command}' from the site file's installations: to change it run "
        f"'{command}' again, to remove it run '{command} --reverse'."
    )


def render_block(
    site: Site,
    dialect: str | Dialect,
    timeout: float | None = None,
    flags: Sequence[bytes] = (),
    command: str = "condashare init",
) -> bytes:
    """The complete managed block, markers included, LF line ends."""
    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    body = d.render(site, timeout)
    info = info_line(command).encode()
    head = BEGIN + b"\n" + info + b"\n" + b"".join(f + b"\n" for f in flags)
    return head + body.encode("utf-8") + END + b"\n"


# ---------------------------------------------------------------- text edits (pure, on bytes)


def _lines(data: bytes) -> list[bytes]:
    """Split on LF only, keeping line ends (``bytes.splitlines`` also splits on \\r, \\f ...)."""
    if not data:
        return []
    parts = data.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _bare(line: bytes) -> bytes:
    return line.rstrip(b"\n").rstrip(b"\r")


@dataclass(frozen=True)
class BlockSpan:
    """Where the managed block sits: line indexes of its markers, and its flags."""

    begin: int
    end: int
    flags: tuple[bytes, ...]


def find_block(data: bytes, path: str = "") -> BlockSpan | None:
    """Locate the one managed block; StartupError for half, nested or repeated markers."""
    lines = _lines(data)
    begins = [i for i, ln in enumerate(lines) if _bare(ln) == BEGIN]
    ends = [i for i, ln in enumerate(lines) if _bare(ln) == END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        where = ", ".join(str(i + 1) for i in sorted(begins + ends))
        raise StartupError(
            path,
            f"has an incomplete or repeated condashare block (marker lines {where}); "
            "fix the file by hand (keep one '# >>> condashare >>>' ... '# <<< condashare <<<' "
            "pair or none), then run again",
        )
    b, e = begins[0], ends[0]
    flags = tuple(_bare(ln) for ln in lines[b + 1 : e] if _bare(ln) in (FLAG_CREATED, FLAG_NEWLINE))
    return BlockSpan(b, e, flags)


def install_block(
    old: bytes | None, make_block: Callable[[Sequence[bytes]], bytes], path: str = ""
) -> bytes:
    """New file content with the managed block added, or replaced in place."""
    data = old or b""
    span = find_block(data, path)
    lines = _lines(data)
    if span is not None:
        block = make_block(span.flags)
        return b"".join(lines[: span.begin]) + block + b"".join(lines[span.end + 1 :])
    flags: list[bytes] = []
    sep = b""
    if old is None:
        flags.append(FLAG_CREATED)
    elif data and not data.endswith(b"\n"):
        flags.append(FLAG_NEWLINE)
        sep = b"\n"
    return data + sep + make_block(flags)


def remove_block(old: bytes | None, path: str = "") -> bytes | None:
    """The file content with the managed block (and what it added) removed; None = delete."""
    if old is None:
        return None
    span = find_block(old, path)
    if span is None:
        return old
    lines = _lines(old)
    before = b"".join(lines[: span.begin])
    after = b"".join(lines[span.end + 1 :])
    if FLAG_NEWLINE in span.flags and before.endswith(b"\n"):
        before = before[:-1]
    new = before + after
    if FLAG_CREATED in span.flags and not new:
        return None
    return new


@dataclass(frozen=True)
class CondaBlock:
    """A ``conda initialize`` style block found in a startup file."""

    path: str
    name: str  # "conda initialize" or "mamba initialize"
    first_line: int  # 1-based
    last_line: int
    prefixes: tuple[str, ...]  # site installation prefixes it mentions
    disabled: bool = False


def _conda_markers(name: str) -> tuple[bytes, bytes]:
    return (f"# >>> {name} >>>".encode(), f"# <<< {name} <<<".encode())


def find_conda_blocks(
    data: bytes | None, path: str = "", prefixes: Sequence[str] = ()
) -> list[CondaBlock]:
    """Complete ``conda/mamba initialize`` blocks (active ones and ones condashare disabled)."""
    if not data:
        return []
    lines = _lines(data)
    found: list[CondaBlock] = []
    for name in CONDA_BLOCK_NAMES:
        begin, end = _conda_markers(name)
        for disabled in (False, True):
            pre = DISABLED_PREFIX if disabled else b""
            start: int | None = None
            for i, ln in enumerate(lines):
                bare = _bare(ln)
                if bare == pre + begin:
                    start = i
                elif bare == pre + end and start is not None:
                    text = b"".join(lines[start : i + 1]).decode("utf-8", "replace")
                    mentioned = tuple(p for p in prefixes if p in text)
                    found.append(CondaBlock(path, name, start + 1, i + 1, mentioned, disabled))
                    start = None
    return sorted(found, key=lambda b: b.first_line)


def disable_conda_blocks(data: bytes | None) -> bytes | None:
    """Prefix every line of each complete active conda/mamba block with a removable comment."""
    if not data:
        return data
    lines = _lines(data)
    for block in find_conda_blocks(data):
        if block.disabled:
            continue
        for i in range(block.first_line - 1, block.last_line):
            lines[i] = DISABLED_PREFIX + lines[i]
    return b"".join(lines)


def enable_conda_blocks(data: bytes | None) -> bytes | None:
    """Undo :func:`disable_conda_blocks` byte for byte."""
    if not data:
        return data
    lines = _lines(data)
    for block in find_conda_blocks(data):
        if not block.disabled:
            continue
        for i in range(block.first_line - 1, block.last_line):
            if lines[i].startswith(DISABLED_PREFIX):
                lines[i] = lines[i][len(DISABLED_PREFIX) :]
    return b"".join(lines)


# ---------------------------------------------------------------- which files, which shells


@dataclass(frozen=True)
class StartupTarget:
    """A startup file to carry the block, for which shells, and why."""

    path: str
    dialect: str
    shells: tuple[str, ...]
    why: str


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _fish_dir(home: str, env: Mapping[str, str]) -> str:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(base, "fish")


def _env_file(home: str, env: Mapping[str, str]) -> str | None:
    value = env.get("ENV", "")
    if not value:
        return None
    expanded = value.replace("${HOME}", home).replace("$HOME", home)
    if expanded.startswith("~/"):
        expanded = os.path.join(home, expanded[2:])
    if "$" in expanded or not expanded.startswith("/"):
        return None
    return expanded


def bash_login_file(home: str, exists: Callable[[str], bool] = _exists) -> tuple[str, str]:
    """The file a bash login shell reads: the first of .bash_profile, .bash_login, .profile.

    When none exists we use ``.profile``: creating ``.bash_profile`` would hide a ``.profile``
    added later, and ``.profile`` is also what sh reads.
    """
    for name in (".bash_profile", ".bash_login", ".profile"):
        path = os.path.join(home, name)
        if exists(path):
            return path, (
                f"bash login shells read {name} (the first of .bash_profile, "
                ".bash_login, .profile that exists)"
            )
    return os.path.join(home, ".profile"), (
        "bash login shells read .profile when there is no .bash_profile/.bash_login "
        "(a new .bash_profile would hide .profile)"
    )


def targets_for(
    shells: Sequence[str],
    home: str,
    env: Mapping[str, str],
    exists: Callable[[str], bool] = _exists,
) -> list[StartupTarget]:
    """The startup files that carry the block for ``shells`` (one entry per file)."""
    found: dict[str, tuple[str, list[str], list[str]]] = {}

    def add(path: str, dialect: str, shell: str, why: str) -> None:
        entry = found.setdefault(path, (dialect, [], []))
        if shell not in entry[1]:
            entry[1].append(shell)
            entry[2].append(why)

    for shell in shells:
        if shell == "bash":
            add(os.path.join(home, ".bashrc"), "posix", "bash", "interactive bash reads .bashrc")
            path, why = bash_login_file(home, exists)
            add(path, "posix", "bash", why)
        elif shell == "zsh":
            zdot = env.get("ZDOTDIR") or home
            add(os.path.join(zdot, ".zshrc"), "posix", "zsh", "interactive zsh reads .zshrc")
        elif shell == "sh":
            add(os.path.join(home, ".profile"), "posix", "sh", "login sh/dash read .profile")
            env_file = _env_file(home, env)
            if env_file:
                add(env_file, "posix", "sh", "interactive sh/dash read $ENV")
        elif shell == "tcsh":
            tcshrc = os.path.join(home, ".tcshrc")
            if exists(tcshrc):
                add(tcshrc, "csh", "tcsh", "tcsh reads .tcshrc")
            else:
                add(os.path.join(home, ".cshrc"), "csh", "tcsh", "tcsh reads .cshrc (no .tcshrc)")
        elif shell == "fish":
            path = os.path.join(_fish_dir(home, env), "conf.d", "condashare.fish")
            add(path, "fish", "fish", "fish runs every conf.d/*.fish file")
        else:
            raise ValueError(f"unknown shell {shell!r}")
    return [
        StartupTarget(path, dialect, tuple(sh), "; ".join(dict.fromkeys(whys)))
        for path, (dialect, sh, whys) in found.items()
    ]


def all_known_files(home: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every file init may have written, with its dialect (what --reverse scans)."""
    zdot = env.get("ZDOTDIR") or home
    out = [
        (os.path.join(home, n), "posix")
        for n in (".bashrc", ".bash_profile", ".bash_login", ".profile")
    ]
    out.append((os.path.join(zdot, ".zshrc"), "posix"))
    if zdot != home:
        out.append((os.path.join(home, ".zshrc"), "posix"))
    env_file = _env_file(home, env)
    if env_file:
        out.append((env_file, "posix"))
    out += [(os.path.join(home, ".tcshrc"), "csh"), (os.path.join(home, ".cshrc"), "csh")]
    fish = _fish_dir(home, env)
    out += [(os.path.join(fish, "conf.d", "condashare.fish"), "fish"),
            (os.path.join(fish, "config.fish"), "fish")]  # fmt: skip
    return list(dict.fromkeys(out))


def conda_init_files(shells: Sequence[str], home: str, env: Mapping[str, str]) -> list[str]:
    """Where ``conda init`` puts its blocks for these shells (conda-facts §7)."""
    zdot = env.get("ZDOTDIR") or home
    out: list[str] = []
    for shell in shells:
        if shell == "bash":
            out += [os.path.join(home, ".bashrc"), os.path.join(home, ".bash_profile")]
        elif shell == "zsh":
            out.append(os.path.join(zdot, ".zshrc"))
        elif shell == "sh":
            out.append(os.path.join(home, ".profile"))
        elif shell == "tcsh":
            out += [os.path.join(home, ".tcshrc"), os.path.join(home, ".cshrc")]
        elif shell == "fish":
            out.append(os.path.join(_fish_dir(home, env), "config.fish"))
    return list(dict.fromkeys(out))


def default_shells(
    login_shell: str | None,
    home: str,
    env: Mapping[str, str],
    exists: Callable[[str], bool] = _exists,
) -> list[str]:
    """The login shell plus every shell whose startup file already exists in the home."""
    chosen: list[str] = []
    if login_shell:
        name = SHELL_ALIASES.get(Path(login_shell).name.lstrip("-"))
        if name:
            chosen.append(name)
    zdot = env.get("ZDOTDIR") or home
    evidence = {
        "bash": [os.path.join(home, n) for n in (".bashrc", ".bash_profile", ".bash_login")],
        "zsh": [os.path.join(zdot, n) for n in (".zshrc", ".zprofile", ".zshenv")],
        "sh": [os.path.join(home, ".profile")],
        "tcsh": [os.path.join(home, ".tcshrc"), os.path.join(home, ".cshrc")],
        "fish": [_fish_dir(home, env)],
    }
    for shell in SHELLS:
        if shell not in chosen and any(exists(p) for p in evidence[shell]):
            chosen.append(shell)
    return chosen


# ---------------------------------------------------------------- plans


@dataclass
class FilePlan:
    """What happens to one file, and why."""

    edit: Edit
    dialect: str
    shells: tuple[str, ...]
    why: str
    conda_blocks: list[CondaBlock] = field(default_factory=list)


@dataclass
class InitPlan:
    """Every file edit of one ``init`` or ``--reverse`` run, plus what the user should know."""

    action: str  # "init" or "reverse"
    shells: list[str]
    files: list[FilePlan]
    notes: list[str] = field(default_factory=list)

    @property
    def edits(self) -> list[Edit]:
        return [f.edit for f in self.files]

    @property
    def changed(self) -> list[FilePlan]:
        return [f for f in self.files if f.edit.changed]

    @property
    def conda_blocks(self) -> list[CondaBlock]:
        return [b for f in self.files for b in f.conda_blocks]


def _text_state(path: str, reader: Reader) -> FileState:
    state = read_state(path, reader)
    check_text(path, state.data)
    return state


def existence(reader: Reader, home: str, env: Mapping[str, str]) -> Callable[[str], bool]:
    """An ``exists`` for :func:`targets_for` and :func:`default_shells` that asks the reader
    once for every startup file they may look at (one probe per directory when the home is on
    a share); UserFileError when the home does not answer."""
    zdot = env.get("ZDOTDIR") or home
    paths = [p for p, _ in all_known_files(home, env)]
    paths += [os.path.join(home, n) for n in (".bash_login", ".profile", ".tcshrc", ".cshrc")]
    paths += [os.path.join(zdot, n) for n in (".zshrc", ".zprofile", ".zshenv")]
    paths.append(_fish_dir(home, env))
    known = reader.exists_many(paths)

    def exists(path: str) -> bool:
        found = known.get(path)
        return reader.exists(path) if found is None else found

    return exists


def plan_init(
    site: Site,
    shells: Sequence[str],
    home: str,
    env: Mapping[str, str],
    timeout: float | None = None,
    replace_conda_init: bool = False,
    reader: Reader | None = None,
) -> InitPlan:
    """Plan writing the block for ``shells``; no file is touched. Raises Edit/StartupError
    (EditUnresponsive or UserFileError when the home's share does not answer)."""
    reader = reader or Reader.for_this_host(home=home)
    prefixes = [i.prefix for i in site.installations]
    plans: list[FilePlan] = []
    notes: list[str] = []
    handled: set[str] = set()
    exists = existence(reader, home, env)
    for target in targets_for(shells, home, env, exists):
        state = _text_state(target.path, reader)
        dialect = DIALECTS[target.dialect]

        def make(flags: Sequence[bytes], d: Dialect = dialect) -> bytes:
            return render_block(site, d, timeout, flags)

        def transform(old: bytes | None, path: str = target.path) -> bytes | None:
            new = install_block(old, make, path)
            return disable_conda_blocks(new) if replace_conda_init else new

        edit = plan_edit(target.path, transform, "add the condashare block", state)
        blocks = find_conda_blocks(state.data, target.path, prefixes)
        plans.append(FilePlan(edit, target.dialect, target.shells, target.why, blocks))
        handled.add(target.path)
    # conda init blocks in files that do not carry our block (e.g. .bash_profile on macOS)
    for path in conda_init_files(shells, home, env):
        if path in handled or not exists(path):
            continue
        state = _text_state(path, reader)
        blocks = find_conda_blocks(state.data, path, prefixes)
        if not blocks:
            continue
        transform2: Callable[[bytes | None], bytes | None] = (
            disable_conda_blocks if replace_conda_init else (lambda b: b)
        )
        edit = plan_edit(path, transform2, "disable conda initialize", state)
        plans.append(FilePlan(edit, "posix", (), "conda init writes here", blocks))
    active = [b for p in plans for b in p.conda_blocks if not b.disabled]
    if active and not replace_conda_init:
        notes.append(
            "found active conda/mamba initialize blocks: they run Python at every shell start "
            "and may pick another installation; --replace-conda-init disables them (reversibly)"
        )
    return InitPlan("init", list(shells), plans, notes)


def plan_reverse(
    home: str,
    env: Mapping[str, str],
    shells: Sequence[str] | None = None,
    reader: Reader | None = None,
) -> InitPlan:
    """Plan removing every condashare block and re-enabling disabled conda blocks."""
    reader = reader or Reader.for_this_host(home=home)
    if shells is None:
        files = all_known_files(home, env)
        chosen = list(SHELLS)
    else:
        exists = existence(reader, home, env)
        wanted = {t.path for t in targets_for(shells, home, env, exists)} | set(
            conda_init_files(shells, home, env)
        )
        files = [(p, d) for p, d in all_known_files(home, env) if p in wanted]
        chosen = list(shells)
    plans: list[FilePlan] = []
    present = reader.exists_many(p for p, _ in files)
    for path, dialect in files:
        if not present[path]:
            continue
        state = _text_state(path, reader)
        if state.data is None:
            continue

        def transform(old: bytes | None, p: str = path) -> bytes | None:
            return enable_conda_blocks(remove_block(old, p))

        edit = plan_edit(path, transform, "remove the condashare block", state)
        plans.append(FilePlan(edit, dialect, (), "", find_conda_blocks(state.data, path)))
    return InitPlan("reverse", chosen, plans, [])


def check_site_for_shells(site: Site) -> None:
    """Refuse prefixes no dialect can carry (line breaks, control characters)."""
    for inst in site.installations:
        reason = unsafe_path_reason(inst.prefix)
        if reason:
            raise StartupError(site.path or "--prefix", f"prefix {inst.prefix!r} {reason}")


__all__ = [
    "BEGIN",
    "END",
    "EditError",
    "InitPlan",
    "StartupError",
    "find_block",
    "install_block",
    "plan_init",
    "plan_reverse",
    "remove_block",
    "render_block",
]
