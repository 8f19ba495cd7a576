"""``condashare doctor --report FILE``: one self-contained file to send to the administrators.

Users who cannot repair a shared environment need to tell someone who can, with everything
that person needs: who ran it where and when, the findings with their details and fixes (as
``doctor -v`` shows them) and the JSON document (``doctor --json``) for tools. Written through
the one writer of user files (atomic, bounded on a share); an existing file is never replaced.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import socket
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from condashare.doctor.context import Context
    from condashare.doctor.runner import RunReport

JSON_MARK = "----- JSON (condashare doctor --json) -----"


def _refusal(path: str, reason: str) -> Exception:
    from condashare.cli import ConfigError

    return ConfigError(f"--report {path}: {reason}")


def check_report_path(path: str) -> str:
    """The absolute path to write; ConfigError when something is there already (checked
    before the run, so nobody waits for a report that cannot be written)."""
    from condashare.files.write import EditError, read_state

    target = os.path.abspath(path)
    try:
        state = read_state(target)
    except EditError as exc:
        raise _refusal(path, f"cannot write there: {exc}") from None
    if state.data is not None:
        raise _refusal(path, "exists already; not overwriting it (choose another name)")
    return target


def report_text(report: RunReport, ctx: Context | None, args: argparse.Namespace, code: int) -> str:
    """Header, the verbose text report and the JSON document, as one text."""
    from condashare import __version__
    from condashare.admin.policy import account_name
    from condashare.cli.doctor import document, render_report
    from condashare.render import Output

    text = io.StringIO()
    out = Output("never", stdout=text, stderr=io.StringIO(), env={})
    out.line("condashare doctor report")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out.line(f"written {stamp} by {account_name(os.getuid())} (uid {os.getuid()})")
    out.line(f"host {socket.gethostname()}, condashare {__version__}")
    out.line("command: condashare doctor " + shlex.join(sys.argv[2:]))
    active = ctx.env.get("CONDA_PREFIX") if ctx is not None else None
    out.line(f"active environment: {active or 'none'}")
    out.line()
    render_report(report, ctx, out, verbose=True)
    out.line()
    out.line(JSON_MARK)
    out.json("doctor", document(report, ctx, args), code)
    return text.getvalue()


def save_report(path: str, text: str) -> None:
    """Create ``path`` with ``text``; refuses (ConfigError) if it appeared since the check."""
    from condashare.errors import ExitCode
    from condashare.files.write import EditError, apply_edit, plan_edit

    def create(old: bytes | None) -> bytes:
        if old is not None:
            raise _refusal(path, "exists already; not overwriting it (choose another name)")
        return text.encode("utf-8")

    try:
        apply_edit(plan_edit(path, create, "write the doctor report"))
    except EditError as exc:
        if exc.exit_code != ExitCode.USAGE:
            raise  # the system refused the write or the share did not answer: exit 3
        raise _refusal(path, str(exc)) from None
