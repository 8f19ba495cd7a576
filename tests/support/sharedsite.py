"""A small shared site on local disk for the shared/isolate/envs tests.

Two installations (linux, macos) under one "share" dir, each with a few envs (real dirs with a
conda-meta/), plus the user's own conda roots per OS. Tests build a Setup through the same
resolve_setup() the CLI uses, with host facts and mounts passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from condashare.host.detect import HostInputs
from condashare.host.mounts import Mount
from condashare.shared_envs.setup import Setup, resolve_setup

SITE_TOML = """\
[site]
name = "test site"

[[installations]]
name = "linux"
prefix = "{share}/anaconda3_linux"
os = "linux"

[[installations]]
name = "macos"
prefix = "{share}/anaconda3_macOS"
os = "macos"
"""


@dataclass
class SharedSite:
    root: Path
    home: Path
    share: Path
    site_file: Path
    own_linux: Path
    own_macos: Path
    etc: Path
    cwd: Path
    state: Path

    @property
    def linux(self) -> Path:
        return self.share / "anaconda3_linux"

    @property
    def macos(self) -> Path:
        return self.share / "anaconda3_macOS"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin",
            "CONDASHARE_SITE": str(self.site_file),
        }
        env.update(extra)
        return env

    def setup(
        self,
        os_name: str = "linux",
        conda_root: Path | None = None,
        shared_home: bool = False,
        **extra_env: str,
    ) -> Setup:
        env = self.env(**extra_env)
        if conda_root is not None:
            env["CONDA_EXE"] = str(conda_root / "bin" / "conda")
        # The root filesystem is local: without this line every path would count as possibly
        # remote and every read would go through a probe child (slow, and not what a host has).
        mounts: list[Mount] = [Mount("/", "ext4", "/dev/sda1", ("rw",))]
        if shared_home:
            mounts.append(Mount(str(self.home), "nfs4", "filer:/home", ("rw", "hard")))
        inputs = HostInputs(
            system="Darwin" if os_name == "macos" else "Linux",
            machine="arm64" if os_name == "macos" else "x86_64",
            env=env,
            mounts=mounts,
        )
        return resolve_setup(
            env=env,
            inputs=inputs,
            mounts=mounts,
            cwd=str(self.cwd),
            system_dirs=[str(self.etc)],
            state_dir=str(self.state),
        )


def make_site(tmp_path: Path, envs: dict[str, list[str]] | None = None) -> SharedSite:
    envs = envs or {
        "linux": ["isis4.3.0", "isis3.6.0", "isis10.0.0"],
        "macos": ["isis4.3.0", "isis8.0.0"],
    }
    share = tmp_path / "nfs" / "cpkgs"
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    for inst, names in envs.items():
        prefix = share / ("anaconda3_linux" if inst == "linux" else "anaconda3_macOS")
        (prefix / "conda-meta").mkdir(parents=True)
        (prefix / "pkgs").mkdir()
        (prefix / "pkgs" / "urls.txt").write_text("")
        for name in names:
            (prefix / "envs" / name / "conda-meta").mkdir(parents=True)
    own_linux, own_macos = tmp_path / "own-linux", tmp_path / "own-macos"
    for own in (own_linux, own_macos):
        (own / "bin").mkdir(parents=True)
        (own / "conda-meta").mkdir()
        (own / "conda-meta" / "history").write_text("")
    site_file = tmp_path / "site.toml"
    site_file.write_text(SITE_TOML.format(share=share))
    for d in ("etc", "cwd", "state"):
        (tmp_path / d).mkdir()
    return SharedSite(
        tmp_path,
        home,
        share,
        site_file,
        own_linux,
        own_macos,
        tmp_path / "etc",
        tmp_path / "cwd",
        tmp_path / "state",
    )
