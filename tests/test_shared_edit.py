"""shared on/off edits: exact restore, idempotence, refusal of bad input, symlinks and modes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.sharedsite import SharedSite, make_site

from condashare.conda.condarc import CondarcError, compute_effective
from condashare.shared_envs.memory import load_memory
from condashare.shared_envs.setup import Setup
from condashare.shared_envs.toggle import shared_off, shared_on

SHARED = "{share}/anaconda3_linux/envs"
SHARED_MAC = "{share}/anaconda3_macOS/envs"
SHARED_PKGS = "{share}/anaconda3_linux/pkgs"

own_paths = st.sampled_from(
    ["~/envs", "/data/envs", "~/work/my envs", "/opt/x#y/envs", "$HOME/e2", "rel/envs"]
)
comments = st.sampled_from(["", "  # note", "  #!top", "  #!bottom", "   # a: b", " #!final"])
quotes = st.sampled_from(["plain", "single", "double"])


def scalar(value: str, style: str) -> str:
    if style == "single" or (style == "plain" and ("#" in value or " " in value)):
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value + '"'
    return value


@st.composite
def seq_block(draw: st.DrawFn, key: str, shared_pool: list[str]) -> str:
    items = draw(
        st.lists(
            st.one_of(own_paths, st.sampled_from(shared_pool)), min_size=1, max_size=6, unique=True
        )
    )
    if not set(items) & set(shared_pool):
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(shared_pool)))
    indent = " " * draw(st.sampled_from([0, 2, 4]))
    flow = draw(st.booleans()) and draw(st.booleans())
    key_comment = draw(st.sampled_from(["", "  #!final", "  # where my envs live"]))
    if flow:
        body = ", ".join(scalar(i, draw(quotes)) for i in items)
        return f"{key}: [{body}]{draw(comments)}\n"
    lines = [f"{key}:{key_comment}\n"]
    for item in items:
        lines.append(f"{indent}- {scalar(item, draw(quotes))}{draw(comments)}\n")
        if draw(st.integers(0, 5)) == 0:
            lines.append(
                draw(st.sampled_from([f"{indent}# about the next one\n", "\n", f"{indent}#!top\n"]))
            )
    return "".join(lines)


@st.composite
def condarc_text(draw: st.DrawFn, share: str) -> str:
    shared = [p.format(share=share) for p in (SHARED, SHARED_MAC)]
    parts = [
        draw(seq_block("envs_dirs", shared)),
        draw(st.sampled_from(["", "channels:\n  - conda-forge  #!top\n  - defaults\n"])),
        draw(
            st.sampled_from(["", "ssl_verify: true  # company proxy\n", "auto_activate: false\n"])
        ),
    ]
    if draw(st.booleans()):
        parts.append(draw(seq_block("pkgs_dirs", [SHARED_PKGS.format(share=share)])))
    order = draw(st.permutations(parts))
    head = draw(st.sampled_from(["", "# my conda settings\n\n", "---\n"]))
    text = head + "".join(order)
    if draw(st.booleans()):
        text = text.rstrip("\n")  # no newline at the end of the file
    return text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SharedSite:
    return make_site(tmp_path_factory.mktemp("site"))


@settings(
    max_examples=int(os.environ.get("CONDASHARE_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_off_then_on_restores_identical_bytes(site: SharedSite, data: st.DataObject) -> None:
    text = data.draw(condarc_text(str(site.share)))
    rc = site.home / ".condarc"
    rc.write_text(text)
    (site.state / "shared-off.json").unlink(missing_ok=True)
    setup = site.setup("linux", conda_root=site.own_linux)
    off = shared_off(setup)
    after_off = rc.read_bytes()
    assert off.changes, "every generated file lists a shared dir"
    # nothing of the site is left in conda's view from this file
    view = compute_effective(setup.ctx)
    assert not [e for e in view.envs_dirs + view.pkgs_dirs if e.installation]
    # off twice = once: no change, memory kept
    again = shared_off(site.setup("linux", conda_root=site.own_linux))
    assert again.changes == [] and rc.read_bytes() == after_off
    assert load_memory(str(site.state))
    shared_on(site.setup("linux", conda_root=site.own_linux))
    assert rc.read_bytes() == text.encode()
    # with nothing remembered, on adds what is missing; doing it again changes nothing
    shared_on(site.setup("linux", conda_root=site.own_linux))
    once = rc.read_bytes()
    second = shared_on(site.setup("linux", conda_root=site.own_linux))
    assert second.changes == [] and rc.read_bytes() == once


def test_on_from_scratch_is_idempotent_and_keeps_user_dirs_first(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    rc.write_text("# mine\nenvs_dirs:\n  - ~/work/envs  # work\nchannels: [conda-forge]\n")
    shared_on(site.setup("linux", conda_root=site.own_linux), pkgs=True)
    once = rc.read_bytes()
    result = shared_on(site.setup("linux", conda_root=site.own_linux), pkgs=True)
    assert result.changes == [] and rc.read_bytes() == once
    view = compute_effective(site.setup("linux", conda_root=site.own_linux).ctx)
    envs = view.paths("envs_dirs")
    assert envs[:3] == [
        f"{site.home}/work/envs",
        f"{site.own_linux}/envs",
        f"{site.home}/.conda/envs",
    ]
    assert envs[3] == f"{site.linux}/envs"
    assert view.paths("pkgs_dirs") == [
        f"{site.own_linux}/pkgs",
        f"{site.home}/.conda/pkgs",
        f"{site.linux}/pkgs",
    ]
    assert once.decode().startswith("# mine\nenvs_dirs:\n  - ~/work/envs  # work\n")


def test_changed_after_off_gets_remembered_lines_back(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    rc.write_text(f"envs_dirs:\n  - ~/a\n  - {site.linux}/envs  #!top\n  # shared ends\n  - ~/b\n")
    shared_off(site.setup("linux", conda_root=site.own_linux))
    rc.write_text(rc.read_text() + "channels:\n  - conda-forge\n")
    shared_on(site.setup("linux", conda_root=site.own_linux))
    assert rc.read_text() == (
        f"envs_dirs:\n  - ~/a\n  - {site.linux}/envs  #!top\n"
        "  # shared ends\n  - ~/b\nchannels:\n  - conda-forge\n"
    )


@pytest.mark.parametrize(
    "bad, line",
    [
        ("envs_dirs:\n  - /a\n   - /b: [\n", 3),
        ("envs_dirs: /just/a/string\n", 1),
        ("channels: [x]\nenvs_dirs:\n  key: value\n", 2),
    ],
)
def test_bad_condarc_is_refused_and_untouched(tmp_path: Path, bad: str, line: int) -> None:
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    rc.write_text(bad)
    os.utime(rc, (1_000_000, 1_000_000))
    with pytest.raises(CondarcError) as info:
        shared_on(site.setup("linux", conda_root=site.own_linux))
    assert info.value.path == str(rc) and info.value.line == line
    assert rc.read_text() == bad and rc.stat().st_mtime == 1_000_000


def test_symlinked_condarc_edited_at_target_and_mode_kept(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "condarc"
    real.write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    real.chmod(0o640)
    link = site.home / ".condarc"
    link.symlink_to(real)
    shared_off(site.setup("linux", conda_root=site.own_linux))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "envs_dirs:\n"
    assert real.stat().st_mode & 0o777 == 0o640
    shared_on(site.setup("linux", conda_root=site.own_linux))
    assert link.is_symlink() and real.read_text() == f"envs_dirs:\n  - {site.linux}/envs\n"
    assert not [p for p in dotfiles.iterdir() if p.name != "condarc"]  # no temp files left
    backups = sorted((site.state / "backups").iterdir())
    assert [b.read_text() for b in backups] == [
        f"envs_dirs:\n  - {site.linux}/envs\n",
        "envs_dirs:\n",
    ]


def test_site_condarc_never_copied_into_user_file(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site.linux / ".condarc").write_text("channels:\n  - internal\nenvs_dirs: [/site/envs]\n")
    setup = site.setup("linux", conda_root=site.linux)  # running the shared conda
    shared_on(setup, pkgs=True)
    text = (site.home / ".condarc").read_text()
    assert "internal" not in text and "/site/envs" not in text
    assert text == f"pkgs_dirs:\n  - ~/.conda/pkgs\n  - {site.linux}/pkgs\n"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    rc.write_text(f"envs_dirs: [{site.linux}/envs]\n")
    result = shared_off(site.setup("linux", conda_root=site.own_linux), dry_run=True)
    assert "-envs_dirs: [" in result.changes[0].diff()
    assert rc.read_text() == f"envs_dirs: [{site.linux}/envs]\n"
    assert not load_memory(str(site.state))


ORIGINALS = {
    "absent": None,
    "empty": "",
    "comments": "# mine\nenvs_dirs:\n  - ~/x  # keep\nchannels: [conda-forge]\n",
    "empty-flow-envs": "envs_dirs: []\n",
    "empty-flow-pkgs": "pkgs_dirs: []  # none yet\n",
    "yaml-null": "~\n",
    "yaml-null-word": "---\nnull  # nothing here\n",
    "null-key": "envs_dirs:\nchannels: [a]\n",
}


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_on_then_off_gives_the_original_bytes_back(tmp_path: Path, name: str) -> None:
    """``on`` writes your own default dirs first and the shared one after; ``off`` right after
    takes all of that back (an `on` that created the file: the file goes). Empty flow lists
    (IndexError before) and YAML null files ("edit would break the file" before) included."""
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    original = ORIGINALS[name]
    if original is not None:
        rc.write_text(original)

    def now() -> str | None:
        return rc.read_text() if rc.exists() else None

    def setup() -> Setup:
        return site.setup("linux", conda_root=site.own_linux)

    shared_on(setup(), pkgs=True)
    with_shared = now()
    assert with_shared is not None and f"{site.linux}/envs" in with_shared
    view = compute_effective(setup().ctx)
    assert f"{site.linux}/envs" in view.paths("envs_dirs")
    assert f"{site.linux}/pkgs" in view.paths("pkgs_dirs")
    shared_off(setup())
    assert now() == original
    shared_on(setup())  # restores what off removed: the on state, byte for byte
    assert now() == with_shared
    shared_off(setup())  # and off undoes that on again
    assert now() == original
    assert shared_off(setup()).changes == [] and now() == original


def test_off_after_an_edited_on_drops_what_on_added_and_keeps_the_edit(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    rc.write_text("envs_dirs:\n  - ~/x\n")
    shared_on(site.setup("linux", conda_root=site.own_linux))
    assert "~/.conda/envs" in rc.read_text()
    rc.write_text(rc.read_text() + "channels:\n  - conda-forge\n")  # the user edits meanwhile
    shared_off(site.setup("linux", conda_root=site.own_linux))
    assert rc.read_text() == "envs_dirs:\n  - ~/x\nchannels:\n  - conda-forge\n"
