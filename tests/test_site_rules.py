"""Match rules per installation: host names, CPU level, NVIDIA GPU, glibc; first match wins,
``info`` says why, ``CONDASHARE_INSTALLATION`` forces one. Facts come from captured texts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from condashare.host.detect import HostInputs, Platform
from condashare.host.machine import (
    MachineFacts,
    apple_generation,
    cpuinfo_flags,
    gather_facts,
    nvidia_driver,
    x86_level,
)
from condashare.site.file import SiteError, parse_site
from condashare.site.installations import choose_installation
from condashare.site.locate import LocateRequest

DATA = Path(__file__).parent / "data"
EPYC = (DATA / "cpuinfo-amd-epyc-zen3.txt").read_text()
LINUX = Platform("linux", "x86_64")

TWO_CLUSTERS = """
[site]
name = "two clusters on one home"

[[installations]]
name = "gpu"
prefix = "/nfs/cpkgs/anaconda3_linux_gpu"
os = "linux"
arch = ["x86_64"]
[installations.match]
hosts = ["gpu*"]
cpu = "x86-64-v3"
gpu = "nvidia"

[[installations]]
name = "avx512"
prefix = "/nfs/cpkgs/anaconda3_linux_v4"
os = "linux"
arch = ["x86_64"]
match = { cpu = "x86-64-v4", glibc = "2.28" }

[[installations]]
name = "linux"
prefix = "/nfs/cpkgs/anaconda3_linux"
os = "linux"

