"""The shells condashare knows, one record each: names, dialect, and the startup files it reads.

A record says which files the shell reads (always, when interactive, as a login shell), where
the condashare block goes, where ``conda init`` writes its block (conda-facts §7), and which
files show that the user uses the shell at all. Paths are relative to a :class:`Home`
(``$HOME``, ``$ZDOTDIR``, ``$XDG_CONFIG_HOME``, ``$ENV``), so every record is testable with any
home and environment passed in.

It also says which *system* file the shell reads for every user (``admin init-system``):
paths relative to a system root, or to fish's system config dir, which only fish can name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ShellName = Literal["bash", "zsh", "sh", "tcsh", "fish"]
DialectName = Literal["posix", "csh", "fish"]
Base = Literal["home", "zdot", "fish", "env"]


@dataclass(frozen=True)
class FileRef:
    """A startup file relative to one of the home's bases (``env`` is the file ``$ENV`` names)."""

    base: Base
    name: str = ""


@dataclass(frozen=True)
class Home:
    """The directories a shell's startup files live in, from a home and its environment."""

    home: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def zdot(self) -> str:
        return self.env.get("ZDOTDIR") or self.home

    @property
    def fish_dir(self) -> str:
        base = self.env.get("XDG_CONFIG_HOME") or os.path.join(self.home, ".config")
        return os.path.join(base, "fish")

    @property
    def env_file(self) -> str | None:
        """The file ``$ENV`` names, when it is an absolute path after ``~``/``$HOME``
        expansion (anything else would need the shell's own expansion)."""
        value = self.env.get("ENV", "")
        if not value:
            return None
        expanded = value.replace("${HOME}", self.home).replace("$HOME", self.home)
        if expanded.startswith("~/"):
            expanded = os.path.join(self.home, expanded[2:])
        if "$" in expanded or not expanded.startswith("/"):
            return None
        return expanded

    def path(self, ref: FileRef) -> str | None:
        if ref.base == "env":
            return self.env_file
        base = {"home": self.home, "zdot": self.zdot, "fish": self.fish_dir}[ref.base]
        return os.path.join(base, ref.name) if ref.name else base

    def paths(self, refs: Iterable[FileRef]) -> list[str]:
        out = (self.path(r) for r in refs)
        return list(dict.fromkeys(p for p in out if p is not None))


@dataclass(frozen=True)
class Placement:
    """Where the block goes for one way the shell starts: the first of ``choices`` that exists,
    else ``default``. ``why`` explains the choice (``{name}`` is the chosen file's name)."""

    choices: tuple[FileRef, ...]
    default: FileRef
    why: str
    why_default: str = ""

    def choose(self, home: Home, exists: Callable[[str], bool]) -> tuple[str, str] | None:
        for ref in self.choices:
            path = home.path(ref)
            if path is not None and exists(path):
                return path, self.why.format(name=os.path.basename(path))
        path = home.path(self.default)
        if path is None:
            return None
        return path, (self.why_default or self.why).format(name=os.path.basename(path))

    def candidates(self, home: Home) -> list[str]:
        return home.paths((*self.choices, self.default))


def _at(base: Base, *names: str) -> tuple[FileRef, ...]:
    return tuple(FileRef(base, n) for n in names)


def _fixed(ref: FileRef, why: str) -> Placement:
    return Placement((), ref, why)


SystemBase = Literal["root", "fish"]


@dataclass(frozen=True)
class SystemFile:
    """One choice of a system file for a shell, relative to ``base`` (the system's root, or
    fish's system config dir): taken when ``needs`` exists under the root (a directory when it
    ends in ``/``, else a regular file), always when ``needs`` is empty. ``why`` may name the
    file as ``{path}``."""

    path: str
    why: str
    needs: str = ""
    base: SystemBase = "root"


