"""Shell startup files: managed blocks, `conda init` leftovers, output and start-up time.

Files are read through the one reader of user files (regular files only, a size cap, through
the probe when the home is on a share); ``startup.files`` reports any it refused. Shells are
run in an abandonable child with a deadline (a startup file that touches a dead share makes the
shell hang, which is exactly what the start-time check must survive).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from condashare.bounded.commands import run_command
from condashare.doctor.checks._util import (
    UNRESPONSIVE,
    error,
    info,
    ok,
    warning,
)
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.errors import Unresponsive
from condashare.files.read import FileRead, ReadStatus
from condashare.host import dirs
from condashare.host.detect import shell_name
from condashare.pathtext import within
from condashare.render import shell_word
from condashare.shells.records import SHELLS, Home, Shell, ShellName, lookup
from condashare.startup.blocks import block_text, marker_lines, render_block, split_lines
from condashare.startup.conda_blocks import find_conda_blocks
from condashare.startup.plan import targets_for
from condashare.startup.shelltext import interactive_guard
from condashare.startup.short import CodeDir, code_lines, is_short, managed_text, render_short
from condashare.wording import seconds_text

SLOW_START = 1.0  # seconds: a shell that takes longer to start is noticeably slow
SHELL_TIMEOUT = 6.0  # seconds before a shell start counts as hanging


@dataclass(frozen=True)
class StartupFile:
    path: str
    shells: tuple[ShellName, ...]
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def candidate_files(ctx: Context) -> list[tuple[str, tuple[ShellName, ...]]]:
    """Every startup file a known shell reads, with the shells that read it (the records)."""
    home = Home(ctx.home, ctx.env)
    readers: dict[str, list[ShellName]] = {}
    for shell in SHELLS:
        for path in shell.reads(home):
            readers.setdefault(path, []).append(shell.name)
    return [(path, tuple(names)) for path, names in readers.items()]


class HomeUnresponsive(Unresponsive):
    """The home's share stopped answering while startup files were read."""


def read_startup_files(ctx: Context) -> list[StartupFile]:
    """The startup files that exist, read once (together: one probe round on a share)."""
    key = "startup_files"
    if key in ctx.extra:
        cached: list[StartupFile] = ctx.extra[key]
        return cached
    candidates = candidate_files(ctx)
    results = ctx.reader.read_many(path for path, _ in candidates)
    unreadable = [r for r in results.values() if r.status in (ReadStatus.REFUSED, ReadStatus.ERROR)]
    dead = next((r for r in results.values() if r.status is ReadStatus.UNRESPONSIVE), None)
    if dead is not None:
        raise HomeUnresponsive(dead.message)
    files = []
    for path, shells in candidates:
        data = results[path].data
        if results[path].ok and data is not None:
            files.append(StartupFile(path, shells, data))
    ctx.extra[key] = files
    ctx.extra[key + ".unreadable"] = unreadable
    return files


def check_files(ctx: Context) -> list[Finding]:
    """Startup files condashare refused or could not read: a shell reading them may hang too."""
    cid = "startup.files"
    try:
        read_startup_files(ctx)
    except HomeUnresponsive as exc:
        return _unresponsive(cid, exc)
    unreadable: list[FileRead] = ctx.extra.get("startup_files.unreadable", [])
    findings = [
        error(
            cid,
            f"{r.path} {r.reason}",
            "Shells read this file at every start: a FIFO makes them wait for a writer, a "
            "device such as /dev/zero never ends, a symlink loop or a directory makes them fail. "
            "condashare did not read it, so the other startup checks leave it out.",
            # the real path, quoted to paste; mv keeps what was there (a directory, a link)
            f"Move it aside and start an empty file: `mv {shell_word(r.path)} "
            f"{shell_word(r.path + '.broken')} && touch {shell_word(r.path)}`.",
            file=r.path,
            status=r.status.value,
        )
        for r in unreadable
        if r.status is ReadStatus.REFUSED
    ]
    findings += [
        warning(cid, f"{r.path}: {r.reason}", "condashare could not check this file.", file=r.path)
        for r in unreadable
        if r.status is ReadStatus.ERROR
    ]
    return findings or [ok(cid, "startup files are regular, readable files")]


