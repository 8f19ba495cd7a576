"""The effective envs_dirs/pkgs_dirs view against conda's precedence rules (conda-facts §1-2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from condarc_scenarios import SCENARIOS

from condashare.conda.condarc import CondaContext, compute_effective, search_path
from condashare.host.mounts import Mount
from condashare.site.file import Installation


def fill(text: str, subst: dict[str, str]) -> str:
    for key, value in subst.items():
        text = text.replace("{" + key + "}", value)
    return text


def build(tmp_path: Path, scenario: dict) -> tuple[CondaContext, dict[str, str]]:
    places = {name: tmp_path / name for name in ("home", "root", "site", "etc", "cwd", "share")}
    for p in places.values():
        p.mkdir(parents=True, exist_ok=True)
    subst = {k: str(v) for k, v in places.items()}
    for raw_path, text in scenario["files"].items():
        path = Path(fill(raw_path, subst))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, subst))
    env = {"HOME": subst["home"], "CONDA_ROOT": subst["site"], "PATH": "/usr/bin:/bin"}
    env.update({k: fill(v, subst) for k, v in scenario["env"].items()})
    ctx = CondaContext(
        env=env,
        cwd=subst["cwd"],
        conda_root=subst["root"],
        installations=(Installation("linux", subst["share"], "linux"),),
        system_dirs=(subst["etc"],),
        root_writable=scenario["root_writable"],
    )
    return ctx, subst


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_effective_view_matches_conda(tmp_path: Path, scenario: dict) -> None:
    ctx, subst = build(tmp_path, scenario)
    view = compute_effective(ctx)
    assert view.problems == []
    assert view.paths("envs_dirs") == [fill(p, subst) for p in scenario["expect_envs"]]
    assert view.paths("pkgs_dirs") == [fill(p, subst) for p in scenario["expect_pkgs"]]


def test_provenance_and_sharedness(tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s["id"] == "shared-install-envs-in-user-file")
    ctx, subst = build(tmp_path, scenario)
    view = compute_effective(ctx)
    first = view.envs_dirs[0]
    assert first.source == f"{subst['home']}/.condarc"
    assert first.shared and first.installation == "linux"
    assert [e.source_kind for e in view.envs_dirs] == ["file", "default", "default"]
    assert [e.shared for e in view.pkgs_dirs] == [False, True]


def test_unset_variable_is_flagged(tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s["id"] == "var-expansion-and-unset-var-relative")
    ctx, _ = build(tmp_path, scenario)
    view = compute_effective(ctx)
    trapped = [e for e in view.envs_dirs if e.unexpanded]
    assert [e.unexpanded for e in trapped] == [("CONDASHARE_NOT_SET",)]
    assert trapped[0].path.startswith(ctx.cwd + "/")


def test_network_mount_makes_an_entry_shared(tmp_path: Path) -> None:
    ctx, _ = build(
        tmp_path,
        {
            "files": {"{home}/.condarc": "envs_dirs: [/nfs/teams/envs]\n"},
            "env": {},
            "root_writable": False,
        },
    )
    mounts = (Mount("/nfs/teams", "nfs4", "server:/teams", ("rw", "hard")),)
    view = compute_effective(CondaContext(**{**ctx.__dict__, "mounts": mounts}))
    assert view.envs_dirs[0].shared
    assert "nfs4" in view.envs_dirs[0].shared_reason


def test_both_envs_aliases_is_an_error(tmp_path: Path) -> None:
    ctx, _ = build(
        tmp_path,
        {
            "files": {},
            "env": {"CONDA_ENVS_DIRS": "/a", "CONDA_ENVS_PATH": "/b"},
            "root_writable": False,
        },
    )
    view = compute_effective(ctx)
    assert any(
        "CONDA_ENVS_DIRS" in p.message and "CONDA_ENVS_PATH" in p.message for p in view.problems
    )


def test_invalid_and_non_list_files_are_reported_with_lines(tmp_path: Path) -> None:
    ctx, subst = build(
        tmp_path,
        {
            "files": {
                "{home}/.condarc": "envs_dirs: /not/a/list\n",
                "{home}/.conda/condarc": "envs_dirs: [a\n  b: c\n",
            },
            "env": {},
            "root_writable": False,
        },
    )
    view = compute_effective(ctx)
    bad = {f.path: f for f in view.files if f.status == "invalid"}
    assert f"{subst['home']}/.conda/condarc" in bad
    assert any(
        p.source.endswith("/.condarc") and p.line == 1 and "must be a list" in p.message
        for p in view.problems
    )


def test_search_path_order_and_unset_xdg(tmp_path: Path) -> None:
    ctx, subst = build(tmp_path, {"files": {}, "env": {}, "root_writable": False})
    env = dict(ctx.env)
    env.pop("XDG_CONFIG_HOME", None)
    spots = search_path(CondaContext(**{**ctx.__dict__, "env": env}))
    paths = [s.path for s in spots]
    assert paths[0] == f"{subst['etc']}/.condarc"
    assert f"{subst['site']}/.condarc" in paths  # $CONDA_ROOT
    assert "$XDG_CONFIG_HOME/conda/.condarc" in paths  # left literal, relative to cwd
    assert paths.index(f"{subst['home']}/.condarc") < paths.index(
        f"{subst['root']}/.condarc", paths.index("$XDG_CONFIG_HOME/conda/.condarc")
    )
    assert paths[-1] == "$CONDARC"
    assert os.sep == "/"
