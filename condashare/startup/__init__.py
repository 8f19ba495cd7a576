"""The managed condashare block in shell startup files: find, insert, remove; ``conda/mamba
initialize`` blocks; plan and apply ``init`` and ``init --reverse``.

The block sources the chosen installation's ``conda.sh`` / ``conda.csh`` / ``conda.fish``
directly (no Python, no conda at shell start) after a mount-table check and a bounded probe, so
a dead share costs at most the probe timeout. Which shell reads which file is the shell records'
business (:mod:`condashare.shells`); the templates and quoting are the dialects'.
"""

from __future__ import annotations

from condashare.startup.apply import ApplyResult, apply_plan, init_lock
from condashare.startup.blocks import (
    BEGIN,
    END,
    StartupError,
    find_block,
    install_block,
    remove_block,
    render_block,
)
from condashare.startup.conda_blocks import (
    DISABLED_PREFIX,
    CondaBlock,
    disable_conda_blocks,
    enable_conda_blocks,
    find_conda_blocks,
)
from condashare.startup.plan import (
    FilePlan,
    InitPlan,
    StartupTarget,
    choose_shells,
    default_shells,
    existence,
    plan_init,
    plan_reverse,
    targets_for,
)

__all__ = [
    "BEGIN",
    "DISABLED_PREFIX",
    "END",
    "ApplyResult",
    "CondaBlock",
    "FilePlan",
    "InitPlan",
    "StartupError",
    "StartupTarget",
    "apply_plan",
    "choose_shells",
    "default_shells",
    "disable_conda_blocks",
    "enable_conda_blocks",
    "existence",
    "find_block",
    "find_conda_blocks",
    "init_lock",
    "install_block",
    "plan_init",
    "plan_reverse",
    "remove_block",
    "render_block",
    "targets_for",
]
