"""``condashare shared status|on|off``: shared envs in conda's view, toggled with exact restore."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from condashare.errors import ExitCode

if TYPE_CHECKING:
    from condashare.render import Output
    from condashare.shared_envs.status import SharedStatus
    from condashare.shared_envs.toggle import EditResult


def add_conda_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conda-root",
        metavar="PATH",
        help="root prefix of the conda to reason about (default: from CONDA_EXE, else PATH)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "shared",
        help="show or toggle the shared envs and package caches in conda's view",
        description="Show conda's effective envs_dirs/pkgs_dirs with where each entry comes "
        "from, or put the shared installation's dirs into your condarc (on) and take them out "
        "again (off). off remembers exactly what it removed, so on afterwards restores your "
        "files byte for byte.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="effective envs/pkgs dirs and what to watch")
    status.add_argument("--json", action="store_true", help="print a JSON document")
    on = actions.add_parser("on", help="add this host's shared envs (and pkgs) dir")
    on.add_argument(
        "--pkgs",
        action="store_true",
        help="also add the shared package cache, after your own writable cache",
    )
    on.add_argument("--file", metavar="FILE", help="condarc file to edit (default: see docs)")
    off = actions.add_parser("off", help="remove the shared dirs from your condarc files")
    for p in (status, on, off):
        add_site_options(p)
        add_conda_root_option(p)
    for p in (on, off):
        p.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
        p.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


def render_status(st: SharedStatus, out: Output) -> None:
    out.heading("conda")
    out.field("platform", st.platform)
    if st.installation:
        out.field("installation", f"{st.installation.name}: {st.installation.prefix}")
    root = st.conda_root or "not found"
    out.field("running conda", f"{root}  ({st.conda_root_source or 'unknown'})")
    if st.root_writable is not None:
        out.field("root writable", "yes" if st.root_writable else "no")
    out.field("shared home", "yes" if st.shared_home else "no")
    if st.files:
        out.line()
        out.heading("condarc files conda reads (lowest precedence first)")
        for f in st.files:
            state = "" if f["status"] == "ok" else f"  [{f['status']}]"
            mine = "yours" if f["editable"] else str(f["slot"])
            out.line(f"  {f['path']}  ({mine}){state}")
    for title, entries in (
        ("envs_dirs", st.envs_dirs),
        ("pkgs_dirs", [p.entry for p in st.pkgs_dirs]),
    ):
        out.line()
        out.heading(f"{title} (conda's order)")
        for i, e in enumerate(entries, 1):
            mark = "shared" if e.shared else "own"
            flag = f" #!{e.flag}" if e.flag else ""
            extra = ""
            if title == "pkgs_dirs":
                pkg = st.pkgs_dirs[i - 1]
                w = pkg.writable
                extra = ", writable" if w else (", read-only" if w is False else ", no urls.txt")
                extra = f", {pkg.unreachable}" if pkg.unreachable else extra
            out.line(f"  {i}. {e.path}  [{mark}{extra}]{flag}")
            src = e.source if e.source_kind != "default" else "conda's fixed default"
            reason = f"; {e.shared_reason}" if e.shared_reason else ""
            out.line(f"       from {src}{reason}")
    if st.shadows:
        out.line()
        out.heading("env names in more than one envs dir (first wins)")
        for sh in st.shadows:
            out.line(f"  {sh.name}: {sh.winner} hides {', '.join(sh.hidden)}")
    if st.remembered:
        out.line()
        out.status(
            "info",
            "`shared off` is remembered for: "
            + ", ".join(st.remembered)
            + " (`shared on` restores it)",
        )
    if st.notes:
        out.line()
        from condashare.findings import Group
        from condashare.render import finding_lines

        out.findings(finding_lines([Group(n) for n in st.notes]))


def render_edit(result: EditResult, out: Output, verb: str, dry_run: bool) -> None:
    for note in result.notes:
        out.status("info", note)
    for change in result.changes:
        what = ", ".join(change.items)
        if change.action == "restore":
            # the same word undoes an `on` (the items go) and an `off` (they come back)
            undone, how = ("on", "without") if verb == "off" else ("off", "with")
            what = f"as before `shared {undone}`, {how} {what}"
        if dry_run:
            diff = change.diff()
            if diff:
                out.block(diff, tabs=True)
            else:
                out.line(f"(no textual change to {change.path})")
        else:
            where = (
                change.path
                if change.path == change.target
                else (f"{change.path} -> {change.target}")
            )
            out.status("ok", f"{change.action}: {where}: {what}")
    if not result.changes:
        out.status("ok", f"`shared {verb}`: nothing to change")
    for warning in result.warnings:
        out.status("warning", warning)


def run(args: argparse.Namespace) -> int:
    from condashare.conda.condarc import CondarcError
    from condashare.files.read import UserFileError
    from condashare.files.write import EditError, EditUnresponsive
    from condashare.findings import exit_code_for
    from condashare.render import Output
    from condashare.shared_envs.setup import resolve_setup
    from condashare.shared_envs.status import shared_status
    from condashare.shared_envs.toggle import PartlyWritten, shared_off, shared_on

    out = Output(args.color)
    setup = resolve_setup(site_path=args.site, prefix=args.prefix, conda_root=args.conda_root)
    if args.action == "status":
        st = shared_status(setup)
        code: int = exit_code_for(problems=bool(st.problems))
        if args.json:
            out.json("shared status", st, code)
        else:
            render_status(st, out)
        return code
    try:
        if args.action == "on":
            result = shared_on(setup, pkgs=args.pkgs, file=args.file, dry_run=args.dry_run)
        else:
            result = shared_off(setup, dry_run=args.dry_run)
    except (CondarcError, EditError, UserFileError, PartlyWritten) as exc:
        # Refused files (exit 2) are found while planning: nothing was written. A write the
        # system refused or a share that stopped answering (exit 3) says what was kept.
        written = exc.written if isinstance(exc, PartlyWritten) else []
        error = exc.error if isinstance(exc, PartlyWritten) else exc
        # 2 for a refused file, 3 when the share did not answer or only part was written
        code = ExitCode.INCOMPLETE if written and isinstance(error, EditError) else error.exit_code
        line = error.line if isinstance(error, CondarcError) else None
        path = error.result.path if isinstance(error, UserFileError) else error.path
        if args.json:
            doc = {"error": str(error), "path": path, "line": line, "written": written}
            out.json(f"shared {args.action}", doc, code)
        out.warn(f"condashare: error: {error}")
        if written:
            out.warn(f"files already written: {', '.join(written)}")
        elif not isinstance(error, EditUnresponsive):
            out.warn("nothing was written")
        return code
    if args.json:
        data = {
            "applied": result.applied,
            "notes": result.notes,
            "warnings": result.warnings,
            "changes": [
                {
                    "path": c.path,
                    "target": c.target,
                    "action": c.action,
                    "items": c.items,
                    "diff": c.diff(),
                }
                for c in result.changes
            ],
        }
        out.json(f"shared {args.action}", data, ExitCode.OK)
    else:
        render_edit(result, out, args.action, args.dry_run)
    return ExitCode.OK
