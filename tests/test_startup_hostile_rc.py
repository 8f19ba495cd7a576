"""The block in real shells whose user files are hostile to it: aliases and functions named
like the commands (and reserved words) the block uses, and a ``.tcshrc`` that sets ``prompt``
for every shell (non-interactive shells must stay silent)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest
from conftest import FuseShare, need_shell
from support.conda_shell import write_installation

from condashare.site.file import Installation, Site, parse_site
from condashare.startup import render_block

pytestmark = pytest.mark.shells

# Words the sh block uses. Reserved words can only be aliases; dash cannot define functions
# named like special builtins (eval, unset, export ...), and those stay out of the function list.
ALIAS_WORDS = [
    "read",
    "case",
    "if",
    "then",
    "fi",
    "esac",
    "while",
    "do",
    "done",
    "unset",
    "printf",
    "eval",
    "exec",
    "test",
    "awk",
    "sed",
    "uname",
    "command",
    "builtin",
    "shopt",
    "setopt",
    "unsetopt",
    "break",
    "sleep",
    "for",
    "getconf",
    "mkdir",
    "touch",
]
FUNCTION_WORDS = [
    "read",
    "printf",
    "test",
    "awk",
    "uname",
    "shopt",
    "setopt",
    "unsetopt",
    "sed",
    "sleep",
    "getconf",
    "mkdir",
    "touch",
]


def site_at(prefix: Path, seen: Path | None = None) -> Site:
    write_installation(prefix, str(seen or prefix), "x")
    inst = Installation("x", str(seen or prefix), "linux", (platform.machine(),))
    return Site("t", 3.0, (inst,), "site.toml", "--site")


def hostile_rc(kind: str, site: Site) -> bytes:
    if kind == "aliases":
        pre = "".join(f"alias {w}='echo HIJACKED-{w} >&2; false'\n" for w in ALIAS_WORDS)
    else:
        pre = "".join(f"{w}() {{ echo HIJACKED-{w} >&2; return 1; }}\n" for w in FUNCTION_WORDS)
    return pre.encode() + render_block(site, "posix")


def interactive(shell: str, rc: Path, home: Path) -> tuple[str, str]:
    """An interactive shell reading ``rc`` (bash/zsh source it, dash reads it as $ENV)."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "ENV": str(rc), "TERM": "dumb"}
    source = "" if shell == "dash" else f". {rc}; "
    script = source + 'echo "conda=$CONDA_EXE"; set | grep -c "^_condashare" || :'
    proc = subprocess.run(
        [need_shell(shell), "-i", "-c", script],
        capture_output=True, text=True, env=env, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return proc.stdout, proc.stderr


@pytest.mark.parametrize("kind", ["aliases", "functions"])
@pytest.mark.parametrize("shell", ["bash", "zsh", "dash"])
def test_user_aliases_and_functions_do_not_change_the_block(
    shell: str, kind: str, tmp_path: Path
) -> None:
    site = site_at(tmp_path / "inst")
    rc = tmp_path / "rc"
    rc.write_bytes(hostile_rc(kind, site))
    out, err = interactive(shell, rc, tmp_path)
    assert "HIJACKED" not in err
    assert out == f"conda={site.installations[0].prefix}/bin/conda\n0\n", err


@pytest.mark.parametrize("kind", ["aliases", "functions"])
@pytest.mark.parametrize("shell", ["bash", "zsh", "dash"])
def test_hostile_rc_with_match_rules_and_the_facts_cache(
    shell: str, kind: str, tmp_path: Path
) -> None:
    """A site whose first installation's CPU and glibc rules hold on this machine: the block
    reads both facts and writes its facts cache (first start), then uses it (second start),
    with break, for, getconf, mkdir and touch taken by the user too."""
    if platform.machine() != "x86_64":
        pytest.skip("the CPU rule is an x86-64 level")
    text = "".join(
        f'[[installations]]\nname = "{name}"\nprefix = "{tmp_path / name}"\nos = "linux"\n{rule}'
        for name, rule in [
            ("fast", 'match = { cpu = "x86-64-v2", glibc = "2.17" }\n'),
            ("plain", ""),
        ]
    )
    site = parse_site(text, "site.toml")
    for inst in site.installations:
        write_installation(Path(inst.prefix), inst.prefix, inst.name)
    rc = tmp_path / "rc"
    rc.write_bytes(hostile_rc(kind, site))
    for _ in range(2):
        out, err = interactive(shell, rc, tmp_path)
        assert "HIJACKED" not in err
        assert out == f"conda={tmp_path}/fast/bin/conda\n0\n", err
    cached = list((tmp_path / ".cache" / "condashare" / "hosts").glob("*/machine-facts"))
    assert len(cached) == 1 and "glibc " in cached[0].read_text()


@pytest.mark.fuse
@pytest.mark.parametrize("kind", ["aliases", "functions"])
@pytest.mark.parametrize("shell", ["bash", "zsh", "dash"])
def test_hostile_rc_on_the_probe_path(
    shell: str, kind: str, fuse_share: FuseShare, tmp_path: Path
) -> None:
    """The installation on a share: the probe (read -t in bash/zsh, the race in dash) runs."""
    site = site_at(fuse_share.backing / "inst", fuse_share.mount / "inst")
    rc = tmp_path / "rc"
    rc.write_bytes(hostile_rc(kind, site))
    out, err = interactive(shell, rc, tmp_path)
    assert "HIJACKED" not in err
    assert out == f"conda={site.installations[0].prefix}/bin/conda\n0\n", err


def test_tcsh_is_silent_when_not_interactive_although_tcshrc_sets_prompt(tmp_path: Path) -> None:
    """Many .tcshrc files set prompt for every shell; `tcsh -c cmd` (scp, ssh host cmd) must
    print nothing, while an interactive tcsh still says why conda is missing."""
    tcsh = need_shell("tcsh")
    missing = Site(
        "t",
        1.0,
        (Installation("x", str(tmp_path / "gone"), "linux", (platform.machine(),)),),
        "site.toml",
        "--site",
    )
    (tmp_path / ".tcshrc").write_bytes(b'set prompt = "%n@%m> "\n' + render_block(missing, "csh"))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    quiet = subprocess.run(
        [tcsh, "-c", "echo done"], capture_output=True, text=True, env=env, timeout=30
    )
    assert (quiet.stdout, quiet.stderr) == ("done\n", "")
    loud = subprocess.run(
        [tcsh, "-i"], input="exit\n", capture_output=True, text=True, env=env, timeout=30
    )
    assert "condashare: shared conda" in loud.stderr and "is missing" in loud.stderr


def test_fish_functions_and_a_tcsh_alias_do_not_change_the_block(tmp_path: Path) -> None:
    """fish: functions named uname, source or printf; tcsh: an alias of uname. (tcsh cannot
    bypass an alias of a builtin such as set: it has no `builtin`, and a quoted builtin is not
    found; neither can conda.csh.)"""
    site = site_at(tmp_path / "inst")
    want = f"{site.installations[0].prefix}/bin/conda"
    funcs = "".join(
        f"function {n}; echo HIJACKED-{n} >&2; end\n" for n in ("uname", "source", "printf")
    )
    rc = tmp_path / "rc.fish"
    rc.write_bytes(funcs.encode() + render_block(site, "fish"))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    fish = subprocess.run(
        [need_shell("fish"), "-c", f"builtin source {rc}; echo $CONDA_EXE"],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert (fish.stdout, "HIJACKED" in fish.stderr) == (want + "\n", False), fish.stderr
    (tmp_path / ".tcshrc").write_bytes(
        b"alias uname 'echo HIJACKED-uname'\n" + render_block(site, "csh")
    )
    tcsh = subprocess.run(
        [need_shell("tcsh"), "-c", "printenv CONDA_EXE"],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert (tcsh.stdout, tcsh.stderr) == (want + "\n", "")
