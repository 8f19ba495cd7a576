"""Names from the shared tree never reach a terminal raw (issue 12, terminal injection).

Anyone who can write the shared tree picks env, package and file names; anyone who can mount
picks mount points and sources. A name holding ``ESC ] 0 ; TITLE BEL`` would set the window
title of everyone who lists it, ``ESC [2J`` clear their screen, a newline fake a line such as
``[ok] all good``, and escapes would land inside the ``fix:`` commands users copy. These tests
put such names on disk in a real conda-format installation (tests/support/condatree.py) and on a
real FUSE mount, run the commands as a user does, and check what reaches the terminal: no raw
control or format character (only condashare's own colour codes with ``--color always``), the
names visibly escaped, fix commands that real bash and zsh read back byte for byte, and
``--json`` giving the exact names.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import unicodedata
from pathlib import Path

import pytest
from conftest import need_shell, run_cli, unmount_share
from hypothesis import given, settings
from hypothesis import strategies as st

from condashare import conda_plugin
from condashare.findings import Finding, Severity
from condashare.render import Output, json_text, shell_word, shown, text_lines

# name on disk -> how condashare shows it
HOSTILE = {
    "evil\x1b]0;TITLE\x07": "evil\\x1b]0;TITLE\\x07",  # sets the window title (OSC 0)
    "wipe\x1b[2J": "wipe\\x1b[2J",  # clears the screen (CSI 2 J)
    "nl\n[ok] all good": "nl\\n[ok] all good",  # fakes a line of its own
    "csi\x9b31m": "csi\\u009b31m",  # the C1 CSI as a character (UTF-8 c2 9b)
    "bidi\u202etxt.exe": "bidi\\u202etxt.exe",  # right-to-left override: shows "bidiexe.txt"
    os.fsdecode(b"raw\x9b31m"): "raw\\x9b31m",  # the one-byte CSI as it sits on disk (not UTF-8)
}
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
OWN_COLOURS = re.compile(r"\x1b\[(?:0|1|2|31|32|33|36)m")  # render._COLORS and _RESET


def raw_characters(text: str, colour: bool = False) -> list[str]:
    """Characters that would act on a terminal (newlines between lines are condashare's)."""
    if colour:
        text = OWN_COLOURS.sub("", text)
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in UNSAFE]


def assert_safe(text: str, colour: bool = False) -> None:
    assert raw_characters(text, colour) == [], text
    assert not any(line.strip().startswith("[ok] all good") for line in text.splitlines()), text


def add_env(envs: Path, good: Path, name: str) -> Path:
    """A real environment under a hostile name: a hardlinked copy of ``good`` (cheap, exact)."""
    dest = os.path.join(os.fsencode(envs), os.fsencode(name))
    subprocess.run([b"cp", b"-al", os.fsencode(good), dest], check=True)
    return envs / name


@pytest.fixture
def hostile_inst(inst: Path) -> Path:
    """The installation with one environment per hostile name next to ``envs/good``."""
    for name in HOSTILE:
        add_env(inst / "envs", inst / "envs" / "good", name)
    return inst


# --- the neutraliser on its own --------------------------------------------------------------

CONTROLS = [chr(c) for c in [*range(0x01, 0x20), 0x7F, *range(0x80, 0xA0)]]
FORMAT = [chr(c) for c in [0xAD, 0x61C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,
                           *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF,
                           0xE0001]]  # fmt: skip
SURROGATES = ["\udc80", "\udc9b", "\udcff", "\ud800"]


