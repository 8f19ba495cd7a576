"""The startup block for every user of a machine at once, in the system's shell startup files.

``condashare admin init-system`` writes the same managed block ``init`` writes for one user
(:func:`condashare.startup.render_block`), into the files each shell reads for everyone:

- ``/etc/profile.d/condashare.sh``: login shells of sh, bash, dash and ksh (``/etc/profile``
  sources ``/etc/profile.d/*.sh`` on Debian, Ubuntu, RHEL, SUSE and Arch);
- ``/etc/bash.bashrc`` (Debian) or ``/etc/bashrc`` (RHEL): interactive bash that is not a
  login shell — a managed block in the distribution's file, only where that file exists;
- ``/etc/zsh/zshrc`` (Debian) or ``/etc/zshrc`` (RHEL, macOS): interactive zsh;
- ``/etc/csh/cshrc.d/condashare.csh`` (Debian's ``/etc/csh.cshrc`` sources that dir) or else
  ``/etc/profile.d/condashare.csh`` (RHEL's ``csh.cshrc``/``csh.login`` source it);
- fish's ``conf.d`` in its system config dir (``/etc/fish/conf.d``; fish itself is asked where
  that is when it is installed and the root is ``/``).

Files condashare creates carry the "created" flag, so ``--reverse`` deletes them; a block added
to a distribution's file is removed byte for byte. Users who also ran ``init`` do not get the
setup twice: every block skips itself when one already ran in the same shell, and a user's
``~/.config/fish/conf.d/condashare.fish`` even hides the system file of the same name (fish runs
only the first of several same-named ``conf.d`` files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from condashare.files.read import Reader
from condashare.files.write import plan_edit, read_state
from condashare.shells.dialects import DIALECTS, Dialect
from condashare.shells.records import ShellName, shell_names
from condashare.site.file import Site
from condashare.startup.blocks import find_block, install_block, remove_block, render_block
from condashare.startup.plan import FilePlan, InitPlan, StartupTarget

SHELLS: tuple[ShellName, ...] = shell_names()

COMMAND = "condashare admin init-system"
BACKUP_DIR = "var/backups/condashare"  # under the root: where replaced system files are kept


def _names(shells: Sequence[str]) -> list[ShellName]:
    return [s for s in SHELLS if s in shells]


def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def fish_conf_dir(root: str) -> str:
    """fish's system ``conf.d``: asked from fish itself for the running system (Homebrew keeps
    it under its prefix), else ``<root>/etc/fish/conf.d``."""
    fish = shutil.which("fish")
    if os.path.realpath(root) == "/" and fish:
        try:
            proc = subprocess.run(
                [fish, "--no-config", "-c", "echo $__fish_sysconf_dir"],
                capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            found = proc.stdout.strip()
            if proc.returncode == 0 and found.startswith("/") and "\n" not in found:
                return os.path.join(found, "conf.d")
        except (OSError, subprocess.SubprocessError):
            pass
    return _under(root, "/etc/fish/conf.d")


def system_targets(root: str, shells: Sequence[str]) -> list[StartupTarget]:
    """The system files for ``shells`` on the system under ``root`` (``/`` for this one)."""
    out: list[StartupTarget] = []
    wanted = set(shells)
    if wanted & {"sh", "bash"}:
        out.append(StartupTarget(
            _under(root, "/etc/profile.d/condashare.sh"), "posix", ("sh", "bash"),
            "login shells of sh, bash, dash and ksh source /etc/profile.d/*.sh",
        ))  # fmt: skip
    if "bash" in wanted:
        for name in ("/etc/bash.bashrc", "/etc/bashrc"):
            if os.path.isfile(_under(root, name)):
                out.append(StartupTarget(
                    _under(root, name), "posix", ("bash",),
                    f"interactive bash that is not a login shell reads {name}",
                ))  # fmt: skip
                break
    if "zsh" in wanted:
        name = "/etc/zsh/zshrc" if os.path.isdir(_under(root, "/etc/zsh")) else "/etc/zshrc"
        out.append(StartupTarget(
            _under(root, name), "posix", ("zsh",), f"every interactive zsh reads {name}"
        ))  # fmt: skip
    if "tcsh" in wanted:
        if os.path.isdir(_under(root, "/etc/csh/cshrc.d")):
            path, why = "/etc/csh/cshrc.d/condashare.csh", "/etc/csh.cshrc sources /etc/csh/cshrc.d"
        else:
            path, why = "/etc/profile.d/condashare.csh", "csh.cshrc sources /etc/profile.d/*.csh"
        out.append(StartupTarget(_under(root, path), "csh", ("tcsh",), f"every tcsh: {why}"))
    if "fish" in wanted:
        out.append(StartupTarget(
            os.path.join(fish_conf_dir(root), "condashare.fish"), "fish", ("fish",),
            "fish runs the files in its system conf.d at every start",
        ))  # fmt: skip
    return out


def plan_system_init(
    site: Site,
    root: str = "/",
    shells: Sequence[str] = SHELLS,
    timeout: float | None = None,
    reader: Reader | None = None,
) -> InitPlan:
    """Plan the system-wide block for ``shells``; nothing is written."""
    reader = reader or Reader.for_this_host()
    plans: list[FilePlan] = []
    for target in system_targets(root, shells):
        dialect = DIALECTS[target.dialect]

        def make(flags: Sequence[bytes], d: Dialect = dialect) -> bytes:
            return render_block(site, d, timeout, flags, COMMAND)

        def transform(old: bytes | None, path: str = target.path) -> bytes | None:
            return install_block(old, make, path)

        state = read_state(target.path, reader)
        edit = plan_edit(target.path, transform, "add the condashare block", state)
        plans.append(FilePlan(edit, target.dialect, target.shells, target.why))
    return InitPlan("init", _names(shells), plans)


def plan_system_reverse(
    root: str = "/", shells: Sequence[str] = SHELLS, reader: Reader | None = None
) -> InitPlan:
    """Plan removing the system-wide block from every file that carries it."""
    reader = reader or Reader.for_this_host()
    plans: list[FilePlan] = []
    for target in system_targets(root, shells):
        state = read_state(target.path, reader)
        if state.data is None or find_block(state.data, target.path) is None:
            continue

        def transform(old: bytes | None, path: str = target.path) -> bytes | None:
            return remove_block(old, path)

        edit = plan_edit(target.path, transform, "remove the condashare block", state)
        plans.append(FilePlan(edit, target.dialect, target.shells, target.why))
    return InitPlan("reverse", _names(shells), plans)


def backup_dir(root: str) -> str:
    return _under(root, "/" + BACKUP_DIR)
