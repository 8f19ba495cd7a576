"""Startup-file checks against real files in a sandbox home and real shells."""

from __future__ import annotations

import time

import pytest
from conftest import need_shell
from support.doctor_env import make_ctx, make_install, nfs_mount, problems, site_file

from condashare.doctor.checks import startup
from condashare.doctor.model import Severity
from condashare.host.mounts import read_mount_table

pytestmark = pytest.mark.shells


def conda_init_block(prefix: str) -> str:
    """What `conda init bash` writes (conda-facts §7)."""
    return f"""# >>> conda initialize >>>
# !! Contents within this block are managed by 'conda init' !!
__conda_setup="$('{prefix}/bin/conda' 'shell.bash' 'hook' 2> /dev/null)"
if [ $? -eq 0 ]; then
    eval "$__conda_setup"
else
    if [ -f "{prefix}/etc/profile.d/conda.sh" ]; then
        . "{prefix}/etc/profile.d/conda.sh"
    else
        export PATH="{prefix}/bin:$PATH"
    fi
fi
unset __conda_setup
# <<< conda initialize <<<
"""


@pytest.fixture
def two_os_site(tmp_path):
    make_install(tmp_path / "anaconda3_linux")
    make_install(tmp_path / "anaconda3_macOS", "macos")
    return site_file(
        tmp_path,
        ("linux", str(tmp_path / "anaconda3_linux"), "linux"),
        ("mac", str(tmp_path / "anaconda3_macOS"), "macos"),
    )


def test_conda_init_block_pointing_at_the_other_os(sandbox_home, tmp_path, two_os_site):
    (sandbox_home / ".bashrc").write_text(conda_init_block(str(tmp_path / "anaconda3_macOS")))
    f = startup.check_conda_init(make_ctx(sandbox_home, two_os_site))
    assert f[0].severity == Severity.ERROR and "macos installation" in f[0].title


def test_conda_init_block_in_a_home_shared_between_oses(sandbox_home, tmp_path, two_os_site):
    (sandbox_home / ".bashrc").write_text(conda_init_block(str(tmp_path / "anaconda3_linux")))
    local = startup.check_conda_init(make_ctx(sandbox_home, two_os_site))
    assert local[0].severity == Severity.INFO  # local home: only the slow-start hint
    shared = [*read_mount_table(), nfs_mount(str(sandbox_home))]
    f = startup.check_conda_init(make_ctx(sandbox_home, two_os_site, mounts=shared))
    assert f[0].severity == Severity.WARNING and "hard-codes" in f[0].title


def test_no_conda_init_block_is_quiet(sandbox_home, two_os_site):
    (sandbox_home / ".bashrc").write_text("alias ll='ls -l'\n")
    assert startup.check_conda_init(make_ctx(sandbox_home, two_os_site))[0].severity == Severity.OK


def test_duplicate_and_conflicting_blocks(sandbox_home, tmp_path, two_os_site):
    block = conda_init_block(str(tmp_path / "anaconda3_linux"))
    (sandbox_home / ".bashrc").write_text(block + "\n" + block)
    (sandbox_home / ".zshrc").write_text("# >>> condashare >>>\n:\n# <<< condashare <<<\n" * 2)
    f = startup.check_duplicates(make_ctx(sandbox_home, two_os_site))
    titles = " | ".join(x.title for x in f)
    assert "2 `conda init` blocks" in titles and "2 condashare blocks" in titles
    (sandbox_home / ".bashrc").write_text(block)
    (sandbox_home / ".zshrc").write_text("# >>> condashare >>>\n:\n# <<< condashare <<<\n")
    assert not problems(startup.check_duplicates(make_ctx(sandbox_home, two_os_site)))


