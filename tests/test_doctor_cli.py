"""`condashare doctor` as users run it: output, JSON contract, exit codes, the global deadline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO, run_cli
from support.doctor_env import make_install, site_file

from condashare.doctor import registry
from condashare.findings import Severity


@pytest.fixture
def site(tmp_path):
    make_install(tmp_path / "inst")
    return site_file(tmp_path, ("linux", str(tmp_path / "inst"), "linux"))


def test_list_shows_every_check_by_group():
    res = run_cli("doctor", "--list")
    assert res.returncode == 0
    for check in registry.all_checks():
        assert check.id in res.stdout
    assert "Share mount (mount)" in res.stdout
    data = json.loads(run_cli("doctor", "--list", "--json").stdout)["data"]
    assert {c["id"] for c in data["checks"]} == {c.id for c in registry.select([])}
    assert any(c["fixable"] for c in data["checks"])


def test_exit_0_and_ascii_summary_when_healthy(site):
    res = run_cli("doctor", "host", "permissions.umask", "--site", str(site))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[ok] Host & site (5 checks)" in res.stdout  # not a terminal: ASCII glyphs
    assert "✓" not in res.stdout and "\033[" not in res.stdout
    assert "No problems found" in res.stdout.splitlines()[-1]


@pytest.mark.parametrize("target", ["missing-env", "not-an-env"])
def test_a_target_that_is_no_environment_is_an_error_not_all_clear(site, tmp_path, target):
    """``--target`` with a typo (or a plain directory): nothing was examined, so no "No
    problems found"."""
    (tmp_path / "not-an-env").mkdir()
    res = run_cli("doctor", "host", "--site", str(site), "--target", str(tmp_path / target))
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"[x] --target {tmp_path / target} is not a conda environment" in res.stdout
    assert "No problems found" not in res.stdout
    fine = run_cli("doctor", "host", "--site", str(site), "--target", str(tmp_path / "inst"))
    assert fine.returncode == 0 and "No problems found" in fine.stdout, fine.stdout


