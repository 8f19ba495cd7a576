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

from condashare import conda_plugin
from condashare._plugin_fallback import (
    CondaDirs,
    check_integrity,
    check_locking,
    check_nfs,
    check_shared_envs,
)
from condashare.doctor.model import Finding, Severity
from condashare.host import Platform
from condashare.mounts import read_mount_table

RATTLER_ENV = REPO / "tests" / "support" / "rattler_env.py"
DATA = REPO / "tests" / "data"
NAMES = ["condashare-integrity", "condashare-locking", "condashare-nfs", "condashare-shared-envs"]
LINUX = Platform("linux", "x86_64")
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
    return {f.check: f for f in findings}


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


def test_registry_answers_when_it_offers_the_contract(monkeypatch, env, capsys):
    """After the merge the doctor registry's findings replace the interim checks."""
    import types as pytypes

    calls = []

    def run_for_conda(group, prefix, *, timeout):
        calls.append((group, prefix, timeout))
        return [Finding("registry.check", Severity.ERROR, "from the registry")]

    registry = pytypes.ModuleType(conda_plugin.REGISTRY_MODULE)
    registry.run_for_conda = run_for_conda  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, conda_plugin.REGISTRY_MODULE, registry)
    monkeypatch.setenv("CONDASHARE_TIMEOUT", "3")
    out = run_action("condashare-integrity", env, False, capsys)
    assert out.splitlines()[0] == "❌ condashare-integrity: from the registry"
    assert calls == [("integrity", str(env), 3.0)]


def test_a_crashing_check_is_reported_not_raised(monkeypatch, capsys):
    def boom(group, prefix, verbose):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conda_plugin, "_run_condashare_checks", boom)
    out = run_action("condashare-nfs", Path("/nowhere"), False, capsys)
    assert out.startswith("❌ condashare-nfs: the check crashed: RuntimeError: disk on fire")


# ------------------------------------------------------------------- integrity, real environments


def test_healthy_environment_is_clean(env, capsys):
    out = run_action("condashare-integrity", env, False, capsys)
    assert out.splitlines()[0].startswith("✅ condashare-integrity: 2 packages, 4 files")
    assert "❌" not in out


def test_truncated_file_is_reported_with_its_name(env, capsys):
    replace_file(env / CORRUPTED, b"short\n")
    out = run_action("condashare-integrity", env, True, capsys)
    assert "❌ condashare-integrity: plugdemo-1.0-hb0f4dca_0: 1 file with the wrong size" in out
    assert f"    {CORRUPTED}: expected 49 bytes, found 6" in out
    assert f"fix: conda install -p {env} --force-reinstall plugdemo=1.0=hb0f4dca_0" in out


def test_deleted_file_and_broken_record_are_reported(env):
    (env / "share" / "plugdata" / "b.txt").unlink()
    record = next((env / "conda-meta").glob("plugdemo-*.json"))
    record.write_bytes(record.read_bytes()[:100])  # a record cut short by a failed write
    found = check_integrity(str(env), read_mount_table(), 2.0)
    assert [f.check for f in found] == ["integrity.package", "integrity.record"]
    assert found[0].data["missing"] == ["share/plugdata/b.txt"]
    assert found[1].title == "conda-meta/plugdemo-1.0-hb0f4dca_0.json is unreadable or truncated"


def test_prefix_rewritten_file_is_not_a_false_alarm(env):
    """bin/plugdemo had the build prefix replaced at install: its size legitimately differs."""
    script = env / "bin" / "plugdemo"
    assert script.stat().st_size != 41  # packaged size recorded in conda-meta
    assert by_check(check_integrity(str(env), read_mount_table(), 2.0)).keys() == {"integrity.ok"}


def test_nfs_leftovers_and_trash_then_fix(env, capsys):
    nfs = env / "lib" / ".nfs0000000004a1b2c300000007"
    nfs.parent.mkdir()
    nfs.write_bytes(b"still open somewhere")
    trash = env / "bin" / "plugdemo.c0ffee.conda_trash"
    trash.write_bytes(b"old")
    out = run_action("condashare-integrity", env, True, capsys)
    assert "❌ condashare-integrity: 1 NFS silly-rename file(s) (.nfs*, .fuse_hidden*)" in out
    assert "    lib/.nfs0000000004a1b2c300000007" in out
    assert "❌ condashare-integrity: 1 *.conda_trash file(s) left behind" in out

    class Declined(Exception):
        pass

    def decline(message):  # what conda's callback does under --dry-run or on "no": it raises
        raise Declined(message)

    with pytest.raises(Declined):
        conda_plugin.fix_integrity(str(env), None, decline)  # type: ignore[arg-type]
    assert trash.exists()
    assert "bin/plugdemo.c0ffee.conda_trash" in capsys.readouterr().out

    asked = []
    assert conda_plugin.fix_integrity(str(env), None, asked.append) == 0  # type: ignore[arg-type]
    assert asked == ["Remove these files?"]
    assert not trash.exists()
    assert nfs.exists()  # in use by a process: never removed
    assert conda_plugin.fix_integrity(str(env), None, asked.append) == 0  # type: ignore[arg-type]
    assert "No *.conda_trash leftovers found." in capsys.readouterr().out


