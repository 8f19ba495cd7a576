"""The startup block for every user of a machine at once, in the system's shell startup files.

``condashare admin init-system`` writes the same managed block ``init`` writes for one user
(:func:`condashare.startup.render_block`), into the files each shell reads for everyone. Which
files those are is the shell records' knowledge (``Shell.system`` in
:mod:`condashare.shells.records`: ``/etc/profile.d/condashare.sh``, the distribution's
``bash.bashrc``/``bashrc`` and ``zshrc``, csh's ``cshrc.d`` or ``profile.d``, fish's system
``conf.d``); this module only resolves them under a root and plans the edits. fish itself is
asked where its system config dir is when it is installed and the root is ``/``.

Files condashare creates carry the "created" flag, so ``--reverse`` deletes them; a block added
to a distribution's file is removed byte for byte. Users who also ran ``init`` do not get the
setup twice: every block skips itself when one already ran in the same shell, and a user's
``~/.config/fish/conf.d/condashare.fish`` even hides the system file of the same name (fish runs
only the first of several same-named ``conf.d`` files).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence

from condashare.files.read import Reader
from condashare.files.write import plan_edit, read_state
from condashare.shells.dialects import DIALECTS, Dialect
from condashare.shells.records import SHELLS as SHELL_RECORDS
from condashare.shells.records import ShellName, SystemBase, shell_names
from condashare.site.file import Site
from condashare.startup.blocks import find_block, install_block, remove_block, render_block
from condashare.startup.plan import FilePlan, InitPlan, StartupTarget, merge_targets

SHELLS: tuple[ShellName, ...] = shell_names()

COMMAND = "condashare admin init-system"
BACKUP_DIR = "var/backups/condashare"  # under the root: where replaced system files are kept


def _names(shells: Sequence[str]) -> list[ShellName]:
    return [s for s in SHELLS if s in shells]


def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def fish_sysconf_dir(root: str) -> str:
    """fish's system config dir: asked from fish itself for the running system (Homebrew keeps
    it under its prefix), else ``<root>/etc/fish``."""
    fish = shutil.which("fish")
    if os.path.realpath(root) == "/" and fish:
        try:
            proc = subprocess.run(
                [fish, "--no-config", "-c", "echo $__fish_sysconf_dir"],
                capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            found = proc.stdout.strip()
            if proc.returncode == 0 and found.startswith("/") and "\n" not in found:
                return found
        except (OSError, subprocess.SubprocessError):
            pass
    return _under(root, "/etc/fish")


def system_targets(root: str, shells: Sequence[str]) -> list[StartupTarget]:
    """The system files for ``shells`` on the system under ``root`` (``/`` for this one), as
    the shell records place them (:attr:`condashare.shells.records.Shell.system`)."""
    wanted = set(shells)
    bases: dict[SystemBase, Callable[[], str]] = {
        "root": lambda: root,
        "fish": functools.cache(lambda: fish_sysconf_dir(root)),
    }

    def is_file(path: str) -> bool:
        return os.path.isfile(_under(root, path))

    def is_dir(path: str) -> bool:
        return os.path.isdir(_under(root, path))

    placed = []
    for record in SHELL_RECORDS:
        if record.name not in wanted:
            continue
        for placement in record.system:
            chosen = placement.choose(is_file, is_dir)
            if chosen is not None:
                path = _under(bases[chosen.base](), chosen.path)
                placed.append((record, path, chosen.why.format(path=chosen.path)))
    return merge_targets(placed)


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
