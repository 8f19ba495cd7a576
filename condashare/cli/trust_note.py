"""What ``init`` says before writing a block that sources files others can change.

Not a command (it is not in ``COMMAND_MODULES``): one call from ``init`` keeps that command's
code about startup files and this about trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from condashare.files.read import Reader
    from condashare.host.detect import Host
    from condashare.render import Output
    from condashare.site.file import Site

# The conda script each shell's block sources.
_SCRIPT_OF = {"tcsh": "conda.csh", "csh": "conda.csh", "fish": "conda.fish"}


def refuse_untrusted(
    site: Site, host: Host, reader: Reader, shells: Sequence[str], out: Output, require: bool
) -> bool:
    """Warn about every file the block would make shells source (and the site file that named
    them) that someone besides root, the admins and the user can change; True when ``require``
    (``--require-trusted``) means init must stop, also when trust cannot be established."""
    from condashare.render import shown
    from condashare.site.trust import by_cause, examine_site

    scripts = sorted({_SCRIPT_OF.get(s, "conda.sh") for s in shells})
    verdicts = examine_site(site, host.os, reader.mounts, reader.timeout, scripts=scripts)
    doubtful = [v for v in verdicts if v.status != "trusted"]
    if not doubtful:
        return False
    severity = "error" if require else "warning"
    for writer, affected in by_cause(doubtful):
        names = ", ".join(shown(v.role) for v in affected)
        out.status(severity, f"{writer.who()} can change what the block sources: {names}")
        out.line(f"    {shown(writer.describe())}")
    for verdict in doubtful:
        if verdict.status == "unknown":
            out.status(severity, shown(verdict.summary()))
    if require:
        out.warn(
            "condashare: error: refusing to set up shells that would source files others can "
            "change (--require-trusted); ask your administrators to fix the modes above. "
            "Nothing was changed."
        )
        return True
    out.line(
        "    whoever can change these decides what the shells run; "
        "--require-trusted refuses in this case"
    )
    return False