# ------------------------------------------------------------------------------ locking, nfs


def test_locking_in_writable_cache_and_environment(env, tmp_path):
    cache = tmp_path / "pkgs"
    cache.mkdir()
    (cache / "urls.txt").write_text("")
    before = (cache / "urls.txt").stat()
    found = check_locking(str(env), CondaDirs((str(cache),), ()), read_mount_table(), 5.0)
    assert [f.check for f in found] == ["locking.ok", "locking.ok"]
    assert "package cache" in found[0].title and "environment" in found[1].title
    assert (cache / "urls.txt").stat().st_mtime_ns == before.st_mtime_ns  # nothing written


def test_locking_reports_absent_cache_as_info(env, tmp_path):
    found = check_locking(str(env), CondaDirs((str(tmp_path / "none"),), ()), [], 5.0)
    assert [(f.check, f.severity) for f in found] == [
        ("locking.ok", Severity.OK),
        ("locking.no-cache", Severity.INFO),
    ]


def test_local_environment_is_reported_local(env):
    found = check_nfs(str(env), CondaDirs(), read_mount_table(), 2.0)
    assert [(f.check, f.severity) for f in found] == [("nfs.local", Severity.OK)]


def test_environment_on_a_network_share(fuse_share, built_env, capsys, monkeypatch):
    prefix = fuse_share.mount / "env"
    shutil.copytree(built_env, fuse_share.backing / "env", symlinks=True)
    out = run_action("condashare-nfs", prefix, False, capsys)
    assert out.startswith(f"✅ condashare-nfs: Environment {prefix} is on fuse.nfs from ")
    assert "nfsserver:/export/conda: responsive" in out

    fuse_share.fail("ESTALE")
    out = run_action("condashare-nfs", prefix, False, capsys)
    assert f"❌ condashare-nfs: Environment {prefix} cannot be read: error ESTALE" in out


def test_failing_share_makes_locking_fail(fuse_share, env):
    (fuse_share.backing / "pkgs").mkdir()
    (fuse_share.backing / "pkgs" / "urls.txt").write_text("")
    cache = fuse_share.mount / "pkgs"
    fuse_share.fail("EIO")
    found = check_locking(str(env), CondaDirs((str(cache),), ()), read_mount_table(), 5.0)
    assert [(f.check, f.severity) for f in found] == [
        ("locking.fails", Severity.ERROR),
        ("locking.ok", Severity.OK),
    ]
    assert found[0].title.startswith(f"Locking {cache}/urls.txt fails (EIO): conda retries")


def test_dead_share_does_not_hang_any_check(fuse_share, built_env, capsys, monkeypatch):
    """Every check returns within a bound and says the share does not answer."""
    prefix = fuse_share.mount / "env"
    shutil.copytree(built_env, fuse_share.backing / "env", symlinks=True)
    (fuse_share.backing / "pkgs").mkdir()
    (fuse_share.backing / "pkgs" / "urls.txt").write_text("")
    monkeypatch.setenv("CONDASHARE_TIMEOUT", "0.5")
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(fuse_share.mount / "pkgs"))
    monkeypatch.setenv("CONDA_ENVS_DIRS", str(fuse_share.mount))
    fuse_share.block()
    for name in NAMES:
        start = time.monotonic()
        out = run_action(name, prefix, False, capsys)
        assert time.monotonic() - start < 5, name
        assert "❌" in out, (name, out)
        assert re.search(r"does not answer|did not finish within", out), (name, out)


# ---------------------------------------------------------------------------------- shared envs


def make_env(envs_dir: Path, name: str, header: str | None) -> None:
    (envs_dir / name / "conda-meta").mkdir(parents=True)
    if header:
        (envs_dir / name / "bin").mkdir()
        shutil.copy(DATA / header, envs_dir / name / "bin" / "python")