def test_bash_profile_hides_profile(sandbox_home):
    (sandbox_home / ".profile").write_text("export FROM_PROFILE=1\n")
    (sandbox_home / ".bash_profile").write_text("export PATH=$HOME/bin:$PATH\n")
    f = startup.check_bash_profile(make_ctx(sandbox_home))
    assert f[0].severity == Severity.WARNING and "hides" in f[0].title
    # Confirm with the real bash that .profile really is skipped, then fixed by the advice.
    bash = need_shell("bash")
    from condashare.bounded.commands import run_command

    env = {"HOME": str(sandbox_home), "PATH": "/usr/bin:/bin"}
    out = run_command([bash, "-l", "-c", "echo ${FROM_PROFILE:-unset}"], env, 10).stdout
    assert out.strip() == b"unset"
    (sandbox_home / ".bash_profile").write_text("[ -f ~/.profile ] && . ~/.profile\n")
    out = run_command([bash, "-l", "-c", "echo ${FROM_PROFILE:-unset}"], env, 10).stdout
    assert out.strip() == b"1"
    assert startup.check_bash_profile(make_ctx(sandbox_home))[0].severity == Severity.OK


@pytest.mark.parametrize(
    ("shell", "rcfile", "noisy"),
    [
        ("bash", ".bashrc", 'echo "Welcome back"\n'),
        ("zsh", ".zshenv", 'echo "Welcome back"\n'),
        ("tcsh", ".tcshrc", 'echo "Welcome back"\n'),
        ("fish", ".config/fish/config.fish", 'echo "Welcome back"\n'),
    ],
)
def test_startup_file_printing_in_non_interactive_shells(sandbox_home, shell, rcfile, noisy):
    path = need_shell(shell)
    rc = sandbox_home / rcfile
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(noisy)
    f = startup.check_stdout(make_ctx(sandbox_home, shell=path))
    assert f[0].severity == Severity.ERROR and "prints to stdout" in f[0].title
    assert "Welcome back" in f[0].detail
    quiet = {
        "bash": 'case $- in *i*) echo "Welcome back";; esac\n',
        "zsh": '[[ -o interactive ]] && echo "Welcome back"\n',
        "tcsh": 'if ($?prompt) echo "Welcome back"\n',
        "fish": 'status is-interactive; and echo "Welcome back"\n',
    }[shell]
    rc.write_text(quiet)
    assert startup.check_stdout(make_ctx(sandbox_home, shell=path))[0].severity == Severity.OK


@pytest.mark.fuse
def test_shell_that_hangs_on_a_dead_share_is_reported_not_waited_for(sandbox_home, fuse_share):
    bash = need_shell("bash")
    (fuse_share.backing / "conda.sh").write_text(":\n")
    (sandbox_home / ".bashrc").write_text(f". {fuse_share.mount}/conda.sh\n")
    ctx = make_ctx(sandbox_home, shell=bash)
    ctx.timeout = 1.0
    fuse_share.block()
    start = time.monotonic()
    f = startup.check_stdout(ctx)
    assert time.monotonic() - start < 6
    assert f[0].severity == Severity.ERROR and "does not finish" in f[0].title


def test_slow_shell_start_fires_and_fast_one_is_quiet(sandbox_home):
    bash = need_shell("bash")
    (sandbox_home / ".bashrc").write_text("sleep 1.2\n")
    f = startup.check_start_time(make_ctx(sandbox_home, shell=bash))
    assert f[0].severity == Severity.WARNING and "to start" in f[0].title
    assert f[0].data["seconds"] >= 1.2
    (sandbox_home / ".bashrc").write_text("alias ll='ls -l'\n")
    ok = startup.check_start_time(make_ctx(sandbox_home, shell=bash))
    assert ok[0].severity == Severity.OK


