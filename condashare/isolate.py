"""Run one command with the shared envs and package caches out of conda's view, changing no file.

conda merges list settings from every file and variable, so an entry cannot be removed by adding
a setting: the files that hold it must not be read. The child therefore gets:

- ``CONDA_ENVS_DIRS``/``CONDA_PKGS_DIRS`` without shared entries (and, for pkgs, an explicit
  list so conda's ``<root>/pkgs`` default of a shared conda is not used);
- for a user file that lists a shared dir: a temporary mirror of the directory conda reads it
  from, with a filtered copy of the file and symlinks to everything else. ``~/.condarc``,
  ``~/.conda/...`` and ``~/.config/conda/...`` need a mirrored ``HOME`` (only then is HOME
  changed; the user's own ``~/.conda/envs`` is named by its real path first so new envs get real
  prefixes); ``$XDG_CONFIG_HOME``, ``$CONDARC`` and ``$CONDA_ROOT`` (only the search path uses it)
  are pointed at mirrors the same way;
- with ``--fresh-pkgs``: an empty package cache in the temporary dir as the only cache.

What cannot be hidden (conda's ``<root>/envs`` default of the running conda, files in
``/etc/conda``, a site ``#!final``) is computed by running the effective view for the child's
environment and reported. The temporary dir is removed when the command ends, fails or is
interrupted.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from condashare.conda.condarc import (
    CONDARC_FILENAMES,
    ENV_DELIMITERS,
    KEYS,
    MAX_CONDARC_BYTES,
    CondaContext,
    CondarcError,
    CondarcFile,
    EffectiveView,
    compute_effective,
    insert_lines,
    item_line,
    listdir,
    locate_list,
    remove_items,
)
from condashare.files.read import UserFileError
from condashare.shared_envs.setup import Setup, is_managed, user_file
from condashare.wording import plural


@dataclass
class IsolationPlan:
    """The child's environment and what it does and does not hide."""

    env: dict[str, str]
    tmpdir: str
    hidden: list[str] = field(default_factory=list)
    not_hidden: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the child sees that hides nothing
    fresh_pkgs: str | None = None
    child_view: EffectiveView | None = None


_HOME_PREFIX = re.compile(r"^(~(?=/|$)|\$HOME(?=/|$)|\$\{HOME\}(?=/|$))")


def _filter_text(setup: Setup, text: str, path: str, drop_all_pkgs: bool) -> tuple[str, int]:
    """The file without shared entries, and with home-relative entries made absolute.

    The copy is read under a mirrored HOME, where ``~/work/envs`` would name the mirror; envs
    created there would get prefixes that vanish with it.
    """
    removed = 0
    home = setup.ctx.home.rstrip("/")
    for name in ("envs_dirs", "pkgs_dirs"):
        layout = locate_list(text, path, name)
        drop = [
            it.index
            for it in layout.items
            if (drop_all_pkgs and name == "pkgs_dirs") or is_managed(setup, it.value)
        ]
        if drop:
            text, gone = remove_items(text, path, name, drop)
            removed += len(gone)
        for it in locate_list(text, path, name).items:
            if not _HOME_PREFIX.match(it.value):
                continue
            real = _HOME_PREFIX.sub(lambda _m: home, it.value, count=1)
            text, _ = remove_items(text, path, name, [it.index])
            layout = locate_list(text, path, name)
            tag = f"#!{it.flag}" if it.flag else ""
            text = insert_lines(text, path, name, it.index, item_line(layout, real, tag), real)
    return text, removed


def _needs_filter(setup: Setup, f: CondarcFile, fresh: bool) -> bool:
    if f.status != "ok" or not isinstance(f.data, dict):
        return False
    for name in ("envs_dirs", "pkgs_dirs"):
        for key in KEYS[name]:
            value = f.data.get(key)
            if isinstance(value, list) and value:
                if fresh and name == "pkgs_dirs":
                    return True
                if any(isinstance(v, str) and is_managed(setup, v) for v in value):
                    return True
    return False


def _mirror_dir(ctx: CondaContext, real: str, shadow: str, replace_names: dict[str, str]) -> None:
    """``shadow`` gets a symlink to each entry of ``real`` except those in ``replace_names``."""
    Path(shadow).mkdir(parents=True, exist_ok=True)
    _, entries = listdir(ctx, real)
    for name, _kind in entries:
        if name in replace_names:
            continue
        with contextlib.suppress(FileExistsError):
            Path(shadow, name).symlink_to(posixpath.join(real, name))


