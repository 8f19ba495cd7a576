"""condashare's checks inside ``conda doctor``.

Two layers: the plugin module on its own (runs everywhere: import cost, hook registration through
pluggy as conda does it, each check against real conda-format environments built with py-rattler
and against a real FUSE share that hangs or fails), and the same through a REAL conda, which is
not on PyPI and so cannot be installed in CI: those tests run when ``CONDASHARE_TEST_CONDA``
names a conda command or ``conda`` is importable, and are skipped otherwise
(docs/development.md shows how to get one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, need
from support.doctor_env import site_file

from condashare import conda_plugin
from condashare.doctor import for_conda, registry
from condashare.findings import Finding, Severity

RATTLER_ENV = REPO / "tests" / "support" / "rattler_env.py"
DATA = REPO / "tests" / "data"
NAMES = ["condashare-integrity", "condashare-locking", "condashare-nfs", "condashare-shared-envs"]
CORRUPTED = "share/plugdemo/data.txt"


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def built_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real conda-format environment (two packages, one prefix-rewritten file), built once."""
    need(
        importlib.util.find_spec("rattler") is not None
        and importlib.util.find_spec("rattler_build") is not None,
        "py-rattler and py-rattler-build are needed (pip install '.[test]')",
    )
    work = tmp_path_factory.mktemp("rattler")
    # In a subprocess: py-rattler sometimes crashes the interpreter at exit (test-recipes §1).
    proc = subprocess.run(
        [sys.executable, str(RATTLER_ENV), str(work)], capture_output=True, text=True, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"building the environment failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return Path(json.loads(lines[-1])["prefix"])


@pytest.fixture
def env(built_env: Path, tmp_path: Path) -> Path:
    """A private copy of the environment that a test may corrupt."""
    prefix = tmp_path / "env"
    shutil.copytree(built_env, prefix, symlinks=True)
    return prefix


def replace_file(path: Path, data: bytes) -> None:
    """Rewrite a file the way NFS trouble leaves it: new content under the same name."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def run_action(name: str, prefix: Path, verbose: bool, capsys: pytest.CaptureFixture[str]) -> str:
    group = name.removeprefix("condashare-")
    conda_plugin._action(name, group)(str(prefix), verbose)
    return capsys.readouterr().out


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


# --------------------------------------------------------------------- the module and the hook


def test_importing_the_plugin_imports_neither_conda_nor_heavy_modules():
    code = (
        "import sys; before = set(sys.modules); import condashare.conda_plugin; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    new = set(proc.stdout.split())
    assert not {m for m in new if m == "conda" or m.startswith("conda.")}
    assert {m for m in new if m.startswith("condashare")} == {
        "condashare",
        "condashare.conda_plugin",
    }
    assert not new & {"psutil", "distro", "platformdirs", "ruamel", "subprocess", "json"}


def test_import_cost_inside_conda_is_under_10ms():
    """conda imports every plugin on every command; pluggy is already loaded by then.

    A sanity bound (best of three, -X importtime), not a benchmark.
    """
    best = float("inf")
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import pluggy, condashare.conda_plugin"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        (line,) = [
            ln for ln in proc.stderr.splitlines() if ln.endswith("| condashare.conda_plugin")
        ]
        best = min(best, int(line.split("|")[1]))
    assert best < 10_000, f"condashare.conda_plugin took {best} µs to import"


def test_hook_is_marked_for_conda_and_yields_the_checks(monkeypatch):
    """Register the module with pluggy exactly as conda's plugin manager does."""
    import types as pytypes
    from dataclasses import dataclass

    import pluggy

    @dataclass
    class CondaHealthCheck:  # conda's record (conda.plugins.types); conda itself: tests below
        name: str
        action: object
        fixer: object = None
        summary: str | None = None
        fix: str | None = None

    stub = pytypes.ModuleType("conda.plugins.types")
    stub.CondaHealthCheck = CondaHealthCheck  # type: ignore[attr-defined]
    for name in ("conda", "conda.plugins"):
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name) or pytypes.ModuleType(name))
    monkeypatch.setitem(sys.modules, "conda.plugins.types", stub)

    class Specs:
        @pluggy.HookspecMarker("conda")
        def conda_health_checks(self):  # the hook's name and signature in conda's hookspec
            ...

    manager = pluggy.PluginManager("conda")
    manager.add_hookspecs(Specs)
    manager.register(conda_plugin)
    checks = [c for batch in manager.hook.conda_health_checks() for c in batch]
    assert sorted(c.name for c in checks) == NAMES
    for check in checks:
        assert check.name == check.name.lower().strip()  # conda refuses other names
        assert check.summary and check.summary.startswith("condashare:")
        assert callable(check.action)
    fixable = {c.name: c.fix for c in checks if c.fixer}
    assert fixable == {"condashare-integrity": "Remove *.conda_trash leftovers"}


