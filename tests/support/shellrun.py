"""Start real shells the way users do, against a site written for the test.

Shared by the shell-block tests: a fake ``uname`` first on PATH (the block takes the OS from it),
a site file, ``condashare init`` run as a user runs it, and startup files that put the fake
``uname`` first (login shells reset PATH in /etc/profile before the user's files run).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import need_shell, run_cli

from support.conda_shell import write_installation

SHELLS = ["bash", "zsh", "dash", "tcsh", "fish"]
NOISE = (
    "cannot set terminal process group",
    "no job control in this shell",
    "can't access tty",
    "Warning: no access to tty",
    "Thus no job control",
    "Could not set up terminal",
    "TERM environment variable not set",
    "fallback terminal type",
)
# What each shell prints for CONDASHARE_UNAVAILABLE (tcsh's echo fails on an unset variable).
SHOW_UNAVAILABLE = {
    "tcsh": "printenv CONDASHARE_UNAVAILABLE",
    "fish": "echo $CONDASHARE_UNAVAILABLE",
}


def show_unavailable(shell: str) -> str:
    return SHOW_UNAVAILABLE.get(shell, 'echo "$CONDASHARE_UNAVAILABLE"')


def make_installation(where: Path, label: str, seen: Path | None = None) -> None:
    """An installation's startup files at ``where``, naming the prefix the shells see (``seen``,
    the mount path when ``where`` is a FUSE share's backing dir)."""
    write_installation(where, str(seen or where), label)


# bash takes the platform from /proc/sys/kernel when the kernel's architecture is its own
# $HOSTTYPE; a bash built for another machine (as under qemu-user) asks uname: the fake one.
EMULATED = "emulated"


def fake_uname(bindir: Path, system: str, machine: str) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / "uname"
    script.write_text(
        "#!/bin/sh\n"
        f"s={system} m={machine} out=\n"
        'for a in "$@"; do case $a in -s) out="$out $s";; -m) out="$out $m";;'
        ' -sm|-ms) out="$out $s $m";; esac; done\n'
        '[ $# -eq 0 ] && out=" $s"\n'
        'echo "${out# }"\n'
    )
    script.chmod(0o755)
    return bindir


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_site(path: Path, installations: list[tuple[str, Path, str, str]], timeout: float) -> Path:
    parts = [f"[site]\nname = 'test'\nprobe_timeout = {timeout}\n"]
    for name, prefix, os_name, arch in installations:
        parts.append(
            f"[[installations]]\nname = {toml_str(name)}\nprefix = {toml_str(str(prefix))}\n"
            f"os = {toml_str(os_name)}\narch = [{toml_str(arch)}]\n"
        )
    path.write_text("".join(parts))
    return path


@dataclass
class Env:
    home: Path
    site: Path
    root: Path

    def env(self, bindir: Path | None = None, **extra: str) -> dict[str, str]:
        path = "/usr/bin:/bin"
        if bindir is not None:
            path = f"{bindir}:{path}"
        env = {"HOME": str(self.home), "PATH": path, "ENV": str(self.home / ".shinit")}
        if bindir is not None:
            env["FAKEBIN"] = str(bindir)
            env["HOSTTYPE"] = EMULATED
        env.update(extra)
        return env


def init(env: Env, *args: str) -> None:
    shinit = str(env.home / ".shinit")
    res = run_cli(
        "init", "--site", str(env.site), "--all-shells", *args,
        env={**os.environ, "ENV": shinit, "SHELL": "/bin/bash"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


def start(
    shell: str, mode: str, command: str, env: dict[str, str], timeout: float = 20
) -> tuple[int, str, str, float]:
    """Start a shell the way users do: interactive, login, or a plain command (non-interactive).

    stdout and stderr are pipes and communicate() waits for EOF on both, so a probe left
    holding the shell's descriptors would show up as a slow start (what ``ssh host cmd`` sees).
    """
    exe = need_shell(shell)
    stdin = subprocess.DEVNULL
    if shell == "tcsh" and mode in ("interactive", "login"):
        argv = [exe, "-i"] if mode == "interactive" else [exe, "-l"]
        stdin_data: bytes | None = (command + "\nexit\n").encode()
        stdin = subprocess.PIPE
    else:
        stdin_data = None
        flags = {
            ("bash", "interactive"): ["-i"],
            ("bash", "login"): ["-l"],
            ("zsh", "interactive"): ["-i"],
            ("zsh", "login"): ["-l", "-i"],
            ("dash", "interactive"): ["-i"],
            ("dash", "login"): ["-l"],
            ("fish", "interactive"): ["-i"],
            ("fish", "login"): ["-l"],
        }.get((shell, mode), [])
        argv = [exe, *flags, "-c", command]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        cwd=env["HOME"], start_new_session=True,
    )  # fmt: skip
    out, err = proc.communicate(stdin_data, timeout=timeout)
    elapsed = time.monotonic() - t0
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), elapsed


def clean_stderr(err: str) -> str:
    return "\n".join(ln for ln in err.splitlines() if not any(n in ln for n in NOISE)).strip()


def seed_startup_files(home: Path) -> None:
    """Existing startup files that put $FAKEBIN first on PATH (login shells reset PATH in
    /etc/profile, so the fake uname must be added by the user's own files, before the block)."""
    posix = '[ -n "${FAKEBIN-}" ] && PATH="$FAKEBIN:$PATH"\n'
    for name in (".bashrc", ".profile", ".zshrc", ".shinit"):
        (home / name).write_text(posix)
    (home / ".tcshrc").write_text('if ( $?FAKEBIN ) setenv PATH "${FAKEBIN}:${PATH}"\n')
    confd = home / ".config/fish/conf.d"
    confd.mkdir(parents=True, exist_ok=True)
    (confd / "00-fakebin.fish").write_text("set -q FAKEBIN; and set -gx PATH $FAKEBIN $PATH\n")