def _unresponsive(cid: str, exc: HomeUnresponsive) -> list[Finding]:
    return [
        error(
            cid,
            f"cannot read startup files: {exc}",
            "The home directory's share is not answering.",
            "See condashare doctor mount.responsive.",
        )
    ]


def _login_shell(ctx: Context) -> str:
    return shell_name(ctx.host.login_shell) or "sh"


def _login_record(ctx: Context) -> Shell | None:
    return lookup(_login_shell(ctx))


_TIMEOUT_RE = re.compile(r"_CONDASHARE_T(?:=|\s+)'?([0-9.]+)", re.IGNORECASE)


def _drifted(installed: bytes, render: Callable[[float | None], bytes]) -> bool:
    """Does ``installed`` differ from what ``render`` gives now? Rendered with the probe timeout
    found in it (so an ``init --probe-timeout`` choice is not mistaken for drift); comment
    lines (markers, info, flags, header) aside."""
    text = installed.decode("utf-8", "replace")
    found = _TIMEOUT_RE.search(text)
    fresh = render(float(found.group(1)) if found else None).decode("utf-8")

    def code(block: str) -> list[str]:
        return [ln.rstrip("\r") for ln in block.splitlines() if not ln.startswith("# ")]

    return code(text) != code(fresh)


def block_is_current(
    ctx: Context, shell: Shell, files: list[StartupFile]
) -> tuple[list[str], list[str]]:
    """Files whose condashare block differs from what ``condashare init`` would write now, and
    the managed files a short block sources that are missing.

    The block (for the short form: its line, and the managed file it sources) is re-rendered
    from today's site file.
    """
    if ctx.site is None:
        return [], []
    site = ctx.site
    data = {f.path: f.data for f in files}
    code = CodeDir(dirs.startup_code_dir(ctx.env), ctx.home)
    stale: list[str] = []
    missing: list[str] = []
    for target in targets_for([shell.name], ctx.home, ctx.env):
        block = block_text(data.get(target.path, b""))
        if block is None:
            continue
        d = target.dialect
        if not is_short(block):
            if _drifted(block, partial(render_block, site, d)):
                stale.append(target.path)
            continue
        if code.refuse_reason(ctx.mounts) or code_lines(block) != code_lines(render_short(d, code)):
            stale.append(target.path)  # it sources another place than init would now
            continue
        managed = ctx.reader.read(code.file(d))
        if managed.status is ReadStatus.MISSING:
            missing.append(code.file(d))
        elif (
            managed.ok
            and managed.data is not None
            and _drifted(managed.data, partial(managed_text, site, d))
        ):
            stale.append(code.file(d))
    return list(dict.fromkeys(stale)), list(dict.fromkeys(missing))


def _after_guard(data: bytes) -> bool:
    """Is the block after an early ``return`` for non-interactive shells (Debian's .bashrc)?"""
    lines = split_lines(data)
    guard = interactive_guard(lines)
    begins, _ = marker_lines(data)
    return guard is not None and bool(begins) and begins[0] > guard


def condashare_block_status(ctx: Context, files: list[StartupFile]) -> list[Finding]:
    """Is the ``condashare init`` block present for the login shell, and does it match the site?"""
    cid = "startup.condashare_block"
    record = _login_record(ctx)
    shell = record.name if record else _login_shell(ctx)
    mine = [f for f in files if record and record.name in f.shells and marker_lines(f.data)[0]]
    if record and mine:
        where = ", ".join(f.path for f in mine)
        stale, missing = block_is_current(ctx, record, files)
        if missing:
            return [
                warning(
                    cid,
                    f"the condashare line in {where} sources {', '.join(missing)}, which is "
                    "missing",
                    "The short form of the block runs the code condashare keeps in that file; "
                    "without it new shells start without the shared conda.",
                    "Run: condashare init   (it writes the file again)",
                    files=missing,
                )
            ]
        if stale:
            return [
                warning(
                    cid,
                    f"the condashare block in {', '.join(stale)} is out of date",
                    "The site file changed since `condashare init` wrote it (installations "
                    "added, moved or removed), so new shells may pick the wrong installation.",
                    "Run: condashare init   (it replaces the block in place)",
                    files=stale,
                )
            ]
        late = [f.path for f in mine if record.dialect == "posix" and _after_guard(f.data)]
        if late:
            return [
                warning(
                    cid,
                    f"the condashare block in {', '.join(late)} comes after an early `return` "
                    "for non-interactive shells",
                    "The file stops there when the shell is not interactive, so `ssh host cmd`, "
                    "scp, rsync and batch jobs that start bash never get the shared conda.",
                    "Run: condashare init   (it moves the block before that line)",
                    files=late,
                )
            ]
        return [
            ok(
                cid,
                f"condashare block present and current for {shell} in {where}",
                files=[f.path for f in mine],
            )
        ]
    if ctx.site is None:
        return [info(cid, f"no condashare block for {shell} (and no site file)")]
    return [
        warning(
            cid,
            f"no condashare block in the startup files of your shell ({shell})",
            "Without it, new shells do not pick the shared installation for this OS.",
            "Run: condashare init",
            shell=shell,
        )
    ]