def test_timeout_comes_from_the_environment():
    assert conda_plugin.check_timeout({}) == conda_plugin.DEFAULT_TIMEOUT
    assert conda_plugin.check_timeout({"CONDASHARE_TIMEOUT": "0.5"}) == 0.5
    for bad in ("soon", "-1", "0", "1e9"):
        assert conda_plugin.check_timeout({"CONDASHARE_TIMEOUT": bad}) == 2.0


def test_format_findings_looks_like_conda_doctor():
    findings = [
        Finding("x.ok", Severity.OK, "All good", detail="shown only with -v"),
        Finding("x.info", Severity.INFO, "A note"),
        Finding("x.bad", Severity.ERROR, "Broken", detail="a\nb\nc\nd\ne", fix="do this"),
        Finding("x.warn", Severity.WARNING, "Risky"),
    ]
    brief = conda_plugin.format_findings("condashare-x", findings, verbose=False)
    assert brief == [
        "✅ condashare-x: All good",
        "❌ condashare-x: Broken",
        "    a",
        "    b",
        "    c",
        "    ... 2 more (use -v)",
        "    fix: do this",
        "❌ condashare-x: Risky (warning)",
        "",
    ]
    verbose = conda_plugin.format_findings("condashare-x", findings, verbose=True)
    assert "    shown only with -v" in verbose
    assert "✅ condashare-x: A note" in verbose
    assert "    e" in verbose
    # Several passing checks fold into one line unless -v, so the problems stand out.
    many = [*findings, Finding("x.ok2", Severity.OK, "Also good")]
    brief = conda_plugin.format_findings("condashare-x", many, verbose=False)
    assert brief[0] == "✅ condashare-x: 2 checks passed (-v lists them)"
    assert not any("good" in line for line in brief)
    assert "❌ condashare-x: Broken" in brief
    verbose = conda_plugin.format_findings("condashare-x", many, verbose=True)
    assert "✅ condashare-x: All good" in verbose and "✅ condashare-x: Also good" in verbose


def test_actions_ask_the_doctor_with_the_timeout_from_the_environment(monkeypatch, env, capsys):
    calls = []

    def run_for_conda(group, prefix, *, timeout):
        calls.append((group, prefix, timeout))
        return [Finding("x.check", Severity.ERROR, "from the doctor")]

    monkeypatch.setattr(for_conda, "run_for_conda", run_for_conda)
    monkeypatch.setenv("CONDASHARE_TIMEOUT", "3")
    out = run_action("condashare-integrity", env, False, capsys)
    assert out.splitlines()[0] == "❌ condashare-integrity: from the doctor"
    assert calls == [("integrity", str(env), 3.0)]


def test_every_plugin_check_maps_to_doctor_checks():
    assert sorted(f"condashare-{g}" for g in for_conda.GROUPS) == NAMES
    assert [group for _, group, _, _ in conda_plugin.CHECKS] == list(for_conda.GROUPS)
    for ids in for_conda.GROUPS.values():
        assert sorted(c.id for c in registry.select(list(ids))) == sorted(ids)


def test_a_crashing_check_is_reported_not_raised(monkeypatch, capsys):
    def boom(group, prefix, verbose):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conda_plugin, "_run_condashare_checks", boom)
    out = run_action("condashare-nfs", Path("/nowhere"), False, capsys)
    assert out.startswith("❌ condashare-nfs: the check crashed: RuntimeError: disk on fire")


def test_a_broken_site_file_is_a_finding_not_a_crash(monkeypatch, tmp_path, env, capsys):
    monkeypatch.setenv("CONDASHARE_SITE", str(tmp_path / "nowhere.toml"))
    out = run_action("condashare-nfs", env, False, capsys)
    assert out.startswith("❌ condashare-nfs: condashare's configuration cannot be used: ")
    assert "nowhere.toml" in out


# ------------------------------------------------------------------- integrity, real environments


def test_healthy_environment_is_clean(env, capsys):
    """bin/plugdemo had the build prefix replaced at install: its size differs, legitimately."""
    out = run_action("condashare-integrity", env, False, capsys)
    assert re.match(r"✅ condashare-integrity: \d+ files in 2 packages and 0 cache entries "
                    r"verified \(quick\)\n", out), out  # fmt: skip
    assert "❌" not in out


