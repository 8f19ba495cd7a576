"""Who can change what every shell runs: the site file, each conda script and every directory
on the way to them (see :mod:`condashare.site.trust` for the rules).

One finding per cause: a world-writable parent of the prefix is one problem, however many
scripts lie below it.
"""

from __future__ import annotations

from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.render import shell_word, shown
from condashare.site.trust import PathTrust, Writer, by_cause, examine_site


def _fix(writer: Writer) -> str:
    path = shown(writer.path)
    if writer.kind == "everyone":
        return f"Administrators: chmod o-w {shell_word(writer.path)}"
    if writer.kind == "group":
        name = writer.who().removeprefix("group ")
        return (
            f"Administrators: chmod g-w {shell_word(writer.path)}; or, if only administrators "
            f"are in group {shown(name)}, name it in the site file "
            f'([admin] group = "{shown(name)}").'
        )
    if writer.how == "owns the entry":
        return f"Administrators: move {path} out of the sticky directory (owned by an admin)."
    name = writer.who().removeprefix("user ")
    return (
        f"Administrators: chown {path} to root or an administrator; or, if {shown(name)} is "
        "one, list the account in the site file ([admin] owners)."
    )


def findings_for(cid: str, verdicts: list[PathTrust]) -> list[Finding]:
    """One finding per writer and entry that lets someone untrusted change what shells run."""
    findings: list[Finding] = []
    for writer, affected in by_cause(verdicts):
        what = "\n".join(
            shown(f"{v.role}: {v.path}" + (" (missing: can be created)" if v.missing else ""))
            for v in affected
        )
        make = error if writer.kind == "everyone" else warning
        findings.append(
            make(
                cid,
                f"{writer.who()} can change what every shell runs: {shown(writer.describe())}",
                "Whoever can change these decides what every user's shell sources and which "
                f"installation it uses:\n{what}",
                _fix(writer),
                False,
                writer={"who": writer.who(), "path": writer.path, "how": writer.how},
                affected=[v.path for v in affected],
            )
        )
    for verdict in verdicts:
        if verdict.status == "unknown":
            hint = "See mount.responsive." if verdict.unresponsive else ""
            findings.append(
                info(
                    cid,
                    f"cannot tell who can change the {shown(verdict.role)}",
                    shown(verdict.summary()),
                    hint,
                    path=verdict.path,
                )
            )
    return findings


def check_trust(ctx: Context) -> list[Finding]:
    cid = "permissions.trust"
    if ctx.site is None:
        return [info(cid, "no site file or installation; nothing to examine")]
    verdicts = examine_site(ctx.site, ctx.host.os, ctx.mounts, ctx.timeout)
    data = {"paths": [v.to_json() for v in verdicts]}
    found = findings_for(cid, verdicts)
    if found:
        return found
    return [ok(cid, "only root and the admins can change the site file and conda scripts", **data)]


TRUST = Check(
    "permissions.trust",
    "permissions",
    "only admins can change what every shell runs",
    check_trust,
    description="The site file, each installation's conda.sh/conda.csh/conda.fish and every "
    "directory on the way to them: who besides root, the admins and you can change them.",
)
