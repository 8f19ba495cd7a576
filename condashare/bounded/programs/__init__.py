"""The programs condashare's children run: real modules, standard library only.

Each module has a ``main()`` that reads its arguments from ``sys.argv`` and, for the one-shot
programs, prints one JSON object (see :mod:`.reply`). They are started through
:func:`condashare.bounded.children.program_argv` as ``python -I -S boot.py ROOT MODULE ARGS``:
no site-packages, no environment variables, nothing but the standard library and this package,
so a child starts in ~10 ms and cannot be broken by the user's Python setup.

- :mod:`.pathops`: one read-only operation on a path (the liveness and listing probes).
- :mod:`.locktest`: a conda-style ``lockf`` lock, tested from a second process.
- :mod:`.sqlitetest`: a SQLite write and lock test.
- :mod:`.diskusage`: free space, and a bounded ``du``.
- :mod:`.condaclean`: what ``conda clean --all`` would free, and inode counts (bounded).
- :mod:`.permscan`: who may write the shared installation (bounded scan).
- :mod:`.iospeed`: metadata latency and read throughput (bounded).

Shared by them: :mod:`.boot` (the start-up), :mod:`.reply` (the answer), :mod:`.walk` (a bounded
directory walk). ``typing`` is not imported at run time (``TYPE_CHECKING = False``): it alone
would add ~5 ms to every child's start.
"""