@dataclass(frozen=True)
class SystemPlacement:
    """Where the system-wide block goes for one way the shell starts: the first of ``choices``
    whose condition holds, or nowhere."""

    choices: tuple[SystemFile, ...]

    def choose(
        self, is_file: Callable[[str], bool], is_dir: Callable[[str], bool]
    ) -> SystemFile | None:
        """The chosen file; ``is_file``/``is_dir`` answer for root-relative paths."""
        for choice in self.choices:
            need = choice.needs
            if not need or (is_dir(need) if need.endswith("/") else is_file(need)):
                return choice
        return None


def _system(*choices: SystemFile) -> SystemPlacement:
    return SystemPlacement(choices)


@dataclass(frozen=True)
class Shell:
    """One shell: what it is called, how it quotes, and which startup files it reads."""

    name: ShellName
    aliases: tuple[str, ...]
    dialect: DialectName
    always: tuple[FileRef, ...]  # read by every instance, interactive or not
    interactive: tuple[FileRef, ...]  # read by interactive shells
    login: tuple[FileRef, ...]  # read by login shells
    block: tuple[Placement, ...]  # where condashare's block goes
    conda_init: tuple[FileRef, ...]  # where `conda init` writes its block
    evidence: tuple[FileRef, ...]  # any of these present: the user uses this shell
    leftovers: tuple[FileRef, ...] = ()  # other places an earlier init may have written
    system: tuple[SystemPlacement, ...] = ()  # where `admin init-system` puts the block

    def reads(self, home: Home) -> list[str]:
        """Every startup file this shell may read."""
        refs = (*self.always, *self.interactive, *self.login)
        return home.paths(refs) + [p for b in self.block for p in b.candidates(home)]

    def block_files(self, home: Home, exists: Callable[[str], bool]) -> list[tuple[str, str]]:
        """The files that carry the block for this shell, each with the reason."""
        chosen = (b.choose(home, exists) for b in self.block)
        return [c for c in chosen if c is not None]

    def conda_init_files(self, home: Home) -> list[str]:
        return home.paths(self.conda_init)

    def evidence_files(self, home: Home) -> list[str]:
        return home.paths(self.evidence)

    def known_files(self, home: Home) -> list[str]:
        """Every file ``init`` may have written for this shell (what ``--reverse`` scans)."""
        files = [p for b in self.block for p in b.candidates(home)]
        return list(dict.fromkeys(files + home.paths((*self.leftovers, *self.conda_init))))


_BASH_LOGIN = _at("home", ".bash_profile", ".bash_login", ".profile")
# /etc/profile sources /etc/profile.d/*.sh on Debian, Ubuntu, RHEL, SUSE and Arch.
_PROFILE_D = _system(
    SystemFile(
        "/etc/profile.d/condashare.sh",
        "login shells of sh, bash, dash and ksh source /etc/profile.d/*.sh",
    )
)
_SYS_BASHRC = "interactive bash that is not a login shell reads {path}"