def _build_mirror(
    setup: Setup, real_dir: str, shadow_dir: str, filtered: dict[str, str], levels: list[str]
) -> None:
    """Mirror ``real_dir`` into ``shadow_dir``, descending along ``levels`` to the condarc files.

    ``filtered`` maps real file paths to the filtered text to write in their place.
    """
    ctx = setup.ctx
    if not levels:
        replaced = {posixpath.basename(p) for p in filtered if posixpath.dirname(p) == real_dir}
        sub_dirs = {
            posixpath.relpath(p, real_dir).split("/")[0]
            for p in filtered
            if p.startswith(real_dir + "/") and posixpath.dirname(p) != real_dir
        }
        _mirror_dir(ctx, real_dir, shadow_dir, {n: "" for n in replaced | sub_dirs})
        for name in sorted(replaced):
            with open(posixpath.join(shadow_dir, name), "w", encoding="utf-8") as fh:
                fh.write(filtered[posixpath.join(real_dir, name)])
        for name in sorted(sub_dirs):  # condarc.d
            _build_mirror(
                setup,
                posixpath.join(real_dir, name),
                posixpath.join(shadow_dir, name),
                filtered,
                [],
            )
        return
    head, rest = levels[0], levels[1:]
    _mirror_dir(ctx, real_dir, shadow_dir, {head: ""})
    real_sub = posixpath.join(real_dir, head)
    if os.path.lexists(real_sub) or any(p.startswith(real_sub + "/") for p in filtered):
        _build_mirror(setup, real_sub, posixpath.join(shadow_dir, head), filtered, rest)


def plan_isolation(
    setup: Setup, fresh_pkgs: bool = False, tmp_parent: str | None = None
) -> IsolationPlan:
    """Build the child's environment (and the temporary mirrors it needs)."""
    ctx = setup.ctx
    view = compute_effective(ctx)
    tmpdir = tempfile.mkdtemp(prefix="condashare-isolate-", dir=tmp_parent)
    try:
        return _plan(setup, view, tmpdir, fresh_pkgs)
    except BaseException:
        cleanup(tmpdir)
        raise


