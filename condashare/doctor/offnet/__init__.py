"""Move a user's writable state off a network home onto this machine's disk, reversibly.

What NFS breaks is the state that is written all the time and locked: conda's package cache
(repodata cache locks, a SQLite shard cache in WAL mode), the directory new environments go to,
IPython's ``history.sqlite``, Jupyter's runtime files and its SQLite databases. The doctor can
only advise about locks; it can move that state. Every change is a setting in a user file:

- ``~/.condarc``: a local package cache and a local envs dir first in ``pkgs_dirs``/``envs_dirs``
  (tagged ``#!top`` so no other file's entries come before them); the dirs conda used so far stay
  listed after them, so existing environments stay visible and a host without the local dir falls
  back to them. Only when no local dir exists: ``no_lock: true`` (conda reads it through its
  context at every lock, the same switch ``--no-lock`` sets) and ``use_lockfiles: false`` (mamba).
- ``<IPYTHONDIR>/profile_*/ipython_config.py``: a marked block setting
  ``c.HistoryManager.hist_file`` to a per-host local path (``:memory:`` when it cannot be made).
- ``<JUPYTER_CONFIG_DIR>/jupyter_config.py`` (read by every Jupyter application: the server,
  ``jupyter server list``, lab, notebook, console): a marked block giving them a per-host local
  runtime dir (``JUPYTER_RUNTIME_DIR``, which Jupyter takes only from the environment; the
  kernels a server starts inherit it) and local paths for ``nbsignatures.db`` and
  ``file_id_manager.db``.

Each file is planned (old and new bytes, a diff), written by the one writer of user files
(:mod:`condashare.files.write`: atomic, backed up, bounded on a share) and recorded with its old
bytes, so ``doctor --fix --reverse`` restores it exactly, or removes just what was added when the
file changed since. The record lives at ``$XDG_STATE_HOME/condashare/offnet.json`` (default
``~/.local/state``) on Linux *and* macOS, so a home shared by both finds one record.

Where "local" is: :func:`condashare.host.dirs.local_state_root` (asked through
:func:`choose_local_root`) — the first of ``$CONDASHARE_LOCAL_DIR``,
``/var/tmp``, ``/tmp`` that this machine's mount table shows on a local filesystem and that is a
writable directory. ``/var/tmp`` exists on every Linux and macOS machine, is on the machine's
own disk and survives reboots (``/tmp`` is a tmpfs on many distributions). Under it,
``condashare-USER/`` holds conda's dirs (the same text in a shared ``~/.condarc`` names each
machine's own disk) and ``condashare-USER/HOST/`` the IPython and Jupyter files, HOST being the
short host name computed when IPython or Jupyter starts, so two machines sharing the home never
share a file even where ``/var/tmp`` itself were shared.
"""

from __future__ import annotations

from condashare.doctor.offnet.fix import Plan, apply, apply_reverse, plan, plan_reverse
from condashare.doctor.offnet.places import (
    BEGIN,
    Spot,
    choose_local_root,
    find_spots,
    jupyter_data_dir,
)

__all__ = [
    "BEGIN",
    "Plan",
    "Spot",
    "apply",
    "apply_reverse",
    "choose_local_root",
    "find_spots",
    "jupyter_data_dir",
    "plan",
    "plan_reverse",
]