def test_shared_envs_of_another_platform_and_name_clashes(tmp_path, env):
    shared, mine = tmp_path / "shared", tmp_path / "mine"
    make_env(shared, "isis4.3.0", "macho-arm64.bin")
    make_env(shared, "isis3.6.0", "elf-x86_64.bin")
    make_env(shared, "tools", "elf-x86_64.bin")
    make_env(mine, "tools", "elf-x86_64.bin")
    dirs = CondaDirs((), (str(mine), str(shared)))
    found = check_shared_envs(str(env), dirs, [], 2.0, LINUX)
    assert [f.check for f in found] == ["shared-envs.wrong-platform", "shared-envs.name-clash"]
    assert found[0].title.startswith(f"Env 'isis4.3.0' in {shared} is for another platform: macos")
    assert found[0].data["env"] == str(shared / "isis4.3.0")
    assert f"'conda activate tools' picks {mine}" in found[1].title

    quiet = check_shared_envs(str(env), CondaDirs((), (str(shared),)), [], 2.0,
                              Platform("macos", "arm64"))  # fmt: skip
    assert [f.title for f in quiet if f.check == "shared-envs.wrong-platform"] == [
        f"Env 'isis3.6.0' in {shared} is for another platform: linux-x86_64 (ELF)",
        f"Env 'tools' in {shared} is for another platform: linux-x86_64 (ELF)",
    ]


def test_environment_itself_built_for_another_os(env):
    """The rattler env's records say linux-64; seen from a Mac it cannot run."""
    found = check_shared_envs(str(env), CondaDirs(), [], 2.0, Platform("macos", "arm64"))
    assert [(f.check, f.severity) for f in found] == [
        ("shared-envs.prefix-platform", Severity.ERROR)
    ]
    assert check_shared_envs(str(env), CondaDirs(), [], 2.0, LINUX)[0].check == "shared-envs.ok"


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
    assert "❌ condashare-integrity: plugdemo-1.0-hb0f4dca_0: 1 file with the wrong size" in (
        proc.stdout
    )
    assert f"    {CORRUPTED}: expected 49 bytes, found 6" in proc.stdout
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
    assert "bin/plugdemo.c0ffee.conda_trash" in dry.stdout
    assert "Dry run" in dry.stderr
    assert trash.exists()
    done = real_conda("doctor", "-p", str(env), "--fix", "--yes", "condashare-integrity")
    assert done.returncode == 0, done.stderr
    assert "Removed 1 of 1 file(s)." in done.stdout
    assert not trash.exists()


def test_real_conda_doctor_with_a_dead_package_cache_share(real_conda, env, fuse_share):
    """conda's package cache on a share that stopped answering: conda doctor still finishes."""
    (fuse_share.backing / "pkgs").mkdir()
    (fuse_share.backing / "pkgs" / "urls.txt").write_text("")
    extra = {"CONDA_PKGS_DIRS": str(fuse_share.mount / "pkgs"), "CONDASHARE_TIMEOUT": "0.5"}
    fuse_share.block()
    start = time.monotonic()
    proc = real_conda("doctor", "-p", str(env), "condashare-nfs", "condashare-locking", extra=extra)
    assert time.monotonic() - start < 30
    assert proc.returncode == 0, proc.stderr
    pkgs = fuse_share.mount / "pkgs"
    assert f"❌ condashare-nfs: Package cache {pkgs} does not answer" in proc.stdout
    assert f"❌ condashare-locking: Locking {pkgs}/urls.txt did not finish within 0.5 s" in (
        proc.stdout
    )
    assert "✅ condashare-locking: Locking works in the environment" in proc.stdout


def test_scan_child_on_a_dead_share_is_abandoned(fuse_share, built_env):
    from condashare._plugin_fallback import run_child

    shutil.copytree(built_env, fuse_share.backing / "env", symlinks=True)
    fuse_share.block()
    start = time.monotonic()
    run = run_child("scan", str(fuse_share.mount / "env"), 0.5)
    assert time.monotonic() - start < 2
    assert run.status == "unresponsive"


def test_silly_rename_names_of_each_client():
    from condashare._plugin_child import is_conda_trash, is_nfs_leftover

    for name in (
        ".nfs000000000123abcd00000001",  # Linux
        ".nfs.0000abcd.0012",  # macOS
        ".nfs.0000abcd.00124.4",  # FreeBSD
        ".fuse_hidden0000000a00000001",  # libfuse (sshfs)
    ):
        assert is_nfs_leftover(name), name
    for name in (".nfs", ".nfsrc", ".nfs.conf", "nfs000000000123abcd", ".fuse_hidden", "a.nfs1234"):
        assert not is_nfs_leftover(name), name
    assert is_conda_trash("libfoo.so.c0ffee.conda_trash")
    assert not is_conda_trash("conda_trash.txt")