def _plan(setup: Setup, view: EffectiveView, tmpdir: str, fresh: bool) -> IsolationPlan:
    ctx = setup.ctx
    env = dict(ctx.env)
    plan = IsolationPlan(env, tmpdir)
    home = ctx.home.rstrip("/")
    # 1. Files that list shared dirs (or, with --fresh-pkgs, any package cache).
    filtered: dict[str, str] = {}
    mirrored: set[str] = set()
    for f in view.files:
        if not _needs_filter(setup, f, fresh):
            continue
        real = ctx.absolute(f.path)
        if not user_file(setup, f.path, f.slot) and f.slot != "root":
            plan.not_hidden.append(
                f"{real}: a {f.slot} file; conda reads it whatever the environment says"
            )
            continue
        try:
            text = (ctx.reader.require(real, MAX_CONDARC_BYTES) or b"").decode("utf-8")
        except (UserFileError, UnicodeDecodeError) as exc:
            why = exc.result.reason if isinstance(exc, UserFileError) else "is not UTF-8 text"
            plan.not_hidden.append(f"{real}: {why}; not filtered")
            continue
        try:
            new_text, count = _filter_text(setup, text, real, fresh)
        except CondarcError as exc:
            plan.not_hidden.append(f"{exc}")
            continue
        filtered[real] = new_text
        plan.hidden.append(
            f"{real}: {plural(count, 'entry', 'entries')} left out "
            "(read from a temporary filtered copy)"
        )
    by_slot: dict[str, list[str]] = {}
    for f in view.files:
        real = ctx.absolute(f.path)
        if real in filtered:
            by_slot.setdefault(f.slot, []).append(real)
    xdg = ctx.env.get("XDG_CONFIG_HOME")
    home_files = {
        p: t
        for p, t in filtered.items()
        if p.startswith(home + "/") and not (xdg and p.startswith(xdg.rstrip("/") + "/conda/"))
    }
    if xdg and any(p.startswith(xdg.rstrip("/") + "/conda/") for p in filtered):
        shadow_xdg = posixpath.join(tmpdir, "xdg-config")
        _build_mirror(setup, xdg.rstrip("/"), shadow_xdg, filtered, ["conda"])
        env["XDG_CONFIG_HOME"] = shadow_xdg
        plan.hidden.append(f"XDG_CONFIG_HOME={shadow_xdg} (mirror of {xdg})")
    if "condarc" in by_slot:
        real = by_slot["condarc"][0]
        copy = posixpath.join(tmpdir, "condarc.yml")
        with open(copy, "w", encoding="utf-8") as fh:
            fh.write(filtered[real])
        env["CONDARC"] = copy
        home_files.pop(real, None)
    if "root" in by_slot:
        root_dir = posixpath.dirname(by_slot["root"][0])
        if root_dir.endswith("/condarc.d"):
            root_dir = posixpath.dirname(root_dir)
        shadow_root = posixpath.join(tmpdir, "conda-root")
        Path(shadow_root).mkdir(parents=True)
        for name in (*CONDARC_FILENAMES, "condarc.d"):
            real = posixpath.join(root_dir, name)
            if real in filtered:
                with open(posixpath.join(shadow_root, name), "w", encoding="utf-8") as fh:
                    fh.write(filtered[real])
            elif name == "condarc.d" and Path(real).is_dir():
                _build_mirror(setup, real, posixpath.join(shadow_root, name), filtered, [])
            elif os.path.lexists(real):
                Path(shadow_root, name).symlink_to(real)
        env["CONDA_ROOT"] = shadow_root  # only conda's search path reads it
        plan.hidden.append(f"CONDA_ROOT={shadow_root} (filtered copy of {root_dir}'s condarc)")
    if home_files:
        shadow_home = posixpath.join(tmpdir, "home")
        _mirror_home(setup, home, shadow_home, filtered)
        env["HOME"] = shadow_home
        mirrored.add("HOME")
        plan.hidden.append(
            f"HOME={shadow_home}: a mirror of {home} (symlinks) without the "
            "shared entries; new top-level files written to ~ are discarded"
        )
    # 2. Variables, with the user's own dirs named by their real paths first.
    envs_items = [home + "/.conda/envs"]
    envs_var = next((v for v in ("CONDA_ENVS_DIRS", "CONDA_ENVS_PATH") if v in env), None)
    if envs_var:
        raw = env.pop(envs_var)
        kept = [p for p in (x.strip() for x in raw.split(":")) if p]
        dropped = [p for p in kept if is_managed(setup, p)]
        envs_items += [p for p in kept if p not in dropped]
        if dropped:
            plan.hidden.append(f"{envs_var}: left out {', '.join(dropped)}")
    env["CONDA_ENVS_DIRS"] = ENV_DELIMITERS["envs_dirs"].join(dict.fromkeys(envs_items))
    if fresh:
        pkgs = posixpath.join(tmpdir, "pkgs")
        Path(pkgs).mkdir(parents=True)
        plan.fresh_pkgs = pkgs
        env["CONDA_PKGS_DIRS"] = pkgs
        plan.hidden.append(f"package caches: only the empty {pkgs} (removed afterwards)")
    else:
        own = [e.path for e in view.pkgs_dirs if e.installation is None]
        # under a mirrored HOME, name the caches by their real paths (records keep them)
        if len(own) != len(view.pkgs_dirs) or "HOME" in mirrored:
            if not own:
                own = [home + "/.conda/pkgs"]
            env["CONDA_PKGS_DIRS"] = ENV_DELIMITERS["pkgs_dirs"].join(own)
            shared_caches = [e.path for e in view.pkgs_dirs if e.installation is not None]
            if shared_caches:  # (a mirrored HOME alone hides no cache: say nothing then)
                plan.hidden.append("package caches: " + ", ".join(shared_caches))
    # 3. What the child's conda still sees.
    child_ctx = replace(ctx, env=env)
    child = compute_effective(child_ctx)
    plan.child_view = child
    for entry in (*child.envs_dirs, *child.pkgs_dirs):
        if entry.installation is None:
            continue
        if entry.source_kind == "default":
            why = (
                "conda always appends the running conda's <root>/envs (conda/conda#14696); "
                "run your own conda to hide it"
            )
        elif entry.source in child.finals.values():
            why = f"{entry.source} marks the key #!final"
        else:
            why = f"listed in {entry.source}"
        plan.not_hidden.append(f"{entry.path}: {why}")
    mirror_envs = [
        e.path
        for e in child.envs_dirs
        if e.source_kind == "default" and e.path.startswith(tmpdir + "/")
    ]
    if mirror_envs:  # conda's fixed ~/.conda/envs default, under the mirrored HOME
        plan.notes.append(
            f"conda also lists {mirror_envs[0]}, its fixed ~/.conda/envs default under the "
            f"mirrored HOME (conda/conda#14696): kept empty and removed afterwards; your own "
            f"envs are listed by their real path {home}/.conda/envs"
        )
    for key, source in child.finals.items():
        if not source.startswith(tmpdir) and not source.startswith("CONDA_"):
            plan.not_hidden.append(
                f"{key}: {source} marks it #!final, so CONDA_* variables cannot override it"
            )
    plan.not_hidden = list(dict.fromkeys(plan.not_hidden))
    return plan