def check_condashare_block(ctx: Context) -> list[Finding]:
    try:
        return condashare_block_status(ctx, read_startup_files(ctx))
    except HomeUnresponsive as exc:
        return _unresponsive("startup.condashare_block", exc)


def check_conda_init(ctx: Context) -> list[Finding]:
    cid = "startup.conda_init"
    try:
        files = read_startup_files(ctx)
    except HomeUnresponsive as exc:
        return _unresponsive(cid, exc)
    others = ctx.other_installations
    oses = {i.os for i in ctx.site.installations} if ctx.site else set()
    shared_home = ctx.is_remote(ctx.home) and len(oses) > 1
    findings: list[Finding] = []
    for sf in files:
        for block in find_conda_blocks(sf.data, sf.path):
            if block.disabled:
                continue
            prefixes = block.roots()
            label = block.label
            foreign = [(p, i) for p in prefixes for i in others if within(p, i.prefix)]
            if foreign:
                p, inst = foreign[0]
                findings.append(
                    error(
                        cid,
                        f"{sf.path}: a {label} block points at the {inst.os} installation",
                        f"It runs {p} (installation {inst.name!r} for {inst.os}) on this "
                        f"{ctx.host.os} host: shells fail with 'cannot execute binary file' or "
                        f"pick the wrong conda. {label} on the other OS wrote it into the "
                        "shared home.",
                        f"Remove the block (`conda init --reverse` on the {inst.os} machine, or "
                        "delete the lines between the markers), then run: condashare init",
                        file=sf.path,
                        prefix=p,
                    )
                )
            elif shared_home:
                findings.append(
                    warning(
                        cid,
                        f"{sf.path}: a {label} block hard-codes one installation",
                        "Your home is on a share used by several OSes (the site file has "
                        f"installations for {', '.join(sorted(oses))}), but this block always "
                        f"runs {', '.join(prefixes) or 'one conda'}: the other OS breaks. It also "
                        "starts Python at every shell start.",
                        "Replace it: condashare init --replace-conda-init (it disables the "
                        "block reversibly and picks the installation per OS).",
                        file=sf.path,
                        prefixes=prefixes,
                    )
                )
            else:
                findings.append(
                    info(
                        cid,
                        f"{sf.path}: {label} block for {', '.join(prefixes) or '?'}",
                        "It runs conda's Python hook at every shell start (slow on NFS).",
                        "Consider `condashare init`, which sources conda.sh directly.",
                        file=sf.path,
                        prefixes=prefixes,
                    )
                )
    return findings or [ok(cid, "no `conda init` or `mamba shell init` block in startup files")]


def check_duplicates(ctx: Context) -> list[Finding]:
    cid = "startup.duplicates"
    try:
        files = read_startup_files(ctx)
    except HomeUnresponsive as exc:
        return _unresponsive(cid, exc)
    findings: list[Finding] = []
    for sf in files:
        active = [b for b in find_conda_blocks(sf.data, sf.path) if not b.disabled]
        begins, ends = marker_lines(sf.data)
        n_mine = max(len(begins), len(ends))
        for label in dict.fromkeys(b.label for b in active):
            n_conda = sum(b.label == label for b in active)
            if n_conda < 2:
                continue
            findings.append(
                warning(
                    cid,
                    f"{sf.path}: {n_conda} {label} blocks",
                    "Each one starts conda again; the last one wins and start-up is slower.",
                    "Keep one (or none, with condashare init): delete the others between their "
                    "markers.",
                    file=sf.path,
                    count=n_conda,
                )
            )
        if n_mine > 1:
            findings.append(
                error(
                    cid,
                    f"{sf.path}: {n_mine} condashare blocks",
                    "The file was edited by hand or copied; condashare cannot update it safely.",
                    "Run `condashare init --reverse`, remove leftover blocks, then `condashare "
                    "init`.",
                    file=sf.path,
                    count=n_mine,
                )
            )
        if n_mine and active:
            label = active[0].label
            findings.append(
                warning(
                    cid,
                    f"{sf.path}: both a condashare block and a {label} block",
                    "Two set-ups fight: whichever runs last decides which conda you get.",
                    f"Remove the {label} block (or run: condashare init --replace-conda-init)",
                    file=sf.path,
                )
            )
    return findings or [ok(cid, "no duplicate or conflicting blocks")]