[[installations]]
name = "mac"
prefix = "/nfs/cpkgs/anaconda3_macOS"
os = "macos"
match = { cpu = "apple-m2" }
"""
SITE = parse_site(TWO_CLUSTERS, "site.toml")


def facts(host: str = "login1", cpu: str | None = "x86-64-v3", nvidia: str | None = None,
          glibc: str | None = "2.36") -> MachineFacts:  # fmt: skip
    return MachineFacts(host, cpu, nvidia, glibc)


def test_captured_cpuinfo_is_x86_64_v3():
    flags = cpuinfo_flags(EPYC)
    assert {"avx2", "bmi2", "fma", "movbe"} <= flags and "avx512f" not in flags
    assert x86_level(flags) == 3


def test_levels_from_flags_derived_from_the_captured_cpu():
    """v2 and v4 machines are not available here: their flag sets are the captured Zen 3 one
    with the v3 flags taken away, or the AVX-512 ones added (what such a CPU reports)."""
    flags = cpuinfo_flags(EPYC)
    assert x86_level(flags - {"avx2"}) == 2
    assert x86_level(flags - {"sse4_2"}) == 1
    assert x86_level(flags | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}) == 4
    assert (
        x86_level(flags - {"avx2"} | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})
        == 2
    )  # fmt: skip  (levels are cumulative)


def test_nvidia_driver_versions_from_captured_texts():
    assert nvidia_driver((DATA / "nvidia-version-384.txt").read_text()) == "384.98"
    assert nvidia_driver((DATA / "nvidia-version-565-open.txt").read_text()) == "565.57.01"
    assert nvidia_driver("") is None


def test_apple_generation():
    assert apple_generation("Apple M2 Pro") == 2
    assert apple_generation("Apple M1") == 1
    assert apple_generation("Intel(R) Core(TM) i7-8850H CPU @ 2.60GHz") is None


def test_gather_facts_from_a_captured_proc(tmp_path):
    (tmp_path / "driver" / "nvidia").mkdir(parents=True)
    (tmp_path / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "cpuinfo").write_text(EPYC)
    (tmp_path / "sys" / "kernel" / "hostname").write_text("gpu07\n")
    (tmp_path / "driver" / "nvidia" / "version").write_text(
        (DATA / "nvidia-version-565-open.txt").read_text()
    )
    got = gather_facts("linux", "x86_64", "2.36", str(tmp_path))
    assert got == MachineFacts("gpu07", "x86-64-v3", "565.57.01", "2.36")
    (tmp_path / "driver" / "nvidia" / "version").unlink()
    assert gather_facts("linux", "x86_64", "2.36", str(tmp_path)).nvidia is None
    mac = gather_facts("macos", "arm64", None, str(tmp_path), "mbp", apple_brand="Apple M3 Max")
    assert mac.cpu_level == "apple-m3"


def test_first_matching_rule_wins_and_others_are_explained():
    choice = choose_installation(SITE, LINUX, facts("gpu07.cluster", nvidia="565.57.01"), {})
    assert choice.installation.name == "gpu"
    assert "host gpu07.cluster matches gpu*" in choice.reason
    why = {v.installation.name: (v.fits, v.why) for v in choice.verdicts}
    assert why["avx512"] == (False, "needs CPU x86-64-v4 or later, this one is x86-64-v3")
    assert why["linux"] == (True, "no match rules")
    assert why["mac"][0] is False and "not linux-x86_64" in why["mac"][1]


@pytest.mark.parametrize(
    ("machine", "chosen", "gpu_says"),
    [
        (facts("gpu07"), "linux", "needs an NVIDIA GPU: no driver loaded"),
        (facts("login1", nvidia="565.57.01"), "linux", "login1 matches none of gpu*"),
        (facts("gpu07", cpu="x86-64-v2", nvidia="384.98"), "linux", "needs CPU x86-64-v3"),
        (facts("node3", cpu="x86-64-v4"), "avx512", "node3 matches none of gpu*"),
    ],
)
def test_fallbacks(machine, chosen, gpu_says):
    choice = choose_installation(SITE, LINUX, machine, {})
    assert choice.installation.name == chosen
    assert gpu_says in next(v.why for v in choice.verdicts if v.installation.name == "gpu")


def test_glibc_and_apple_rules():
    old = choose_installation(SITE, LINUX, facts("n", cpu="x86-64-v4", glibc="2.17"), {})
    assert old.installation.name == "linux"
    assert "needs glibc 2.28 or later, this machine has 2.17" in old.verdicts[1].why
    mac = Platform("macos", "arm64")
    assert choose_installation(SITE, mac, facts("m", cpu="apple-m1"), {}).installation is None
    assert choose_installation(SITE, mac, facts("m", cpu="apple-m3"), {}).installation.name == (
        "mac"
    )
    intel_mac = choose_installation(SITE, Platform("macos", "x86_64"), facts("m", cpu=None), {})
    assert intel_mac.installation is None
    assert "match rules hold" in intel_mac.reason


def test_condashare_installation_forces_one():
    env = {"CONDASHARE_INSTALLATION": "avx512"}
    choice = choose_installation(SITE, LINUX, facts("gpu07", nvidia="1.0"), env)
    assert choice.installation.name == "avx512"
    assert choice.reason == "forced by CONDASHARE_INSTALLATION=avx512"
    bad = choose_installation(SITE, LINUX, facts(), {"CONDASHARE_INSTALLATION": "nope"})
    assert bad.installation is None and "no such installation (gpu, avx512" in bad.reason


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ('match = { cpus = "x" }', "match.cpus", "unknown key"),
        ('match = { cpu = "haswell" }', "match.cpu", "must be one of x86-64-v2"),
        ('match = { glibc = "new" }', "match.glibc", "a version such as"),
        ('match = { gpu = "amd" }', "match.gpu", "nvidia"),
        ('match = { hosts = ["gpu *"] }', "match.hosts", "not a host name pattern"),
        ("match = 3", "match", "must be a table"),
    ],
)
def test_bad_rules_are_refused_naming_the_key(table, key, words):
    text = f'[[installations]]\nname = "a"\nprefix = "/a"\nos = "linux"\n{table}\n'
    with pytest.raises(SiteError) as err:
        parse_site(text, "site.toml")
    assert err.value.key == f"installations[0].{key}" and words in err.value.message


def test_info_says_which_rule_matched_and_why_others_did_not(tmp_path):
    from condashare.cli.info import render_info
    from condashare.info import gather_info
    from condashare.render import Output

    site = tmp_path / "site.toml"
    site.write_text(TWO_CLUSTERS)
    (tmp_path / "proc" / "driver" / "nvidia").mkdir(parents=True)
    (tmp_path / "proc" / "cpuinfo").write_text(EPYC)
    (tmp_path / "proc" / "driver" / "nvidia" / "version").write_text(
        (DATA / "nvidia-version-384.txt").read_text()
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    inputs = HostInputs("Linux", "x86_64", env, glibc="2.36", mounts=[],
                        proc_root=str(tmp_path / "proc"), hostname="gpu07.cluster")  # fmt: skip
    report = gather_info(LocateRequest(site_path=str(site), env=env, inputs=inputs, mounts=[]))
    assert report.choice.installation.name == "gpu"
    text = io.StringIO()
    render_info(report, Output("never", stdout=text, env={}))
    shown = text.getvalue()
    assert "host gpu07.cluster, CPU x86-64-v3, NVIDIA driver 384.98, glibc 2.36" in shown
    assert "rules hold:" in shown and "host gpu07.cluster matches gpu*" in shown
    assert "not for here:" in shown and "needs CPU x86-64-v4 or later" in shown


# --- the startup block evaluates the same rules with shell built-ins ----------------------


def test_glibc_globs_accept_exactly_the_versions_at_or_above_the_minimum():
    import fnmatch

    from condashare.host.machine import version_tuple
    from condashare.site.shellrules import at_least_globs

    versions = [f"{a}.{b}" for a in (1, 2, 3, 10) for b in range(0, 120, 1)]
    versions += ["2.28.1", "2.27.9", "2.3.4", "2.100"]
    for minimum in ("2.17", "2.28", "2.3", "2.9", "2.99", "3.0", "2.0"):
        globs = at_least_globs(minimum)
        for v in versions:
            want = version_tuple(v) >= version_tuple(minimum)
            assert any(fnmatch.fnmatchcase(v, g) for g in globs) == want, (minimum, v)


def fake_proc(root: Path, host: str, cpu_flags_extra: str = "", nvidia: bool = False) -> Path:
    (root / "sys" / "kernel").mkdir(parents=True)
    (root / "sys" / "kernel" / "hostname").write_text(host + "\n")
    text = EPYC
    if cpu_flags_extra:  # a v4 CPU: the captured flags plus AVX-512 (see the test above)
        text = text.replace("flags\t\t: ", f"flags\t\t: {cpu_flags_extra} ")
    (root / "cpuinfo").write_text(text)
    if nvidia:
        (root / "driver" / "nvidia").mkdir(parents=True)
        (root / "driver" / "nvidia" / "version").write_text(
            (DATA / "nvidia-version-565-open.txt").read_text()
        )
    return root


AVX512 = "avx512f avx512bw avx512cd avx512dq avx512vl"


@pytest.mark.shells
@pytest.mark.parametrize("shell", ["bash", "dash", "zsh"])
@pytest.mark.parametrize(
    ("host", "extra", "nvidia", "expected"),
    [
        ("gpu07", "", True, "gpu"),
        ("gpu07.cluster.example", "", True, "gpu"),
        ("gpu07", "", False, "linux"),
        ("login1", "", True, "linux"),
        ("node3", AVX512, False, "avx512"),
    ],
)
def test_block_picks_what_python_picks(tmp_path, shell, host, extra, nvidia, expected):
    import subprocess

    from support.shellrun import fake_uname, make_installation, need_shell

    from condashare.host.detect import glibc_version
    from condashare.shells.dialects import PosixDialect
    from condashare.startup import render_block

    exe = need_shell(shell)
    text = TWO_CLUSTERS.replace("/nfs/cpkgs", str(tmp_path / "cpkgs"))
    site = parse_site(text, "site.toml")
    for inst in site.installations:
        make_installation(Path(inst.prefix), inst.name)
    proc = fake_proc(tmp_path / "proc", host, extra, nvidia)
    machine = gather_facts("linux", "x86_64", glibc_version(), str(proc))
    assert choose_installation(site, LINUX, machine, {}).installation.name == expected
    dialect = PosixDialect()
    dialect.proc_root = str(proc)
    rc = tmp_path / "rc.sh"
    rc.write_bytes(render_block(site, dialect))
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    env = {"HOME": str(tmp_path), "PATH": f"{bindir}:/usr/bin:/bin"}
    script = f". '{rc}'; conda --version; set | grep -c '^_condashare_[a-z]' || :"
    out = subprocess.run([exe, "-c", script], capture_output=True, text=True, env=env, timeout=30)
    lines = out.stdout.split()
    assert f"conda-from-{expected}" in out.stdout, out.stdout + out.stderr
    assert out.stderr == "" and lines[-1] == "0"  # quiet, and every variable unset again


def test_init_with_rules_sets_up_every_shell(tmp_path, sandbox_home, cli):
    """tcsh and fish blocks carry the rules too (their /bin/sh helper evaluates them)."""
    site = tmp_path / "site.toml"
    site.write_text(TWO_CLUSTERS)
    ok = cli("init", "--site", str(site), "--shell", "bash", "--shell", "tcsh", "--shell", "fish")
    assert ok.returncode == 0, ok.stderr
    carrying = sorted(
        p.name for p in sandbox_home.rglob("*") if p.is_file() and "_condashare_m=" in p.read_text()
    )
    # .bashrc, .cshrc and conf.d/condashare.fish hold short lines; the code files carry the rules
    assert {"posix.sh", "csh.csh", "fish.fish"} <= set(carrying), carrying
    res = cli(
        "admin", "init-system", "--root", str(tmp_path), "--shell", "fish", "--site", str(site)
    )
    assert res.returncode == 0, res.stdout + res.stderr
