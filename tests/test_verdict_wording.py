"""Small verdict items a user notices: relative --site in doctor, durations and counts written
one way, error text said once, init's reasons whole, the installation's description shown."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import run_cli
from support.doctor_env import make_install, site_file

from condashare.cli.doctor import render_report
from condashare.doctor.model import Finding, Severity
from condashare.doctor.runner import TIMEOUT, CheckResult, RunReport
from condashare.render import Output
from condashare.wording import plural, seconds_text


def test_doctor_accepts_a_relative_site_like_every_command(tmp_path: Path) -> None:
    make_install(tmp_path / "inst")
    site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux"))
    info = run_cli("info", "--site", "site.toml", cwd=str(tmp_path))
    assert info.returncode == 0
    res = run_cli("doctor", "host.site", "--site", "site.toml", cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert (
        f"site file {tmp_path / 'site.toml'}"
        in run_cli("doctor", "host.site", "-v", "--site", "site.toml", cwd=str(tmp_path)).stdout
    )
    # one check: "(1 check, ...)", never "(1 checks"
    assert "No problems found (1 check, " in res.stdout.splitlines()[-1]


def test_durations_and_counts_are_written_one_way() -> None:
    assert [seconds_text(s) for s in (0.481952, 0.003, 1.0, 2.25, 20.0, 119.6)] == [
        "482 ms", "3 ms", "1.0 s", "2.2 s", "20 s", "120 s",
    ]  # fmt: skip
    assert (plural(1, "check"), plural(2, "check")) == ("1 check", "2 checks")
    stuck = Finding("t.stuck", Severity.ERROR, "stuck: did not finish", data={"state": TIMEOUT})
    result = CheckResult("t.stuck", "t", "stuck", TIMEOUT, 0.48, [stuck])
    text = io.StringIO()
    render_report(RunReport([result], 0.49, 0.481952), None, Output("never", text), False)
    lines = text.getvalue().splitlines()
    assert "1 check could not finish (time limit 482 ms): t.stuck" in lines[-2]
    assert "in 1 group: 1 error, 0 warnings." in lines[-1]
    assert "(1 check)" in text.getvalue()


def test_invalid_condarc_is_described_once(tmp_path: Path, sandbox_home: Path) -> None:
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux"))
    (sandbox_home / ".condarc").write_text("envs_dirs: [a\n")
    res = run_cli("shared", "off", "--site", str(site))
    assert res.returncode == 2
    assert res.stderr.count("not valid YAML") == 1 and "fix it first" in res.stderr


def test_init_says_why_a_login_file_was_chosen_in_full(tmp_path: Path, sandbox_home: Path) -> None:
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux"))
    (sandbox_home / ".bash_profile").write_text("# mine\n")
    res = run_cli("init", "--shell", "bash", "--dry-run", "--site", str(site))
    assert res.returncode == 0, res.stderr
    assert (
        "bash login shells read .bash_profile (the first of .bash_profile, .bash_login, "
        ".profile that exists)" in res.stdout
    )


def test_info_shows_the_installation_description(tmp_path: Path) -> None:
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux"))
    site.write_text(site.read_text() + 'description = "ISIS releases, built by the ops team"\n')
    res = run_cli("info", "--site", str(site))
    assert res.returncode == 0, res.stderr
    assert "description:       ISIS releases, built by the ops team" in res.stdout


def test_info_writes_the_probe_timeout_as_a_duration_not_a_raw_float(tmp_path: Path) -> None:
    """The site's probe_timeout was printed with ``:g``: ``2.481952`` became ``2.48195 s``."""
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux"), timeout=2.481952)
    res = run_cli("info", "--site", str(site))
    assert res.returncode == 0, res.stderr
    (line,) = [line for line in res.stdout.splitlines() if "probe timeout:" in line]
    assert line.split("probe timeout:", 1)[1].strip() == "2.5 s"
    assert "2.48" not in res.stdout
