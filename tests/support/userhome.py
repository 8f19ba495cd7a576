"""A user as the CLI sees one: a home (anywhere, also on a test share), a local installation with
one release, a site file, and the environment a user's shell would give condashare."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_install(root: Path) -> Path:
    """A local shared installation with one release (``isis4.3.0``)."""
    (root / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    (root / "conda-meta").mkdir()
    (root / "etc" / "profile.d").mkdir(parents=True)
    (root / "etc" / "profile.d" / "conda.sh").write_text("")
    return root


def write_site(path: Path, prefix: Path, probe_timeout: float = 1.0) -> Path:
    path.write_text(
        f"[site]\nprobe_timeout = {probe_timeout}\n"
        f"[[installations]]\nname = 'linux'\nprefix = '{prefix}'\nos = 'linux'\n"
    )
    return path


def user_env(home: Path, site: Path, **extra: str) -> dict[str, str]:
    """HOME, XDG dirs below it, the site file, this checkout on PYTHONPATH. PYTHONNOUSERSITE:
    with the home on a dead share, Python's own user-site lookup would hang before condashare
    starts (docs/doctor.md)."""
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/bash",
        "CONDASHARE_SITE": str(site),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "PYTHONPATH": str(REPO),
        "PYTHONNOUSERSITE": "1",
        "LANG": "C.UTF-8",
    }
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        env[var] = str(home / sub)
    env.update(extra)
    return env