def check_bash_profile(ctx: Context) -> list[Finding]:
    cid = "startup.bash_profile"
    try:
        files = {os.path.basename(f.path): f for f in read_startup_files(ctx)}
    except HomeUnresponsive as exc:
        return _unresponsive(cid, exc)
    if ".profile" not in files:
        return [ok(cid, "no ~/.profile that bash could skip")]
    for name in (".bash_profile", ".bash_login"):
        if name in files:
            if re.search(r"(^|[\s./~])\.profile\b", files[name].text):
                return [ok(cid, f"~/{name} reads ~/.profile")]
            return [
                warning(
                    cid,
                    f"~/{name} hides ~/.profile from bash login shells",
                    f"bash reads only the first of ~/.bash_profile, ~/.bash_login, ~/.profile; "
                    f"~/{name} exists and does not source ~/.profile, so settings there "
                    "(often the shared conda set-up) are ignored by bash.",
                    f"Add to ~/{name}:  [ -f ~/.profile ] && . ~/.profile",
                    file=files[name].path,
                )
            ]
    return [ok(cid, "bash reads ~/.profile")]


def _shell_env(ctx: Context) -> dict[str, str]:
    env = dict(ctx.env)
    env["HOME"] = ctx.home
    env["TERM"] = "dumb"
    env.pop("BASH_ENV", None)
    return env


def _noninteractive_argv(shell: str, path: str, ctx: Context) -> tuple[list[str], dict[str, str]]:
    """How to start ``shell`` non-interactively the way ssh/scp do, reading its rc files."""
    env = _shell_env(ctx)
    if shell == "bash":
        # sshd's bash reads ~/.bashrc even without -i (scp, rsync, `ssh host cmd`). Source it
        # explicitly: BASH_ENV would be inherited by every bash the file itself starts.
        return [path, "-c", '[ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"; :'], env
    if shell in ("tcsh", "csh", "zsh", "fish"):
        return [path, "-c", ":" if shell != "fish" else "true"], env
    return [path, "-c", ":"], env


def _shell_path(ctx: Context) -> tuple[str, str | None]:
    shell = _login_shell(ctx)
    login = ctx.host.login_shell or ""
    path = (
        login if login and os.path.isabs(login) and os.path.exists(login) else shutil.which(shell)
    )
    return shell, path


def _not_startable(ctx: Context, cid: str, shell: str) -> list[Finding]:
    """Findings that say why ``shell`` is not started at all: its home does not answer, or a
    startup file it reads was refused (a FIFO would block it, /dev/zero would fill memory)."""
    try:
        read_startup_files(ctx)
    except HomeUnresponsive as exc:
        return _unresponsive(cid, exc)
    readers = dict(candidate_files(ctx))
    record = lookup(shell)
    unreadable: list[FileRead] = ctx.extra.get("startup_files.unreadable", [])
    bad = [r for r in unreadable if record and record.name in readers.get(r.path, ())]
    if not bad:
        return []
    why = "Starting it would read that file (see startup.files)."
    return [info(cid, f"{shell} not started: {bad[0].message}", why)]