@pytest.mark.parametrize("char", CONTROLS + FORMAT + SURROGATES, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_and_format_character_is_shown_escaped(char: str) -> None:
    text = shown(f"a{char}b")
    assert text.startswith("a\\") and text.endswith("b")
    assert text.isascii() and text.isprintable()
    assert shown(text) == text  # showing twice changes nothing


def test_escapes_say_which_character_or_byte_it_was() -> None:
    assert shown("\t\n\r\x1b\x7f") == "\\t\\n\\r\\x1b\\x7f"
    assert shown("\x9b\u202e\U000e0001") == "\\u009b\\u202e\\U000e0001"
    assert shown(os.fsdecode(b"\x9b\xff")) == "\\x9b\\xff"  # undecodable bytes, not characters


@pytest.mark.parametrize("text", ["isis4.3.0", "/nfs/cpkgs/anaconda3_linux", "é中片 🚒 ♞", "a\\x1b",
                                  "nbsp\u00a0here", "private\ue000use", "'\";&&e-$`"])  # fmt: skip
def test_printable_text_is_left_alone(text: str) -> None:
    assert shown(text) == text
    assert shell_word(text) == shlex.quote(text)


def test_json_is_exact_and_has_no_raw_control_or_format_character() -> None:
    names = [*HOSTILE, "\x7f", "\u2028", "\U000e0001", "plain é"]
    text = json_text({"names": names})
    assert raw_characters(text) == []
    assert json.loads(text)["names"] == names
    assert "plain é" in text  # non-ASCII text stays readable


def test_output_writes_only_its_own_colour_codes() -> None:
    import io

    buf = io.StringIO()
    out = Output("always", stdout=buf, stderr=buf, env={})
    name = "evil\x1b]0;TITLE\x07\n[ok] all good"
    out.status("error", f"{name}: damaged")
    out.heading(name)
    out.field("mount", name)
    out.line("  ", out.paint(name, "bold"), name)
    out.block(f"first {shown(name)}\nsecond\tline\x0bstill second", "    ")
    out.warn(name)
    text = buf.getvalue()
    assert_safe(text, colour=True)
    assert "\x1b[31m[x]\x1b[0m evil\\x1b]0;TITLE\\x07\\n[ok] all good: damaged\n" in text
    assert "    second\\tline\\x0bstill second\n" in text  # \v does not break the line
    assert text.count("\n") == 7
    plain = io.StringIO()
    Output("never", stdout=plain, env={}).status("error", name)
    assert "\x1b" not in plain.getvalue()


def test_text_lines_breaks_at_newlines_only() -> None:
    assert text_lines("a\rb\x0bc\x1cd\x85e\u2028f\ng\n") == ["a\rb\x0bc\x1cd\x85e\u2028f", "g"]
    assert text_lines("") == [] and text_lines("\n") == [""]


# --- fix commands read back exactly by real shells -------------------------------------------


def shell_reads(shell: str, words: list[str]) -> list[bytes]:
    """What ``shell`` makes of the words as a user pastes them: each argument's bytes."""
    script = "printf '%s\\0' " + " ".join(words) + "\n"
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "HOME": os.environ["HOME"]}
    proc = subprocess.run([shell, "-c", script], capture_output=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(b"\0")[:-1]


NAMES = [*HOSTILE, *CONTROLS, *FORMAT, *SURROGATES[:3], 'it\'s \\ $HOME `id` "q" !x', "é"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "tcsh"])
def test_shell_words_paste_back_byte_for_byte(shell: str) -> None:
    path = need_shell(shell)
    # tcsh reads $'\xHH' as a character, not a byte (right for ASCII only), and expands ! even
    # inside single quotes: condashare's fix commands are sh syntax, it checks what tcsh can do
    names = [n for n in NAMES if shell != "tcsh" or (n.isascii() and "!" not in n)]
    words = [shell_word(f"/nfs/{name}/x") for name in names]
    assert all(raw_characters(w) == [] for w in words)
    assert shell_reads(path, words) == [os.fsencode(f"/nfs/{name}/x") for name in names]


def is_file_name(text: str) -> bool:
    """Whether os.fsdecode can give ``text`` (surrogates only from undecodable bytes)."""
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_characters="\x00", codec=None), min_size=1),
                min_size=1, max_size=8))  # fmt: skip
def test_any_name_pastes_back_byte_for_byte_in_bash(names: list[str]) -> None:
    names = [n for n in names if is_file_name(n)]
    words = [shell_word(n) for n in names]
    assert all(raw_characters(w) == [] for w in words)
    assert shell_reads(need_shell("bash"), words) == [os.fsencode(n) for n in names]


# --- the commands, on a real installation with hostile names ---------------------------------


