"""Who can repair an environment: a fix is only true for the user when they can write it.

The verification engine's fixes are commands (``conda install -p PREFIX --force-reinstall``).
On a shared environment the user cannot write, running them fails; what helps is telling
its owner or the administrators, with a report they can act on (``doctor --report FILE``).
Writable means what conda itself tests: ``PREFIX/conda-meta/history`` opens for append.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

from condashare.bounded.paths import PathOp, run_probes
from condashare.doctor.context import Context
from condashare.doctor.model import Finding
from condashare.render import shown


@dataclass(frozen=True)
class Writability:
    """Can this user write ``prefix`` (None: could not tell), and who owns it."""

    prefix: str
    writable: bool | None
    owner: str = ""


def writability(prefixes: Sequence[str], timeout: float) -> dict[str, Writability]:
    """conda's writability test for each prefix, in children, under one deadline."""
    from condashare.admin.policy import account_name

    unique = list(dict.fromkeys(prefixes))
    probes: list[tuple[PathOp, str, str]] = [
        ("appendable", os.path.join(p, "conda-meta", "history"), "0") for p in unique
    ]
    out: dict[str, Writability] = {}
    for prefix, res in zip(unique, run_probes(probes, timeout), strict=True):
        if not res.ok or res.data.get("appendable") is None:
            out[prefix] = Writability(prefix, None)
            continue
        uid = int(res.data.get("stat", {}).get("uid", -1))
        out[prefix] = Writability(prefix, bool(res.data["appendable"]), account_name(uid))
    return out


def for_who_can_fix(findings: list[Finding], ctx: Context) -> list[Finding]:
    """Findings on environments the user cannot write get a fix that names who can."""
    prefixes = [str(f.data["prefix"]) for f in findings if f.fix and f.data.get("prefix")]
    if not prefixes:
        return findings
    known = writability(prefixes, ctx.timeout)
    out: list[Finding] = []
    for finding in findings:
        state = known.get(str(finding.data.get("prefix", "")))
        if state is None or state.writable is not False or not finding.fix:
            out.append(finding)
            continue
        owner = shown(state.owner)
        fix = (
            f"You cannot write {shown(state.prefix)}: only its owner ({owner}) or your "
            "administrators can repair it. Send them a report: condashare doctor --report FILE\n"
            f"What they would run: {finding.fix}"
        )
        data = {**finding.data, "writable": False, "owner": state.owner}
        out.append(dataclasses.replace(finding, fix=fix, data=data))
    return out