def test_condashare_block_presence(sandbox_home, two_os_site):
    bash = need_shell("bash")
    f = startup.check_condashare_block(make_ctx(sandbox_home, two_os_site, shell=bash))
    assert f[0].severity == Severity.WARNING and "condashare init" in f[0].fix
    # A block that is not what init writes for this site (hand-edited, or an older site file)
    (sandbox_home / ".bashrc").write_text("# >>> condashare >>>\n:\n# <<< condashare <<<\n")
    f = startup.check_condashare_block(make_ctx(sandbox_home, two_os_site, shell=bash))
    assert f[0].severity == Severity.WARNING and "out of date" in f[0].title
    # What `condashare init --probe-timeout 0.7` really writes is current
    from condashare.files.write import apply_edit
    from condashare.site.file import SiteCandidate, load_site
    from condashare.startup import plan_init

    site = load_site(SiteCandidate(str(two_os_site), "--site"))
    (sandbox_home / ".bashrc").write_text("alias ll='ls -l'\n")
    env = {"HOME": str(sandbox_home)}
    for edit in plan_init(site, ["bash"], str(sandbox_home), env, 0.7).edits:
        apply_edit(edit)
    f = startup.check_condashare_block(make_ctx(sandbox_home, two_os_site, shell=bash))
    assert f[0].severity == Severity.OK and "current" in f[0].title
    # The admins add an installation: the block no longer knows every installation
    with two_os_site.open("a") as fh:
        fh.write("[[installations]]\nname='arm'\nprefix='/nfs/arm'\nos='linux'\narch=['arm64']\n")
    f = startup.check_condashare_block(make_ctx(sandbox_home, two_os_site, shell=bash))
    assert f[0].severity == Severity.WARNING and ".bashrc" in f[0].title


def mamba_init_block(prefix: str) -> str:
    """What `mamba shell init --shell bash` (mamba 2) writes."""
    hook = '"$MAMBA_EXE" shell hook --shell bash --root-prefix "$MAMBA_ROOT_PREFIX" 2> /dev/null'
    return f"""# >>> mamba initialize >>>
# !! Contents within this block are managed by 'mamba shell init' !!
export MAMBA_EXE='{prefix}/bin/mamba';
export MAMBA_ROOT_PREFIX='{prefix}';
__mamba_setup="$({hook})"
if [ $? -eq 0 ]; then
    eval "$__mamba_setup"
else
    alias mamba="$MAMBA_EXE"  # Fallback on help from mamba activate
fi
unset __mamba_setup
# <<< mamba initialize <<<
"""


def test_doctor_finds_the_block_init_wrote_for_fish(sandbox_home, two_os_site):
    """After `init --shell fish` the block is in conf.d/condashare.fish, which fish reads."""
    fish = need_shell("fish")
    from condashare.files.write import apply_edit
    from condashare.site.file import SiteCandidate, load_site
    from condashare.startup import plan_init

    site = load_site(SiteCandidate(str(two_os_site), "--site"))
    for edit in plan_init(site, ["fish"], str(sandbox_home), {"HOME": str(sandbox_home)}).edits:
        apply_edit(edit)
    f = startup.check_condashare_block(make_ctx(sandbox_home, two_os_site, shell=fish))
    assert f[0].severity == Severity.OK, f[0].title
    assert "conf.d/condashare.fish" in f[0].title


def test_doctor_reports_mamba_initialize_blocks(sandbox_home, tmp_path, two_os_site):
    """`init --replace-conda-init` handles mamba blocks; the doctor must see them too."""
    mac = str(tmp_path / "anaconda3_macOS")
    (sandbox_home / ".bashrc").write_text(mamba_init_block(mac))
    f = startup.check_conda_init(make_ctx(sandbox_home, two_os_site))
    assert f[0].severity == Severity.ERROR and "macos installation" in f[0].title
    assert "mamba" in f[0].title
    linux = mamba_init_block(str(tmp_path / "anaconda3_linux"))
    (sandbox_home / ".bashrc").write_text(linux + linux)
    (sandbox_home / ".zshrc").write_text("# >>> condashare >>>\n:\n# <<< condashare <<<\n" + linux)
    titles = " | ".join(
        x.title for x in startup.check_duplicates(make_ctx(sandbox_home, two_os_site))
    )
    assert "2 `mamba shell init` blocks" in titles
    assert ".zshrc: both a condashare block and a `mamba shell init` block" in titles