def test_envs_shows_hostile_env_names_escaped_and_json_gives_them_exactly(
    hostile_inst: Path,
) -> None:
    res = run_cli("envs", "--prefix", str(hostile_inst))
    assert res.returncode == 0, res.stdout + res.stderr
    assert_safe(res.stdout)
    rows = [line for line in res.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == len(HOSTILE) + 1  # one row per env, however its name ends
    for seen in HOSTILE.values():
        (row,) = [r for r in rows if r.startswith(f"  {seen} ")]
        assert row.endswith(f"{hostile_inst}/envs/{seen}")
    coloured = run_cli("--color", "always", "envs", "--prefix", str(hostile_inst))
    assert coloured.stdout.count("\x1b[1m") == 1  # the heading, condashare's own
    assert_safe(coloured.stdout, colour=True)
    doc = json.loads(run_cli("envs", "--json", "--prefix", str(hostile_inst)).stdout)
    names = {e["name"] for e in doc["data"]["envs"]}
    assert names == {"good", *HOSTILE}
    # no version read out of an escape sequence ("0;TITLE\x07", "2J"): the column says "-"
    assert [e["version"] for e in doc["data"]["envs"] if e["name"] in HOSTILE] == [None] * 6
    for seen in HOSTILE.values():
        (row,) = [r for r in rows if r.startswith(f"  {seen} ")]
        assert row[len(seen) + 2 :].split()[0] == "-", row
    paths = {e["path"] for e in doc["data"]["envs"]}
    assert str(hostile_inst / "envs" / "evil\x1b]0;TITLE\x07") in paths


def add_record_file(env: Path, package: str, rel: str) -> None:
    """List one more file in a package's conda-meta record (conda's record, not on disk)."""
    (record,) = (env / "conda-meta").glob(f"{package}-*.json")
    data = json.loads(record.read_text())
    data["files"].append(rel)
    data["paths_data"]["paths"].append({"_path": rel, "path_type": "hardlink", "size_in_bytes": 3})
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, record)


def damage(env: Path) -> None:
    lib = env / "lib" / "libbeta.so"
    tmp = lib.with_name("libbeta.so.new")
    tmp.write_bytes(lib.read_bytes()[:100])
    os.replace(tmp, lib)  # a new inode: the package cache keeps its bytes
    add_record_file(env, "beta", "share/beta/nl\n[ok] all good\x1b[2J.txt")


def fix_lines(text: str) -> list[str]:
    return [line.split("fix: ", 1)[1] for line in text.splitlines() if "fix: " in line]