SHELLS: tuple[Shell, ...] = (
    Shell(
        "bash",
        ("bash",),
        "posix",
        always=(),
        interactive=_at("home", ".bashrc"),
        login=_BASH_LOGIN,
        block=(
            _fixed(FileRef("home", ".bashrc"), "interactive bash reads .bashrc"),
            Placement(
                _BASH_LOGIN,
                FileRef("home", ".profile"),
                "bash login shells read {name} (the first of .bash_profile, .bash_login, "
                ".profile that exists)",
                "bash login shells read .profile when there is no .bash_profile/.bash_login "
                "(a new .bash_profile would hide .profile)",
            ),
        ),
        conda_init=_at("home", ".bashrc", ".bash_profile"),
        evidence=_at("home", ".bashrc", ".bash_profile", ".bash_login"),
        system=(
            _PROFILE_D,
            _system(  # Debian's, else RHEL's; only where the distribution has one
                SystemFile("/etc/bash.bashrc", _SYS_BASHRC, needs="/etc/bash.bashrc"),
                SystemFile("/etc/bashrc", _SYS_BASHRC, needs="/etc/bashrc"),
            ),
        ),
    ),
    Shell(
        "zsh",
        ("zsh",),
        "posix",
        always=_at("zdot", ".zshenv"),
        interactive=_at("zdot", ".zshrc"),
        login=_at("zdot", ".zprofile", ".zlogin"),
        block=(_fixed(FileRef("zdot", ".zshrc"), "interactive zsh reads .zshrc"),),
        conda_init=_at("zdot", ".zshrc"),
        evidence=_at("zdot", ".zshrc", ".zprofile", ".zshenv"),
        leftovers=_at("home", ".zshrc"),  # written before ZDOTDIR was set
        system=(
            _system(  # Debian's, else RHEL's and macOS's
                SystemFile("/etc/zsh/zshrc", "every interactive zsh reads {path}", "/etc/zsh/"),
                SystemFile("/etc/zshrc", "every interactive zsh reads {path}"),
            ),
        ),
    ),
    Shell(
        "sh",
        ("sh", "dash", "ksh"),
        "posix",
        always=(),
        interactive=(FileRef("env"),),
        login=_at("home", ".profile"),
        block=(
            _fixed(FileRef("home", ".profile"), "login sh/dash read .profile"),
            _fixed(FileRef("env"), "interactive sh/dash read $ENV"),
        ),
        conda_init=_at("home", ".profile"),
        evidence=_at("home", ".profile"),
        system=(_PROFILE_D,),
    ),
    Shell(
        "tcsh",
        ("tcsh", "csh"),
        "csh",
        always=_at("home", ".tcshrc", ".cshrc"),  # .tcshrc, else .cshrc
        interactive=(),
        login=_at("home", ".login"),
        block=(
            Placement(
                _at("home", ".tcshrc"),
                FileRef("home", ".cshrc"),
                "tcsh reads .tcshrc",
                "tcsh reads .cshrc (no .tcshrc)",
            ),
        ),
        conda_init=_at("home", ".tcshrc", ".cshrc"),
        evidence=_at("home", ".tcshrc", ".cshrc"),
        system=(
            _system(
                SystemFile(
                    "/etc/csh/cshrc.d/condashare.csh",
                    "every tcsh: /etc/csh.cshrc sources /etc/csh/cshrc.d",
                    "/etc/csh/cshrc.d/",
                ),
                SystemFile(
                    "/etc/profile.d/condashare.csh",
                    "every tcsh: csh.cshrc sources /etc/profile.d/*.csh",
                ),
            ),
        ),
    ),
    Shell(
        "fish",
        ("fish",),
        "fish",
        always=_at("fish", "config.fish"),  # and every conf.d/*.fish
        interactive=(),
        login=(),
        block=(
            _fixed(FileRef("fish", "conf.d/condashare.fish"), "fish runs every conf.d/*.fish file"),
        ),
        conda_init=_at("fish", "config.fish"),
        evidence=(FileRef("fish"),),
        system=(
            _system(
                SystemFile(
                    "conf.d/condashare.fish",
                    "fish runs the files in its system conf.d at every start",
                    base="fish",
                ),
            ),
        ),
    ),
)

_BY_NAME: dict[str, Shell] = {alias: s for s in SHELLS for alias in s.aliases}


def lookup(name: str | None) -> Shell | None:
    """The record for a shell name, alias or path (``/bin/dash``, ``-bash``); None if unknown."""
    if not name:
        return None
    return _BY_NAME.get(Path(name).name.lstrip("-"))


def shell_names() -> tuple[ShellName, ...]:
    return tuple(s.name for s in SHELLS)


def dialect_shells(dialect: DialectName) -> str:
    """The shells that run one dialect's code, for people: ``bash, zsh, sh, dash and ksh``."""
    names = [a for s in SHELLS if s.dialect == dialect for a in s.aliases]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def all_aliases() -> list[str]:
    """Every name a user may give for a shell (``--shell`` choices)."""
    return sorted(a for s in SHELLS for a in s.aliases)


def every_file(home: Home) -> list[str]:
    """Every startup file any record mentions (what to ask about existence in one round)."""
    out: list[str] = []
    for s in SHELLS:
        out += s.known_files(home) + s.reads(home) + s.evidence_files(home)
    return list(dict.fromkeys(out))