def test_exit_1_with_problem_details_and_verbose(site, sandbox_home):
    (sandbox_home / ".condarc").write_text("channels: [unclosed\n")
    res = run_cli("doctor", "condarc.parse", "host.platform", "--site", str(site))
    assert res.returncode == 1
    assert "[x] conda configuration" in res.stdout
    assert f"{sandbox_home / '.condarc'} cannot be used" in res.stdout
    assert "fix: Fix the YAML" in res.stdout
    assert "1 error, 0 warnings" in res.stdout.splitlines()[-1]
    assert "platform linux-x86_64" not in res.stdout  # healthy findings only with -v
    verbose = run_cli("doctor", "condarc.parse", "host.platform", "--site", str(site), "-v")
    assert "platform linux-x86_64" in verbose.stdout and "(host.platform," in verbose.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("doctor", "no.such.check"),
        ("doctor", "--dry-run"),
        ("doctor", "--timeout", "0"),
        ("doctor", "--site", "/nonexistent/site.toml"),
        ("doctor", "--fix", "--json"),
    ],
)
def test_exit_2_for_usage_and_configuration_errors(args):
    res = run_cli(*args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.startswith("condashare: error:") or "usage:" in res.stderr
    assert res.stdout == ""


def test_json_contract(site, sandbox_home):
    (sandbox_home / ".condarc").write_text("pkgs_dirs: [~/.conda/pkgs]\n")
    res = run_cli("doctor", "--json", "--site", str(site), "--timeout", "30")
    doc = json.loads(res.stdout)  # stdout holds exactly one JSON document
    assert doc["schema_version"] == 1 and doc["tool"] == "condashare"
    assert doc["command"] == "doctor" and doc["exit_code"] == res.returncode
    data = doc["data"]
    assert set(data) == {"context", "summary", "checks", "problems", "fixes"}
    ctx = data["context"]
    assert ctx["platform"] == "linux-x86_64" and ctx["site"] == str(site)
    assert ctx["installation"]["prefix"] == str(site.parent / "inst")
    assert [c["id"] for c in data["checks"]] == [c.id for c in registry.select([])]
    severities = {s.value for s in Severity}
    for check in data["checks"]:
        assert set(check) == {"id", "group", "title", "state", "severity", "seconds", "findings"}
        assert check["state"] in ("done", "crashed", "timeout", "not-run")
        assert check["findings"], check["id"]
        for f in check["findings"]:
            assert set(f) == {
                "check",
                "code",
                "severity",
                "title",
                "detail",
                "fix",
                "fixable",
                "data",
                "fix_commands",
            }
            assert f["check"] == check["id"] and f["severity"] in severities
            assert f["fix_commands"] == [ln for ln in f["fix"].split("\n") if ln.strip()]
        worst = max(
            (f["severity"] for f in check["findings"]), key=["ok", "info", "warning", "error"].index
        )
        assert check["severity"] == worst
    summary = data["summary"]
    assert summary["checks"] == len(data["checks"])
    assert sum(summary[s] for s in severities) == sum(len(c["findings"]) for c in data["checks"])
    assert summary["incomplete"] == [c["id"] for c in data["checks"] if c["state"] != "done"]
    # every problem is said once: at the top as a root cause, or under the cause it follows from
    said = [(p["check"], p["title"]) for p in data["problems"]]
    said += [(c["check"], c["title"]) for p in data["problems"] for c in p["consequences"]]
    found = {
        (f["check"], f["title"])
        for c in data["checks"]
        for f in c["findings"]
        if f["severity"] in ("warning", "error")
    }
    # (the same statement from two checks is said once, under the first)
    assert set(said) <= found and {t for _, t in said} == {t for _, t in found}
    assert len(said) == len(set(said)) and summary["root_causes"] == len(data["problems"])
    # PYTHONPATH is set by the test harness: a warning, so the run exits 1.
    assert res.returncode == 1 and summary["warning"] >= 1


_STUCK_RUNNER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from condashare.doctor import registry
from condashare.doctor.model import Check
target = sys.argv[2]
def stat_share_directly(ctx):
    time.sleep(1.0)  # the share dies while this check runs
    os.stat(target)
    return []
registry.register(Check("integrity.stuck", "integrity", "reads the share directly",
                        stat_share_directly))
from condashare.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.fuse
def test_share_hanging_mid_run_ends_within_the_timeout(tmp_path, fuse_share):
    make_install(fuse_share.backing / "inst")
    site = site_file(tmp_path, ("linux", str(fuse_share.mount / "inst"), "linux"), timeout=1.0)
    timeout = 4.0
    start = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _STUCK_RUNNER,
            str(REPO),
            str(fuse_share.mount / "inst"),
            "doctor",
            "--site",
            str(site),
            "--timeout",
            str(timeout),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    time.sleep(0.6)
    fuse_share.block()
    out, err = proc.communicate(timeout=timeout + 10)  # pipes close: nothing stuck holds them
    elapsed = time.monotonic() - start
    assert elapsed <= timeout + 2, f"took {elapsed:.1f} s"
    assert proc.returncode == 3, out + err
    closing = [ln for ln in out.splitlines() if "could not finish" in ln]
    assert closing and "integrity.stuck" in closing[0]
    assert "[x] reads the share directly: did not finish within " in out


@pytest.mark.fuse
def test_share_dead_before_the_run(tmp_path, fuse_share):
    make_install(fuse_share.backing / "inst")
    site = site_file(tmp_path, ("linux", str(fuse_share.mount / "inst"), "linux"), timeout=1.0)
    fuse_share.block()
    res = run_cli("doctor", "--site", str(site), "--timeout", "6", "--json", timeout=20)
    assert res.seconds <= 6 + 2
    doc = json.loads(res.stdout)
    # problems found (1), or 3 when a check ran out of time; the summary says which
    incomplete = doc["data"]["summary"]["incomplete"]
    assert res.returncode == (3 if incomplete else 1) and doc["exit_code"] == res.returncode
    responsive = next(c for c in doc["data"]["checks"] if c["id"] == "mount.responsive")
    assert responsive["severity"] == "error"
    assert "does not answer" in responsive["findings"][0]["title"]


@pytest.mark.fuse
def test_site_file_on_a_dead_share_is_a_finding_not_a_hang(tmp_path, fuse_share):
    make_install(tmp_path / "inst")
    site_file(fuse_share.backing, ("linux", str(tmp_path / "inst"), "linux"))
    fuse_share.block()
    env = {**os.environ, "CONDASHARE_SITE": str(fuse_share.mount / "site.toml")}
    res = run_cli("doctor", "host", "mount", "--timeout", "8", env=env, timeout=20)
    assert res.seconds < 8 + 2
    assert res.returncode == 1, res.stdout + res.stderr
    assert "the site file cannot be used" in res.stdout


def _run_on_terminal(args, env):
    """Run the CLI with stdout on a real pseudo-terminal; returns what the terminal shows."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "condashare", *args],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={**env, "PYTHONPATH": str(REPO), "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_unicode_glyphs_and_colour_unless_no_color(site):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONIOENCODING"] = "utf-8"
    shown = _run_on_terminal(["doctor", "host", "--site", str(site)], env)
    assert "✓" in shown and "\033[32m" in shown
    plain = _run_on_terminal(["doctor", "host", "--site", str(site)], {**env, "NO_COLOR": "1"})
    assert "[ok] Host & site" in plain and "\033[" not in plain


@pytest.mark.fuse
def test_home_on_a_dead_share(tmp_path, fuse_share):
    """The home directory itself is on the hung server: shells, rc files, caches all hang."""
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("linux", str(tmp_path / "inst"), "linux"), timeout=1.0)
    home = fuse_share.backing / "ada"
    home.mkdir()
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    nethome = fuse_share.mount / "ada"
    env = {**os.environ, "HOME": str(nethome), "SHELL": "/bin/bash"}
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        env[var] = str(nethome / sub)
    # Python itself stats ~/.local/lib/pythonX.Y/site-packages at start-up (user site), which
    # hangs before any condashare code runs; a user must start it with -s or this variable.
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONPATH"] = str(REPO)
    fuse_share.block()
    start = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "condashare",
            "doctor",
            "--site",
            str(site),
            "--timeout",
            "6",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd="/",
    )
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        fuse_share.heal()  # let the stuck process go, then fail
        proc.kill()
        proc.communicate()
        pytest.fail("doctor hung with the home on a dead share")
    seconds = time.monotonic() - start
    assert seconds <= 6 + 2, f"took {seconds:.1f} s"
    doc = json.loads(out)
    by_id = {c["id"]: c for c in doc["data"]["checks"]}
    home_probe = [
        f for f in by_id["mount.responsive"]["findings"] if f["data"]["path"] == str(nethome)
    ]
    assert home_probe and home_probe[0]["severity"] == "error"
    assert by_id["locking.home"]["severity"] == "error"
    assert by_id["host.installation"]["severity"] == "ok"  # local installation still checked
    assert proc.returncode == (3 if doc["data"]["summary"]["incomplete"] else 1)
    # one root cause: the home; what failed because of it is under it, not beside it
    roots = [p for p in doc["data"]["problems"] if p["check"] == "mount.responsive"]
    assert roots and roots[0]["data"]["path"] == str(nethome)
    assert "locking.home" in {c["check"] for c in roots[0]["consequences"]}