def test_truncated_file_is_reported_with_its_name(env, capsys):
    replace_file(env / CORRUPTED, b"short\n")
    out = run_action("condashare-integrity", env, True, capsys)
    assert f"❌ condashare-integrity: plugdemo-1.0-hb0f4dca_0 in {env}: 1 wrong size\n" in out
    assert f"    {CORRUPTED}: wrong size (expected 49, found 6)\n" in out
    assert f"fix: conda install -p {env} --force-reinstall plugdemo=1.0=hb0f4dca_0" in out


def test_deleted_file_and_broken_record_are_reported(env):
    (env / "share" / "plugdata" / "b.txt").unlink()
    record = next((env / "conda-meta").glob("plugdemo-*.json"))
    record.write_bytes(record.read_bytes()[:100])  # a record cut short by a failed write
    found = by_check(for_conda.run_for_conda("integrity", str(env), timeout=2.0))
    assert found.keys() == {"integrity.env-files", "integrity.env-record"}
    files = found["integrity.env-files"].data["files"]
    assert [(p["path"], p["problem"]) for p in files] == [("share/plugdata/b.txt", "missing")]
    assert found["integrity.env-record"].title == (
        f"plugdemo-1.0-hb0f4dca_0 in {env}: conda-meta record is unreadable"
    )


def test_nfs_leftovers_and_trash_then_fix(env, capsys):
    nfs = env / "lib" / ".nfs0000000004a1b2c300000007"
    nfs.parent.mkdir()
    nfs.write_bytes(b"still open somewhere")
    trash = env / "bin" / "plugdemo.c0ffee.conda_trash"
    trash.write_bytes(b"old")
    out = run_action("condashare-integrity", env, True, capsys)
    assert f"❌ condashare-integrity: {env}: 2 NFS/conda leftover files" in out
    assert f"    {nfs} (20 B; no process here holds it)" in out
    assert "    or: conda doctor --fix condashare-integrity" in out

    class Declined(Exception):
        pass

    def decline(message):  # what conda's callback does under --dry-run or on "no": it raises
        raise Declined(message)

    with pytest.raises(Declined):
        conda_plugin.fix_integrity(str(env), None, decline)  # type: ignore[arg-type]
    assert trash.exists()
    listed = capsys.readouterr().out
    assert f"  {trash}\n" in listed and str(nfs) not in listed

    asked = []
    assert conda_plugin.fix_integrity(str(env), None, asked.append) == 0  # type: ignore[arg-type]
    assert asked == ["Remove these files?"]
    assert "Removed 1 of 1 file." in capsys.readouterr().out
    assert not trash.exists()
    assert nfs.exists()  # in use by a process: never removed
    assert conda_plugin.fix_integrity(str(env), None, asked.append) == 0  # type: ignore[arg-type]
    assert "No *.conda_trash leftovers found." in capsys.readouterr().out


# ------------------------------------------------------------------------------ locking, nfs


def test_locking_in_the_package_cache(env, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "pkgs"
    cache.mkdir()
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(cache))
    out = run_action("condashare-locking", env, True, capsys)
    assert f"✅ condashare-locking: package cache: a conda-style lock works in {cache} (" in out
    assert "❌" not in out
    assert list(cache.iterdir()) == []  # the lock file is gone again


def test_local_environment_is_reported_local(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    out = run_action("condashare-nfs", env, True, capsys)
    assert "✅ condashare-nfs: 2 of 2 on local filesystems\n" in out, out
    assert "❌" not in out


def test_environment_on_a_network_share(fuse_share, built_env, capsys):
    prefix = fuse_share.mount / "env"
    shutil.copytree(built_env, fuse_share.backing / "env", symlinks=True)
    out = run_action("condashare-nfs", prefix, True, capsys)
    assert (
        f"✅ condashare-nfs: environment: {prefix} on fuse.nfs from nfsserver:/export/conda, "
        "responsive (" in out
    )

    fuse_share.fail("ESTALE")
    out = run_action("condashare-nfs", prefix, False, capsys)
    assert f"❌ condashare-nfs: environment: {prefix} fails: stale file handle (ESTALE)" in out
    assert "Stale file handle" in out


def test_failing_share_makes_locking_fail(fuse_share, env, monkeypatch, capsys):
    (fuse_share.backing / "pkgs").mkdir()
    cache = fuse_share.mount / "pkgs"
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(cache))
    fuse_share.fail("EIO")
    out = run_action("condashare-locking", env, False, capsys)
    assert f"❌ condashare-locking: package cache: cannot lock files in {cache} (EIO)" in out
    assert f"❌ condashare-locking: your package cache {cache} is on a network filesystem" in out


