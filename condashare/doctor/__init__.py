"""Diagnostics: checks that return findings (data), a registry, and a concurrent runner.

- :mod:`~condashare.doctor.model`: Severity, Finding, Check, FixOutcome.
- :mod:`~condashare.doctor.context`: Context, the facts every check reads; build_context().
- :mod:`~condashare.doctor.registry`: the explicit list of checks; select(), register().
- :mod:`~condashare.doctor.runner`: run_checks() / diagnose(): concurrent, budgeted, bounded
  (each check in a child process of :mod:`condashare.bounded.calls`).
- :mod:`~condashare.doctor.checks`: one module per group of checks.
"""