def run_fix_in(shell: str, command: str) -> list[list[bytes]]:
    """Run a copied fix command with conda, rm and mv stubbed: the argv each call would get."""
    stub = "".join(
        f"{cmd}() {{ printf '%s\\0' {cmd} \"$@\"; printf '\\001\\0'; }}\n"
        for cmd in ("conda", "rm", "mv")
    )
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "HOME": os.environ["HOME"]}
    proc = subprocess.run([shell, "-c", stub + command], capture_output=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    calls = proc.stdout.split(b"\x01\0")[:-1]  # an argument never holds NUL: split there
    return [call.split(b"\0")[:-1] for call in calls]


def test_verify_shows_hostile_names_escaped_and_fixes_paste_exactly(hostile_inst: Path) -> None:
    env = hostile_inst / "envs" / "evil\x1b]0;TITLE\x07"
    damage(env)
    partial = os.path.join(os.fsencode(hostile_inst / "pkgs"), b"raw\x9b\n[ok] all good-1.0-0")
    os.makedirs(os.path.join(partial, b"lib"))  # an extraction that stopped before info/
    res = run_cli("verify", str(hostile_inst))
    assert res.returncode == 1, res.stdout + res.stderr
    assert_safe(res.stdout)
    assert_safe(res.stderr)
    shown_env = str(env).replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert f"in {shown_env}: " in res.stdout
    assert "      share/beta/nl\\n[ok] all good\\x1b[2J.txt: missing\n" in res.stdout
    assert "      raw\\x9b\\n[ok] all good-1.0-0: no info/ directory\n" in res.stdout
    fixes = fix_lines(res.stdout)
    install = next(f for f in fixes if f.startswith("conda install -p $'"))
    remove = next(f for f in fixes if f.startswith("rm -rf ") and "raw" in f)
    for shell in ("bash", "zsh"):
        (argv,) = run_fix_in(need_shell(shell), install)
        assert argv[:4] == [b"conda", b"install", b"-p", os.fsencode(env)]
        (argv,) = run_fix_in(need_shell(shell), remove)
        assert argv == [b"rm", b"-rf", partial]
    doc = json.loads(run_cli("verify", "--json", str(hostile_inst)).stdout)
    (beta,) = [f for f in doc["data"]["findings"] if f["data"].get("prefix") == str(env)]
    assert {"path": "share/beta/nl\n[ok] all good\x1b[2J.txt", "problem": "missing"} in (
        beta["data"]["files"]
    )
    part = next(f for f in doc["data"]["findings"] if f["check"] == "integrity.cache-partial")
    assert [i["package"] for i in part["data"]["items"]] == [os.fsdecode(os.path.basename(partial))]


def test_doctor_shows_a_damaged_hostile_env_escaped(hostile_inst: Path) -> None:
    env = hostile_inst / "envs" / "nl\n[ok] all good"
    damage(env)
    args = ("doctor", "integrity.files", "--target", str(env), "--prefix", str(hostile_inst))
    res = run_cli(*args, "-v")
    assert res.returncode == 1, res.stdout + res.stderr
    assert_safe(res.stdout)
    assert f"in {hostile_inst}/envs/nl\\n[ok] all good: " in res.stdout
    assert "        share/beta/nl\\n[ok] all good\\x1b[2J.txt: missing\n" in res.stdout
    (install,) = [f for f in fix_lines(res.stdout) if f.startswith("conda install")]
    (argv,) = run_fix_in(need_shell("bash"), install)
    assert argv[:4] == [b"conda", b"install", b"-p", os.fsencode(env)]
    coloured = run_cli("--color", "always", *args)
    assert "\x1b[1mfix: \x1b[0m" in coloured.stdout
    assert_safe(coloured.stdout, colour=True)
    doc = json.loads(run_cli(*args, "--json").stdout)
    prefixes = {f["data"].get("prefix") for c in doc["data"]["checks"] for f in c["findings"]}
    assert str(env) in prefixes


def test_doctor_names_a_hostile_world_writable_file_on_one_line(inst: Path) -> None:
    """A file anyone can write in the shared tree, named to clear the screen and fake a line:
    the example in the finding's detail stays on its line, escaped."""
    planted = os.path.join(os.fsencode(inst), b"share", b"wipe\x1b[2J\n[ok] all good")
    os.makedirs(os.path.dirname(planted), exist_ok=True)
    with open(planted, "wb"):
        pass
    os.chmod(planted, 0o666)
    res = run_cli("doctor", "-v", "permissions.install_tree", "--prefix", str(inst))
    assert res.returncode == 1, res.stdout + res.stderr
    assert_safe(res.stdout)
    assert f"(e.g. {inst}/share/wipe\\x1b[2J\\n[ok] all good). " in res.stdout


def test_doctor_fix_for_a_broken_condarc_with_a_hostile_name_is_one_command(
    inst: Path, sandbox_home: Path
) -> None:
    """A condarc.d file whose name holds a newline: its fix must not become two commands
    (the second one ``rm -rf ~...``), and the one command moves exactly that file."""
    drop_in = sandbox_home / ".conda" / "condarc.d"
    drop_in.mkdir(parents=True)
    broken = drop_in / "x\x1b[2J\nrm -rf ~.yml"
    broken.write_text("envs_dirs: [unclosed\n")
    args = ("doctor", "condarc.parse", "--prefix", str(inst))
    res = run_cli(*args, "-v")
    assert res.returncode == 1, res.stdout + res.stderr
    assert_safe(res.stdout)
    assert not any(line.lstrip().startswith("rm -rf") for line in res.stdout.splitlines())
    doc = json.loads(run_cli(*args, "--json").stdout)
    (finding,) = [f for c in doc["data"]["checks"] for f in c["findings"] if f["data"].get("path")]
    (command,) = finding["fix_commands"]
    move = command.split("move it away: ", 1)[1]
    for shell in ("bash", "zsh"):
        (argv,) = run_fix_in(need_shell(shell), move)
        assert argv == [b"mv", os.fsencode(broken), os.fsencode(broken) + b".broken"]


def shadowing_setup(inst: Path, home: Path) -> Path:
    """The user's own envs dir holds the same hostile names as the shared one (first wins)."""
    mine = home / "myenvs"
    for name in HOSTILE:
        os.makedirs(os.path.join(os.fsencode(mine), os.fsencode(name), b"conda-meta"))
    (home / ".condarc").write_text(f"envs_dirs:\n  - {mine}\n  - {inst}/envs\n")
    return mine


def test_doctor_env_name_findings_keep_one_line_per_path(hostile_inst: Path, sandbox_home: Path):
    mine = shadowing_setup(hostile_inst, sandbox_home)
    args = ("doctor", "condarc.env_names", "--prefix", str(hostile_inst))
    res = run_cli(*args, "-v")
    assert res.returncode == 1, res.stdout + res.stderr
    assert_safe(res.stdout)
    for name, seen in HOSTILE.items():
        assert f"        {mine}/{seen}\n        {hostile_inst}/envs/{seen}\n" in res.stdout
        assert f"(conda rename -n {shell_word(name)} NEW_NAME)" in res.stdout
    doc = json.loads(run_cli(*args, "--json").stdout)
    envs = {f["data"]["env"] for c in doc["data"]["checks"] for f in c["findings"]}
    assert envs == set(HOSTILE)


def test_shared_status_shows_hostile_shadowed_names_escaped(
    hostile_inst: Path, sandbox_home: Path
) -> None:
    mine = shadowing_setup(hostile_inst, sandbox_home)
    res = run_cli("shared", "status", "--prefix", str(hostile_inst))
    assert_safe(res.stdout)
    for seen in HOSTILE.values():
        assert f"  {seen}: {mine} hides {hostile_inst}/envs\n" in res.stdout
    doc = json.loads(run_cli("shared", "status", "--json", "--prefix", str(hostile_inst)).stdout)
    assert {s["name"] for s in doc["data"]["shadows"]} == set(HOSTILE)


def test_info_shows_a_hostile_mount_point_and_source_escaped(tmp_path: Path) -> None:
    """A mount whose point and source (anyone may FUSE-mount) carry escapes and a bidi override.

    (An installation path with C0 controls is refused by the site rules; C1 and bidi pass.)
    """
    from conftest import mount_share

    root = tmp_path / "m\u202eRLO\x9bCSI"
    share = mount_share(root, fsname="srv\x1b]0;TITLE\x07\x1b[2J:/export")
    try:
        prefix = share.backing / "anaconda3"
        (prefix / "conda-meta").mkdir(parents=True)
        (prefix / "etc" / "profile.d").mkdir(parents=True)
        (prefix / "etc" / "profile.d" / "conda.sh").write_text("# conda\n")
        mounted = share.mount / "anaconda3"
        res = run_cli("info", "--prefix", str(mounted))
        assert_safe(res.stdout)
        assert_safe(res.stderr)
        seen = f"{tmp_path}/m\\u202eRLO\\u009bCSI/share"
        assert f"{seen}/anaconda3" in res.stdout
        assert f"{seen} (fuse.nfs from srv\\x1b]0;TITLE\\x07\\x1b[2J:/export; network" in res.stdout
        doc = json.loads(run_cli("info", "--json", "--prefix", str(mounted)).stdout)
        (inst,) = doc["data"]["installations"]
        assert inst["mount"]["mountpoint"] == str(share.mount)
        assert inst["mount"]["source"] == "srv\x1b]0;TITLE\x07\x1b[2J:/export"
    finally:
        unmount_share(share)


def test_conda_doctor_plugin_shows_hostile_names_escaped(
    hostile_inst: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = hostile_inst / "envs" / "wipe\x1b[2J"
    damage(env)
    conda_plugin._action("condashare-integrity", "integrity")(str(env), True)
    out = capsys.readouterr().out
    assert_safe(out)
    assert f"in {hostile_inst}/envs/wipe\\x1b[2J: " in out
    assert "    share/beta/nl\\n[ok] all good\\x1b[2J.txt: missing\n" in out
    finding = Finding("x", Severity.ERROR, "t\x1b[2J", "a\x9bb\nc\u2028d", "rm -rf x\x07\ny")
    lines = conda_plugin.format_findings("condashare-x", [finding], verbose=True)
    assert lines[:5] == ["❌ condashare-x: t\\x1b[2J", "    a\\u009bb", "    c\\u2028d",
                         "    fix: rm -rf x\\x07", "         y"]  # fmt: skip


def test_a_hostile_name_in_an_error_message_is_shown_escaped(tmp_path: Path) -> None:
    site = tmp_path / "evil\x1b]0;TITLE\x07.toml"
    res = run_cli("info", "--site", str(site))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "evil\\x1b]0;TITLE\\x07.toml" in res.stderr
    assert raw_characters(res.stderr) == []
