"""Verification engine: environments and package caches against conda's own records.

A peer of :mod:`condashare.doctor` (``condashare verify`` is its own command; the doctor's
integrity check calls it). This package ``__init__`` imports nothing, because the worker
modules run in a spawned ``python -I -S`` too and must start with the standard library only.

Coordinator side (this process; never touches the trees):

- :mod:`~condashare.verify.api`: the public entry points (``verify``, ``user_targets``,
  ``integrity_findings``) and the records they return (from :mod:`~.report`).
- :mod:`~condashare.verify.engine`: the scheduler (queue, worker pool, pipelining, timeouts).
- :mod:`~condashare.verify.pool`: one worker process with its unanswered tasks.
- :mod:`~condashare.verify.collect`: answers of workers turned into observations.
- :mod:`~condashare.verify.findings`: observations turned into findings (all user-facing texts).
- :mod:`~condashare.verify.links`: envs that link packages from a shared cache.
- :mod:`~condashare.verify.hashcache`: the local SQLite cache of hashes.
- :mod:`~condashare.verify.holders`: which local processes hold leftover files open.

Shared by both sides: :mod:`~condashare.verify.protocol` (typed tasks, ops, wire format).

Worker side (child processes; standard library only): :mod:`~condashare.verify.worker` (the
task loop and its dispatch table), :mod:`~.reader` (heartbeats, hashing, cache lookups),
:mod:`~.inventory` (what a path is, leftovers, cache inventory) and :mod:`~.records`
(files against records).
"""