def test_dead_share_does_not_hang_any_check(fuse_share, built_env, capsys, monkeypatch):
    """Every check returns within a bound and says the share does not answer."""
    prefix = fuse_share.mount / "env"
    shutil.copytree(built_env, fuse_share.backing / "env", symlinks=True)
    (fuse_share.backing / "pkgs").mkdir()
    monkeypatch.setenv("CONDASHARE_TIMEOUT", "0.5")
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(fuse_share.mount / "pkgs"))
    monkeypatch.setenv("CONDA_ENVS_DIRS", str(fuse_share.mount))
    fuse_share.block()
    for name in NAMES:
        start = time.monotonic()
        out = run_action(name, prefix, False, capsys)
        assert time.monotonic() - start < 8, name
        assert "❌" in out, (name, out)
        assert re.search(r"does not answer|unresponsive|hangs|cannot read|cannot be listed", out), (
            name,
            out,
        )


# ---------------------------------------------------------------------------------- shared envs


def make_env(envs_dir: Path, name: str, header: str | None) -> Path:
    (envs_dir / name / "conda-meta").mkdir(parents=True)
    if header:
        (envs_dir / name / "bin").mkdir()
        shutil.copy(DATA / header, envs_dir / name / "bin" / "python")
    return envs_dir / name


def test_shared_envs_of_another_os_and_names_hiding_each_other(tmp_path, env, monkeypatch, capsys):
    linux, mac, mine = tmp_path / "linux", tmp_path / "mac", tmp_path / "mine"
    make_env(mac / "envs", "isis4.3.0", "macho-arm64.bin")
    make_env(linux / "envs", "tools", "elf-x86_64.bin")
    make_env(mine, "tools", "elf-x86_64.bin")
    site = site_file(tmp_path, ("linux", str(linux), "linux"), ("mac", str(mac), "macos"))
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    monkeypatch.setenv("CONDASHARE_PLATFORM", "linux-x86_64")
    envs = [mine, linux / "envs", mac / "envs"]
    monkeypatch.setenv("CONDA_ENVS_DIRS", os.pathsep.join(map(str, envs)))
    out = run_action("condashare-shared-envs", env, False, capsys)
    other_os = f"envs_dirs lists {mac / 'envs'}, environments of the macos installation"
    assert f"❌ condashare-shared-envs: {other_os} (warning)" in out
    hidden = f"env 'tools' exists in 2 envs dirs; `conda activate tools` takes {mine / 'tools'}"
    assert f"❌ condashare-shared-envs: {hidden} (warning)" in out
    holds = f"{env} holds packages for linux-x86_64 (subdir linux-64"
    assert f"✅ condashare-shared-envs: {holds}" in out


def test_environment_itself_built_for_another_os(env, tmp_path, monkeypatch, capsys):
    """The rattler env's records say linux-64; seen from a Mac it cannot run."""
    monkeypatch.setenv("CONDASHARE_PLATFORM", "macos-arm64")
    out = run_action("condashare-shared-envs", env, False, capsys)
    foreign = f"{env} is built for another platform, not for this macos-arm64 (osx-arm64) host"
    assert f"❌ condashare-shared-envs: {foreign}" in out
    mac_env = make_env(tmp_path / "envs", "isis4.3.0", "macho-arm64.bin")
    out = run_action("condashare-shared-envs", mac_env, False, capsys)
    assert "❌" not in out, out


# ------------------------------------------------------------------------------ the real conda


def conda_command() -> list[str] | None:
    """How to run a real conda: ``CONDASHARE_TEST_CONDA`` or an importable ``conda``."""
    value = os.environ.get("CONDASHARE_TEST_CONDA", "").strip()
    if value:
        return shlex.split(value)
    if importlib.util.find_spec("conda") is not None:
        return [sys.executable, "-m", "conda"]
    return None


