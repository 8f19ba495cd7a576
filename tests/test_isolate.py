"""condashare isolate: the child's conda view, untouched user files, exit codes, cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, run_cli
from support.sharedsite import SharedSite, make_site

# The child computes conda's effective view for its own environment with condashare's model
# (validated against the real conda, see docs/shared-envs.md).
CHILD_VIEW = (
    "import json, os; from condashare.conda.condarc import CondaContext, compute_effective; "
    "root = os.path.dirname(os.path.dirname(os.environ['CONDA_EXE'])); "
    "v = compute_effective(CondaContext(env=dict(os.environ), cwd=os.getcwd(), conda_root=root));"
    "print(json.dumps({'envs': v.paths('envs_dirs'), 'pkgs': v.paths('pkgs_dirs'), "
    "'home': os.environ['HOME']}))"
)


def user_files(site: SharedSite) -> list[Path]:
    xdg = site.root / "xdg"
    return [
        site.home / ".condarc",
        site.home / ".conda" / "condarc.d" / "team.yml",
        xdg / "conda" / "condarc",
        site.home / ".bashrc",
    ]


def populate(site: SharedSite) -> dict[str, str]:
    files = user_files(site)
    texts = {
        files[0]: f"# mine\nenvs_dirs:\n  - ~/work/envs\n  - {site.linux}/envs  #!top\n"
        f"pkgs_dirs:\n  - ~/.conda/pkgs\n  - {site.linux}/pkgs\n",
        files[1]: f"envs_dirs: [{site.macos}/envs, /team/envs]\n",
        files[2]: f"envs_dirs:\n  - {site.linux}/envs\n  - /xdg/envs\n",
        files[3]: "echo hi\n",
    }
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return {
        **os.environ,
        "HOME": str(site.home),
        "XDG_CONFIG_HOME": str(site.root / "xdg"),
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.own_linux}/bin/conda",
        "CONDA_ENVS_DIRS": f"{site.linux}/envs:/from/var",
    }


def snapshot(paths: list[Path]) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def test_child_sees_no_shared_dirs_and_files_stay_untouched(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = populate(site)
    before = snapshot(user_files(site))
    res = run_cli("isolate", "--", sys.executable, "-c", CHILD_VIEW, env=env, cwd=str(site.cwd))
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout)
    share = str(site.share)
    assert not [p for p in seen["envs"] + seen["pkgs"] if p.startswith(share)]
    # the user's own dirs are all still there, own envs by their real path first
    assert seen["envs"][0] == f"{site.home}/.conda/envs"
    for own in ("/from/var", f"{site.home}/work/envs", "/team/envs", "/xdg/envs"):
        assert own in seen["envs"]
    assert f"{site.home}/.conda/pkgs" in seen["pkgs"]
    assert seen["home"] != str(site.home)  # a mirror: ~/.condarc needed filtering
    assert before == snapshot(user_files(site))
    assert "isolate: hidden:" in res.stderr
    # the mirror is gone
    assert not Path(seen["home"]).exists()


def test_nothing_to_hide_keeps_home(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = {
        **os.environ,
        "HOME": str(site.home),
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.own_linux}/bin/conda",
    }
    res = run_cli("isolate", "--", sys.executable, "-c", CHILD_VIEW, env=env)
    assert json.loads(res.stdout)["home"] == str(site.home)


def test_exit_code_passed_through_and_fresh_pkgs_removed_on_failure(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = populate(site)
    res = run_cli(
        "isolate",
        "--fresh-pkgs",
        "--",
        "sh",
        "-c",
        'echo "$CONDA_PKGS_DIRS"; touch "$CONDA_PKGS_DIRS/urls.txt"; exit 7',
        env=env,
    )
    assert res.returncode == 7
    fresh = res.stdout.strip()
    assert fresh and "," not in fresh and not Path(fresh).exists()
    assert run_cli("isolate", "--", "definitely-not-a-command-xyz", env=env).returncode == 127


def test_shared_conda_root_envs_reported_as_not_hideable(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = {
        **os.environ,
        "HOME": str(site.home),
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.linux}/bin/conda",
    }
    res = run_cli("isolate", "--", sys.executable, "-c", CHILD_VIEW, env=env)
    assert res.returncode == 0
    assert f"still in view: {site.linux}/envs: conda always appends" in res.stderr
    seen = json.loads(res.stdout)
    assert seen["pkgs"] == [f"{site.home}/.conda/pkgs"]  # the shared <root>/pkgs default is gone


def test_fresh_pkgs_removed_when_interrupted(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = populate(site)
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "condashare",
            "isolate",
            "--fresh-pkgs",
            "--",
            "sh",
            "-c",
            'echo "$CONDA_PKGS_DIRS"; exec sleep 60',
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    assert proc.stdout is not None
    fresh = Path(proc.stdout.readline().strip())
    assert fresh.is_dir()
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what ^C in a terminal does
    code = proc.wait(timeout=30)
    assert code == 130
    assert not fresh.exists() and not fresh.parent.exists()
    assert time.monotonic() - start < 20


def test_env_registry_written_by_the_child_reaches_the_real_home(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = populate(site)  # ~/.conda/condarc.d lists a shared dir: ~/.conda is mirrored
    res = run_cli(
        "isolate",
        "--",
        "sh",
        "-c",
        'echo /x/envs/repro >> "$HOME/.conda/environments.txt"; echo "$HOME"',
        env=env,
    )
    assert res.returncode == 0 and res.stdout.strip() != str(site.home)
    assert (site.home / ".conda" / "environments.txt").read_text() == "/x/envs/repro\n"


def test_strict_refuses_to_run_when_shared_envs_stay_in_view(tmp_path: Path) -> None:
    """Running the shared conda: its <root>/envs cannot be hidden. Plain isolate says so and
    runs the command; --strict does not run it and exits 1, leaving no temporary dir."""
    site = make_site(tmp_path)
    env = {
        **os.environ,
        "HOME": str(site.home),
        "TMPDIR": str(site.root / "tmp"),
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.linux}/bin/conda",
    }
    (site.root / "tmp").mkdir()
    marker = site.root / "ran"
    res = run_cli("isolate", "--strict", "--", "touch", str(marker), env=env)
    assert res.returncode == 1, res.stderr
    assert f"still in view: {site.linux}/envs: conda always appends" in res.stderr
    assert "the command was not run" in res.stderr
    assert not marker.exists() and list((site.root / "tmp").iterdir()) == []
    assert run_cli("isolate", "--", "touch", str(marker), env=env).returncode == 0
    assert marker.exists()
    # with your own conda everything can be hidden: --strict runs the command. A ~/.condarc
    # listing only a shared envs dir makes isolate mirror HOME, which hides no package cache:
    # no empty "hidden: package caches:" line then
    env["CONDA_EXE"] = f"{site.own_linux}/bin/conda"
    (site.home / ".condarc").write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    marker.unlink()
    strict = run_cli("isolate", "--strict", "--", "touch", str(marker), env=env)
    assert strict.returncode == 0, strict.stderr
    assert marker.exists()
    assert "isolate: hidden: HOME=" in strict.stderr
    assert f"isolate: hidden: {site.home}/.condarc: 1 entry left out " in strict.stderr
    assert "package caches" not in strict.stderr, strict.stderr


def test_your_envs_are_listed_once_under_a_mirrored_home(tmp_path: Path) -> None:
    """~/.condarc lists a shared dir, so isolate mirrors HOME; conda's fixed ~/.conda/envs
    default then names the mirror. Your env must be seen once, by its real path."""
    site = make_site(tmp_path)
    (site.home / ".conda" / "envs" / "mine" / "conda-meta").mkdir(parents=True)
    (site.home / ".condarc").write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    env = {
        **os.environ,
        "HOME": str(site.home),
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.own_linux}/bin/conda",
    }
    # the listing must happen in the child: the mirror is gone when isolate returns
    listing = CHILD_VIEW.replace(
        "print(json.dumps({",
        "print(json.dumps({'found': [os.path.join(d, n) for d in v.paths('envs_dirs') "
        "if os.path.isdir(d) for n in sorted(os.listdir(d))], ",
    )
    res = run_cli("isolate", "--", sys.executable, "-c", listing, env=env)
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout)
    assert seen["home"] != str(site.home)  # the home was mirrored
    assert seen["found"] == [f"{site.home}/.conda/envs/mine"], seen
    # conda still lists the mirror's empty ~/.conda/envs: one line says why, as a note (not as
    # something left in view, so --strict still runs the command)
    mirror_envs = f"{seen['home']}/.conda/envs"
    assert mirror_envs in seen["envs"]
    about = [line for line in res.stderr.splitlines() if mirror_envs in line]
    assert about == [
        f"isolate: note: conda also lists {mirror_envs}, its fixed ~/.conda/envs default under "
        "the mirrored HOME (conda/conda#14696): kept empty and removed afterwards; your own "
        f"envs are listed by their real path {site.home}/.conda/envs"
    ], res.stderr
    assert "still in view" not in res.stderr
    strict = run_cli("isolate", "--strict", "--", sys.executable, "-c", listing, env=env)
    assert strict.returncode == 0, strict.stderr
    assert json.loads(strict.stdout)["found"] == [f"{site.home}/.conda/envs/mine"]
    quiet = run_cli("isolate", "-q", "--", "true", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
