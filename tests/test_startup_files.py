"""Startup-file edits: exact round trips, idempotence, refusals, symlinks, conda init blocks.

The property tests run the real text functions on a corpus hypothesis builds from pieces seen in
real startup files (CRLF, no final newline, conda init blocks, stray and half markers); the CLI
tests run `condashare init` as a subprocess against a sandboxed HOME.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import need_shell, run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from condashare import startup
from condashare.shells.dialects import DIALECTS
from condashare.site.file import Installation, Site
from condashare.startup import (
    BEGIN,
    END,
    StartupError,
    disable_conda_blocks,
    enable_conda_blocks,
    find_block,
    find_conda_blocks,
    install_block,
    remove_block,
    render_block,
)

SITE = Site(
    "t",
    2.0,
    (
        Installation("linux", "/nfs/cpkgs/anaconda3_linux", "linux", ("x86_64",)),
        Installation("mac", "/nfs/cpkgs/anaconda3_macOS", "macos", ()),
    ),
    "site.toml",
    "--site",
)

CONDA_BLOCK = (
    "# >>> conda initialize >>>\n"
    "# !! Contents within this block are managed by 'conda init' !!\n"
    "__conda_setup=\"$('/nfs/cpkgs/anaconda3_linux/bin/conda' 'shell.bash' 'hook' 2> /dev/null)\"\n"
    'if [ $? -eq 0 ]; then\n    eval "$__conda_setup"\nfi\nunset __conda_setup\n'
    "# <<< conda initialize <<<\n"
)
MAMBA_BLOCK = (
    "# >>> mamba initialize >>>\nexport MAMBA_ROOT_PREFIX=/x\n# <<< mamba initialize <<<\n"
)


def block_for(dialect: str):
    return lambda flags: render_block(SITE, dialect, None, flags)


def init_bytes(old: bytes | None, dialect: str = "posix") -> bytes:
    return install_block(old, block_for(dialect))


# ---------------------------------------------------------------- property-based corpus

PIECES = st.sampled_from(
    [
        "export PATH=$HOME/bin:$PATH\n",
        "alias ll='ls -l'\n",
        "# a comment with # >>> condashare >>> in the middle\n",
        'if [ "$(uname)" = Darwin ]; then\n'
        "  . /nfs/cpkgs/anaconda3_macOS/etc/profile.d/conda.sh\nfi\n",
        CONDA_BLOCK,
        MAMBA_BLOCK,
        "echo done",  # no newline
        "\n",
        "\r\n",
        "x=1\r\n",
        "# >>> condashare >>>\n",  # stray begin marker
        "# <<< condashare <<<\n",  # stray end marker
        "# >>> conda initialize >>>\n",  # half conda block
        "é ü 中 🚒\n",
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=8).map("".join),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")),
)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, exists=st.booleans())
def test_init_is_idempotent_and_reverse_restores_bytes(text: str, exists: bool) -> None:
    old = text.encode() if exists else None
    try:
        once = init_bytes(old)
    except StartupError:
        # refused: only when the file has stray/half/repeated markers
        lines = [ln.rstrip("\r") for ln in text.split("\n")]
        assert "# >>> condashare >>>" in lines or "# <<< condashare <<<" in lines
        return
    assert init_bytes(once) == once  # twice = once, byte for byte
    marker_lines = [ln for ln in once.split(b"\n") if ln.rstrip(b"\r") in (BEGIN, END)]
    assert marker_lines == [BEGIN, END]
    if old is not None and find_block(old) is not None:
        return  # a complete block already there is ours: replaced in place, removed on reverse
    assert remove_block(once) == old  # exactly the original, or absent again
    if old is not None:
        assert once.startswith(old)


C_BEGIN = "# >>> conda initialize >>>\n"
C_END = "# <<< conda initialize <<<\n"
M_BEGIN = "# >>> mamba initialize >>>\n"
M_END = "# <<< mamba initialize <<<\n"
NESTED = C_BEGIN + C_BEGIN + "x=1\n" + C_END + C_END  # found by hypothesis: left one active
OVERLAPPING = C_BEGIN + M_BEGIN + "x=1\n" + C_END + M_END  # lines disabled twice


@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
@example(text=NESTED)
@example(text=OVERLAPPING)
@example(text=C_BEGIN + CONDA_BLOCK + C_END)
def test_replace_conda_init_is_reversible(text: str) -> None:
    old = text.encode()
    try:
        new = disable_conda_blocks(init_bytes(old))
    except StartupError:
        return
    if find_block(old) is not None or any(b.disabled for b in find_conda_blocks(old)):
        return  # blocks condashare already owns are not part of the "original"
    assert new is not None
    assert not [b for b in find_conda_blocks(new) if not b.disabled]
    assert enable_conda_blocks(remove_block(new)) == old


def test_replace_conda_init_disables_every_line_of_the_block() -> None:
    old = ("x=1\r\n" + CONDA_BLOCK + "y=2").encode()
    new = disable_conda_blocks(old)
    assert new is not None
    blocks = find_conda_blocks(new, "f", ["/nfs/cpkgs/anaconda3_linux"])
    assert [(b.disabled, b.prefixes) for b in blocks] == [(True, ("/nfs/cpkgs/anaconda3_linux",))]
    for line in new.split(b"\n")[1:9]:
        assert line.startswith(startup.DISABLED_PREFIX)
    assert enable_conda_blocks(new) == old


@pytest.mark.parametrize("text", [NESTED, OVERLAPPING, C_BEGIN + C_BEGIN + C_END])
def test_nested_and_overlapping_conda_markers_disable_whole_and_come_back(text: str) -> None:
    """Markers pair like brackets: the outermost pair is one block, disabled line by line once."""
    old = text.encode()
    new = disable_conda_blocks(old)
    assert new is not None
    assert not [b for b in find_conda_blocks(new) if not b.disabled]
    assert [ln.count(startup.DISABLED_PREFIX) for ln in new.split(b"\n")[:-1]].count(2) == 0
    assert enable_conda_blocks(new) == old


def test_tangled_conda_markers_are_refused() -> None:
    """A stray disabled begin line would pair with a disabled end: refuse, change nothing."""
    old = (startup.DISABLED_PREFIX.decode() + C_BEGIN + M_BEGIN + C_END + M_END).encode()
    with pytest.raises(StartupError, match="cannot disable reversibly"):
        disable_conda_blocks(old, "f")


SHELL_LINES = st.sampled_from(
    [
        "export A=1\n",
        "alias g='git status'\n",
        "if true; then\n  B=2\nfi\n",
        CONDA_BLOCK,
        "# comment\n",
        "f() { echo hi; }\n",
        "x=1\r\n",
    ]
)


@pytest.mark.shells
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(SHELL_LINES, max_size=6), tail=st.sampled_from(["", "echo no-newline"]))
def test_result_still_parses_in_bash_zsh(lines: list[str], tail: str, tmp_path: Path) -> None:
    text = "".join(lines) + tail
    new = init_bytes(text.encode())
    f = tmp_path / "rc"
    f.write_bytes(new)
    for shell in ("bash", "zsh"):
        exe = need_shell(shell)
        res = subprocess.run([exe, "-n", str(f)], capture_output=True, timeout=20)
        assert res.returncode == 0, (shell, res.stderr, new)


@pytest.mark.shells
@pytest.mark.parametrize("prefix_text", ["", "set x = 1\n", "alias ll 'ls -l'\nset y = 2"])
def test_csh_and_fish_results_run(prefix_text: str, tmp_path: Path) -> None:
    tcsh, fish = need_shell("tcsh"), need_shell("fish")
    csh = tmp_path / "cshrc"
    csh.write_bytes(init_bytes(prefix_text.encode(), "csh"))
    res = subprocess.run(
        [tcsh, "-f", "-c", f"source {csh}"], capture_output=True, timeout=20,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert res.returncode == 0 and res.stdout == b"", res.stderr
    fishf = tmp_path / "c.fish"
    fish_text = prefix_text.replace("set x = 1", "set x 1").replace("set y = 2", "set y 2")
    fishf.write_bytes(init_bytes(fish_text.encode(), "fish"))
    assert subprocess.run([fish, "-n", str(fishf)], capture_output=True, timeout=20).returncode == 0


def test_half_and_repeated_markers_are_refused() -> None:
    for text in (
        b"# >>> condashare >>>\nx\n",
        b"x\n# <<< condashare <<<\n",
        b"# <<< condashare <<<\n# >>> condashare >>>\n",
        init_bytes(b"a\n") + init_bytes(b"b\n"),
    ):
        with pytest.raises(StartupError, match="incomplete or repeated"):
            init_bytes(text)


def test_existing_block_is_replaced_in_place_keeping_its_flags() -> None:
    old = b"a=1"  # no final newline: the block records the line break it adds
    first = init_bytes(old)
    mine = first + b"b=2\n"  # the user adds a line after the block
    other_site = Site("t", 5.0, SITE.installations[:1], "s", "--site")
    updated = install_block(mine, lambda flags: render_block(other_site, "posix", None, flags))
    assert updated.endswith(b"b=2\n") and b"_condashare_t='5'" in updated
    assert remove_block(updated) == b"a=1b=2\n"[:3] + b"b=2\n"


def test_prefix_with_newline_is_refused() -> None:
    bad = Site("t", 2.0, (Installation("x", "/a\nb", "linux"),), "s", "--site")
    with pytest.raises(StartupError, match="line break"):
        render_block(bad, "posix")


@pytest.mark.parametrize(
    ("dialect", "value"),
    [("posix", "a'b"), ("csh", "a'b!c"), ("fish", "a'b\\c")],
)
def test_each_dialect_quotes_round_trip(dialect: str, value: str, tmp_path: Path) -> None:
    """One quote() per dialect: the shell reads back exactly the value."""
    d = DIALECTS[dialect]
    quoted = d.quote(value + ' $HOME `x` "q" èрт🚒')
    expect = value + ' $HOME `x` "q" èрт🚒'
    script = tmp_path / "q"
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    if dialect == "posix":
        script.write_text(f"v={quoted}\nprintf '%s' \"$v\"\n")
        argv = [need_shell("dash"), str(script)]
    elif dialect == "csh":
        script.write_text(f"set v = {quoted}\nprintf '%s' \"$v\"\n")
        argv = [need_shell("tcsh"), "-f", str(script)]
    else:
        script.write_text(f"set v {quoted}\nprintf '%s' \"$v\"\n")
        argv = [need_shell("fish"), "--no-config", str(script)]
    res = subprocess.run(argv, capture_output=True, env=env, timeout=20)
    assert res.stdout.decode() == expect, res.stderr


# ---------------------------------------------------------------- CLI on a sandboxed HOME


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        "[site]\nprobe_timeout = 1.5\n"
        "[[installations]]\nname='linux'\nprefix='/nfs/cpkgs/anaconda3_linux'\nos='linux'\n"
        "[[installations]]\nname='mac'\nprefix='/nfs/cpkgs/anaconda3_macOS'\nos='macos'\n"
    )
    return path


def home() -> Path:
    return Path(os.environ["HOME"])


def snapshot(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "state"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if rel.startswith(".local/state"):
                continue
            out[rel] = "->" + os.readlink(p) if os.path.islink(p) else Path(p).read_bytes()
    return out


def cli(*args: str, shell: str = "/bin/bash"):
    return run_cli(*args, env={**os.environ, "SHELL": shell})


def test_init_then_reverse_restores_every_file(site_file: Path) -> None:
    h = home()
    (h / ".bashrc").write_bytes(b"alias a=b\r\nexport X=1")  # CRLF, no final newline
    (h / ".zshrc").write_bytes(b"")
    (h / ".cshrc").write_bytes(b"set x = 1\n")
    (h / "dotfiles").mkdir()
    (h / "dotfiles/profile").write_bytes(b"PATH=$HOME/bin:$PATH\n")
    (h / ".profile").symlink_to("dotfiles/profile")
    before = snapshot(h)
    res = cli("init", "--site", str(site_file), "--all-shells")
    assert res.returncode == 0, res.stderr
    after = snapshot(h)
    assert after != before
    assert (h / ".profile").is_symlink() and BEGIN in (h / "dotfiles/profile").read_bytes()
    assert (h / ".config/fish/conf.d/condashare.fish").exists()
    assert not (h / ".bash_profile").exists()
    again = cli("init", "--site", str(site_file), "--all-shells")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert snapshot(h) == after
    res = cli("init", "--reverse")
    assert res.returncode == 0, res.stderr
    assert snapshot(h) == before
    backups = list((h / ".local/state/condashare/backups").iterdir())
    assert backups, "the replaced versions are kept"


def test_dry_run_shows_diff_and_changes_nothing(site_file: Path) -> None:
    h = home()
    (h / ".bashrc").write_text("alias a=b\n")
    before = snapshot(h)
    res = cli("init", "--site", str(site_file), "--shell", "bash", "--dry-run")
    assert res.returncode == 0
    assert "+++ " + str(h / ".bashrc") in res.stdout and "+# >>> condashare >>>" in res.stdout
    assert "--- /dev/null" in res.stdout  # .profile would be created
    assert snapshot(h) == before


def test_bash_login_block_goes_where_bash_reads(site_file: Path) -> None:
    h = home()
    (h / ".bash_profile").write_text(". ~/.bashrc\n")
    (h / ".profile").write_text("# sh only\n")
    assert cli("init", "--site", str(site_file), "--shell", "bash").returncode == 0
    assert BEGIN in (h / ".bash_profile").read_bytes()
    assert (h / ".profile").read_text() == "# sh only\n"


def test_default_shells_are_login_shell_and_existing_files(site_file: Path) -> None:
    h = home()
    (h / ".tcshrc").write_text("set a = 1\n")
    res = cli("init", "--site", str(site_file), shell="/usr/bin/zsh")
    assert res.returncode == 0, res.stderr
    assert "Shells: zsh, tcsh" in res.stdout
    assert BEGIN in (h / ".zshrc").read_bytes() and BEGIN in (h / ".tcshrc").read_bytes()
    assert not (h / ".cshrc").exists() and not (h / ".bashrc").exists()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"\xff\xfe bad", 0o644, "not UTF-8"),
        (b"ELF\0\0\0", 0o644, "binary"),
        (b"alias a=b\n", 0o444, "read-only"),
        (b"# >>> condashare >>>\nhalf\n", 0o644, "incomplete"),
    ],
)
def test_unsafe_files_are_refused_and_nothing_changes(
    site_file: Path, content: bytes, mode: int, message: str
) -> None:
    h = home()
    (h / ".profile").write_text("keep\n")
    rc = h / ".bashrc"
    rc.write_bytes(content)
    rc.chmod(mode)
    before = snapshot(h)
    res = cli("init", "--site", str(site_file), "--shell", "bash")
    assert res.returncode == 2
    assert message in res.stderr and "nothing was changed" in res.stderr
    assert snapshot(h) == before


def test_mode_and_symlink_kept(site_file: Path) -> None:
    h = home()
    target = h / "dots/bashrc"
    target.parent.mkdir()
    target.write_text("a=1\n")
    target.chmod(0o600)
    (h / ".bashrc").symlink_to(target)
    assert cli("init", "--site", str(site_file), "--shell", "bash").returncode == 0
    assert (h / ".bashrc").is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert BEGIN in target.read_bytes()


def test_conda_init_reported_then_replaced_and_restored(site_file: Path) -> None:
    h = home()
    original = ("x=1\n" + CONDA_BLOCK).encode()
    (h / ".bash_profile").write_bytes(original)  # macOS-style conda init
    (h / ".bashrc").write_text("y=2\n")
    res = cli("init", "--site", str(site_file), "--shell", "bash")
    assert "'conda initialize' block at lines 2-9" in res.stdout
    assert "uses /nfs/cpkgs/anaconda3_linux" in res.stdout and "--replace-conda-init" in res.stdout
    assert b"# [condashare-disabled]" not in (h / ".bash_profile").read_bytes()
    res = cli("init", "--site", str(site_file), "--shell", "bash", "--replace-conda-init")
    assert res.returncode == 0
    data = (h / ".bash_profile").read_bytes()
    assert b"\n# [condashare-disabled] # >>> conda initialize >>>\n" in data
    bash = shutil.which("bash")
    if bash:
        ok = subprocess.run([bash, "-n", str(h / ".bash_profile")], capture_output=True)
        assert ok.returncode == 0
    assert cli("init", "--reverse").returncode == 0
    assert (h / ".bash_profile").read_bytes() == original
    assert (h / ".bashrc").read_text() == "y=2\n"


def test_concurrent_inits_leave_exactly_one_block(site_file: Path) -> None:
    import sys

    h = home()
    (h / ".bashrc").write_text("a=1\n")
    env = {**os.environ, "SHELL": "/bin/bash", "PYTHONPATH": str(Path(__file__).parents[1])}
    args = [sys.executable, "-m", "condashare", "init", "--site", str(site_file), "--shell", "bash"]
    procs = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for p in procs:
        p.communicate(timeout=60)
        assert p.returncode == 0
    data = (h / ".bashrc").read_bytes()
    assert data.count(BEGIN) == 1 and data.count(END) == 1


def test_no_site_file_is_a_configuration_error() -> None:
    res = cli("init", "--shell", "bash")
    assert res.returncode == 2 and "no site file found" in res.stderr


def test_prefix_option_and_probe_timeout(tmp_path: Path) -> None:
    h = home()
    res = cli("init", "--prefix", "/opt/conda", "--shell", "sh", "--probe-timeout", "0.25")
    assert res.returncode == 0, res.stderr
    data = (h / ".local/state/condashare/startup/posix.sh").read_bytes()  # the short form's code
    assert b"_condashare_p='/opt/conda'" in data and b"_condashare_t='0.25'" in data
    res = cli("init", "--prefix", "/opt/conda", "--shell", "sh", "--form", "full")
    data = (h / ".profile").read_bytes()
    assert b"_condashare_p='/opt/conda'" in data and b"_condashare_t=" in data


def test_reverse_without_blocks_changes_nothing() -> None:
    h = home()
    (h / ".bashrc").write_text("a=1\n")
    res = cli("init", "--reverse")
    assert res.returncode == 0 and "nothing to change" in res.stdout
    assert (h / ".bashrc").read_text() == "a=1\n"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.one_of(st.none(), TEXTS), min_size=3, max_size=3),
    linked=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_plan_apply_reverse_on_real_files(
    texts: list[str | None], linked: list[bool], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Library round trip on disk: files present or absent, plain or symlinked (dotfile
    managers), any content; init twice = once; reverse = the original bytes and links."""
    from condashare.files.write import EditError, apply_edits

    home = tmp_path_factory.mktemp("h")
    (home / "dots").mkdir()
    names = [".bashrc", ".profile", ".zshrc"]
    for name, text, link in zip(names, texts, linked, strict=True):
        if text is None:
            continue
        target = home / "dots" / name if link else home / name
        target.write_bytes(text.encode())
        if link:
            (home / name).symlink_to(target)
    before = snapshot(home)
    env: dict[str, str] = {}
    try:
        plan = startup.plan_init(SITE, ["bash", "zsh"], str(home), env)
    except (StartupError, EditError):
        assert snapshot(home) == before
        return
    apply_edits(plan.edits)
    once = snapshot(home)
    assert not startup.plan_init(SITE, ["bash", "zsh"], str(home), env).changed
    if any(t is not None and find_block(t.encode()) is not None for t in texts):
        return  # a block already present is ours and goes away on reverse
    apply_edits(startup.plan_reverse(str(home), env).edits)
    assert snapshot(home) == before
    assert once != before