@pytest.fixture
def real_conda(tmp_path: Path):
    """Run the real conda with this checkout's condashare registered as its plugin.

    A throwaway ``*.dist-info`` with condashare's entry point, put on PYTHONPATH before the
    checkout, makes conda discover the plugin the way it discovers an installed one, so the
    code under test is this tree's even if another condashare is installed in conda's env.
    """
    command = conda_command()
    if command is None:  # conda is not on PyPI: CI cannot have it, so this is a skip, not need()
        pytest.skip(
            "no real conda: set CONDASHARE_TEST_CONDA (e.g. '/path/venv/bin/python -m conda') "
            "or run pytest where 'conda' is importable; see docs/development.md"
        )
    dist = tmp_path / "plugin-path" / "condashare_checkout-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: condashare-checkout\nVersion: 0.0\n"
    )
    (dist / "entry_points.txt").write_text("[conda]\ncondashare = condashare.conda_plugin\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(dist.parent), str(REPO), env.get("PYTHONPATH", "")])
    env.pop("CONDA_NO_PLUGINS", None)

    def run(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            env={**env, **(extra or {})},
            timeout=120,
            stdin=subprocess.DEVNULL,
            cwd=str(tmp_path),
        )
        return proc

    return run


def test_real_conda_doctor_lists_condashare_checks(real_conda):
    proc = real_conda("doctor", "--list")
    assert proc.returncode == 0, proc.stderr
    listed = re.findall(r"^  (condashare-[a-z-]+): condashare: ", proc.stdout, re.M)
    assert listed == NAMES, proc.stdout
    assert "  condashare-integrity: " in proc.stdout
    assert "(fix: Remove *.conda_trash leftovers)" in proc.stdout
    assert "  missing-files: " in proc.stdout  # conda's own checks are still there


def test_real_conda_doctor_reports_a_corrupted_file(real_conda, env):
    replace_file(env / CORRUPTED, b"short\n")
    proc = real_conda("doctor", "-v", "-p", str(env), "condashare-integrity")
    assert proc.returncode == 0, proc.stderr  # conda doctor always exits 0
    assert f"Environment Health Report for: {env}" in proc.stdout
    assert f"❌ condashare-integrity: plugdemo-1.0-hb0f4dca_0 in {env}: 1 wrong size\n" in (
        proc.stdout
    )
    assert f"    {CORRUPTED}: wrong size (expected 49, found 6)\n" in proc.stdout
    assert "missing-files" not in proc.stdout and "Missing Files" not in proc.stdout  # only ours


def test_real_conda_healthy_env_all_condashare_checks_pass(real_conda, env):
    proc = real_conda("doctor", "-p", str(env), *NAMES)
    assert proc.returncode == 0, proc.stderr
    for name in NAMES:
        assert f"✅ {name}: " in proc.stdout, proc.stdout
    assert "❌" not in proc.stdout, proc.stdout


def test_real_conda_no_plugins_hides_condashare(real_conda):
    for args, extra in ((("--no-plugins", "doctor", "--list"), None),
                        (("doctor", "--list"), {"CONDA_NO_PLUGINS": "true"})):  # fmt: skip
        proc = real_conda(*args, extra=extra)
        assert proc.returncode == 0, proc.stderr
        assert "missing-files" in proc.stdout
        assert "condashare" not in proc.stdout


def test_real_conda_fix_honours_dry_run_and_yes(real_conda, env):
    trash = env / "bin" / "plugdemo.c0ffee.conda_trash"
    trash.write_bytes(b"old")
    dry = real_conda("doctor", "-p", str(env), "--fix", "--dry-run", "condashare-integrity")
    assert dry.returncode == 0, dry.stderr
    assert f"  {trash}\n" in dry.stdout
    assert "Dry run" in dry.stderr
    assert trash.exists()
    done = real_conda("doctor", "-p", str(env), "--fix", "--yes", "condashare-integrity")
    assert done.returncode == 0, done.stderr
    assert "Removed 1 of 1 file." in done.stdout
    assert not trash.exists()


def test_real_conda_doctor_with_a_dead_package_cache_share(real_conda, env, fuse_share):
    """conda's package cache on a share that stopped answering: conda doctor still finishes."""
    (fuse_share.backing / "pkgs").mkdir()
    extra = {"CONDA_PKGS_DIRS": str(fuse_share.mount / "pkgs"), "CONDASHARE_TIMEOUT": "0.5"}
    fuse_share.block()
    start = time.monotonic()
    proc = real_conda("doctor", "-p", str(env), "condashare-nfs", "condashare-locking", extra=extra)
    assert time.monotonic() - start < 30
    assert proc.returncode == 0, proc.stderr
    pkgs = fuse_share.mount / "pkgs"
    assert f"❌ condashare-nfs: package cache: {pkgs} does not answer (no reply in 500 ms)" in (
        proc.stdout
    )
    assert f"❌ condashare-locking: package cache: locking in {pkgs} hangs" in proc.stdout