def check_stdout(ctx: Context) -> list[Finding]:
    cid = "startup.stdout"
    shell, path = _shell_path(ctx)
    if path is None:
        return [info(cid, f"login shell {shell} not found; cannot test it")]
    if shell in ("sh", "dash"):
        return [ok(cid, f"{shell} reads no startup file when not interactive")]
    blocked = _not_startable(ctx, cid, shell)
    if blocked:
        return blocked
    argv, env = _noninteractive_argv(shell, path, ctx)
    res = run_command(argv, env, min(SHELL_TIMEOUT, ctx.timeout * 3))
    if res.status == UNRESPONSIVE:
        return [
            error(
                cid,
                f"non-interactive {shell} does not finish starting",
                f"`{' '.join(argv)}` did not finish in {seconds_text(res.seconds)}: a startup file "
                "waits for "
                "something (often a dead share). scp, rsync and `ssh host cmd` hang the same way.",
                "Guard share accesses in your startup files (condashare init does), and see "
                "condashare doctor mount.responsive.",
                shell=shell,
            )
        ]
    if res.stdout.strip():
        sample = res.stdout.decode("utf-8", "replace").strip().splitlines()[:3]
        return [
            error(
                cid,
                f"non-interactive {shell} prints to stdout",
                "A startup file writes text even when no one is reading: scp, rsync and sftp break "
                f"(they read it as protocol data). It printed: {' | '.join(sample)}",
                "Move the output into an interactive-only section, e.g. in bash: "
                "`case $- in *i*) echo ...;; esac`, or send it to stderr (>&2).",
                shell=shell,
                output=sample,
            )
        ]
    return [ok(cid, f"non-interactive {shell} prints nothing to stdout", shell=shell)]


def _interactive_argv(shell: str, path: str) -> list[str]:
    if shell in ("tcsh", "csh"):
        return [path, "-c", "exit"]
    return [path, "-i", "-c", "exit"]


def check_start_time(ctx: Context) -> list[Finding]:
    cid = "startup.start_time"
    shell, path = _shell_path(ctx)
    if path is None:
        return [info(cid, f"login shell {shell} not found; cannot time it")]
    blocked = _not_startable(ctx, cid, shell)
    if blocked:
        return blocked
    env = _shell_env(ctx)
    profile = os.path.join(ctx.home, ".profile")
    if shell in ("sh", "dash") and any(f.path == profile for f in read_startup_files(ctx)):
        env["ENV"] = profile
    argv = _interactive_argv(shell, path)
    limit = SHELL_TIMEOUT
    res = run_command(argv, env, limit)
    if res.status == "ok" and res.seconds < SLOW_START:
        second = run_command(argv, env, limit)  # best of two: the first may warm caches
        if second.status == "ok":
            res = min(res, second, key=lambda r: r.seconds)
    data = {"shell": shell, "seconds": round(res.seconds, 3)}
    if res.status == UNRESPONSIVE:
        return [
            error(
                cid,
                f"interactive {shell} did not start within {seconds_text(limit)}",
                "A startup file waits for something, usually a share that does not answer.",
                "Start a shell without startup files (`bash --norc`, `zsh -f`) and guard share "
                "accesses (condashare init does).",
                **data,
            )
        ]
    if res.status != "ok":
        return [info(cid, f"could not start {shell}: {res.stderr.decode(errors='replace')}")]
    if res.seconds >= SLOW_START:
        return [
            warning(
                cid,
                f"interactive {shell} takes {seconds_text(res.seconds)} to start",
                "A `conda init` block runs Python at every shell start (~0.6 s on local disk, much "
                "more on NFS); other slow commands in startup files add up.",
                "Replace `conda init` with `condashare init` (sources conda.sh, ~3 ms); time "
                f"your files with `{shell} -x -i -c exit`.",
                **data,
            )
        ]
    return [ok(cid, f"interactive {shell} starts in {seconds_text(res.seconds)}", **data)]


FILES = Check(
    "startup.files",
    "startup",
    "startup files are regular files",
    check_files,
    budget=5,
)
CONDASHARE_BLOCK = Check(
    "startup.condashare_block",
    "startup",
    "condashare block present",
    check_condashare_block,
    budget=5,
)
CONDA_INIT = Check(
    "startup.conda_init", "startup", "`conda init` blocks", check_conda_init, budget=5
)
DUPLICATES = Check("startup.duplicates", "startup", "duplicate blocks", check_duplicates, budget=5)
BASH_PROFILE = Check(
    "startup.bash_profile",
    "startup",
    "~/.bash_profile and ~/.profile",
    check_bash_profile,
    budget=5,
)
STDOUT = Check("startup.stdout", "startup", "quiet non-interactive shells", check_stdout, budget=10)
START_TIME = Check("startup.start_time", "startup", "shell start time", check_start_time, budget=15)