def _mirror_home(setup: Setup, home: str, shadow: str, filtered: dict[str, str]) -> None:
    """Mirror HOME down to the condarc files that need filtered copies."""
    ctx = setup.ctx
    top: dict[str, str] = {}
    for path in filtered:
        if path.startswith(home + "/"):
            top[posixpath.relpath(path, home).split("/")[0]] = ""
    if os.path.isdir(posixpath.join(home, ".conda")):
        top[".conda"] = ""  # always a real dir here: its envs must not be seen twice (below)
    _mirror_dir(ctx, home, shadow, top)
    for name in top:
        real = posixpath.join(home, name)
        if real in filtered:
            with open(posixpath.join(shadow, name), "w", encoding="utf-8") as fh:
                fh.write(filtered[real])
        elif name == ".config":
            _build_mirror(setup, real, posixpath.join(shadow, name), filtered, ["conda"])
        else:  # .conda
            _build_mirror(setup, real, posixpath.join(shadow, name), filtered, [])
            # conda registers new envs here; a link (even dangling) sends that to the real file
            registry = Path(shadow, name, "environments.txt")
            if not registry.is_symlink():
                registry.symlink_to(posixpath.join(real, "environments.txt"))
            # conda always appends ~/.conda/envs, here the mirror's: through a link to the real
            # dir every env of yours would be listed twice (once by its real path, which
            # CONDA_ENVS_DIRS puts first). The mirror's stays empty instead.
            envs = Path(shadow, name, "envs")
            if envs.is_symlink():
                envs.unlink()


def cleanup(tmpdir: str) -> None:
    """Remove the temporary dir (symlinks are removed, never followed)."""

    def onerror(func: object, path: str, exc: BaseException) -> None:
        with contextlib.suppress(OSError):
            Path(path).parent.chmod(stat.S_IRWXU)
            Path(path).chmod(stat.S_IRWXU)
        with contextlib.suppress(OSError):
            if Path(path).is_dir() and not Path(path).is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                Path(path).unlink()

    if not os.path.lexists(tmpdir):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(tmpdir, onexc=onerror)
    else:
        shutil.rmtree(tmpdir, onerror=lambda f, p, e: onerror(f, p, e[1]))


def run_isolated(plan: IsolationPlan, argv: Sequence[str]) -> int:
    """Run ``argv`` in the plan's environment; the temp dir goes whatever happens.

    The command's exit code is returned (128+N when a signal N ended it). Interrupts from the
    terminal reach the command directly (same process group); we wait for it, then clean up.
    SIGTERM and SIGHUP sent to condashare are passed on to the command.
    """
    proc: subprocess.Popen[bytes] | None = None
    previous: dict[signal.Signals, object] = {}

    def forward(signum: int, _frame: FrameType | None) -> None:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signum)

    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, forward)
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            proc = subprocess.Popen(
                list(argv),
                env=plan.env,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        except FileNotFoundError:
            return 127
        except PermissionError:
            return 126
        while True:
            try:
                code = proc.wait()
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
        return 128 - code if code < 0 else code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        cleanup(plan.tmpdir)
