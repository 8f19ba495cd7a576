"""``condashare verify``: check environments and package caches against conda's records."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from condashare.errors import ExitCode
from condashare.wording import plural, seconds_text

if TYPE_CHECKING:
    from condashare.render import Output
    from condashare.verify.api import Progress, ProgressInfo, VerifyReport


TARGET_LABELS = {
    "env": "environment",
    "cache": "package cache",
    "root": "installation",
    "none": "not verified",
    "missing": "not found",
    "error": "not verified",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "verify",
        help="verify environments, package caches or whole installations against conda's records",
        description="Check every file of conda environments (conda-meta/*.json) and package "
        "caches (info/paths.json, repodata_record.json): missing, truncated or altered files, "
        "broken symlinks, unreadable records, NFS leftovers (.nfs*), conda trash, partial "
        "extractions, stale repodata caches, packages linked from shared caches. Work runs in "
        "child processes, so a share that stops answering is reported as unresponsive "
        "instead of hanging the command.",
        epilog="PATH may be an environment (has conda-meta/), a package cache (urls.txt or "
        "*/info/paths.json) or an installation root (base env, envs/*, pkgs/). Exit codes: "
        "0 clean, 1 problems found, 2 bad usage (a PATH is none of these), 3 incomplete "
        "(unresponsive share, worker failure).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="environment, cache or install")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="stat every file: existence, size, symlinks (default)"
    )
    mode.add_argument(
        "--deep",
        action="store_true",
        help="also hash every file (sha256) and archive (md5, sha256)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="worker processes (default: number of CPUs; more on a network filesystem)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="re-hash everything instead of trusting remembered hashes",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=None,
        help="silence after which a share counts as unresponsive (default 15)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


def progress_line(info: ProgressInfo, deep: bool) -> str:
    """One line of progress: a percentage, what was read, the pace and the time left."""
    from condashare.render import human_bytes

    parts = [f"{info.fraction:4.0%}", f"{info.files:,} files checked"]
    if deep:
        hashed = f"{human_bytes(info.bytes_hashed)} hashed"
        if info.elapsed >= 0.5:
            hashed += f" ({human_bytes(int(info.bytes_hashed / info.elapsed))}/s)"
        parts.append(hashed)
    left = info.seconds_left
    if left is None:
        parts.append("ETA --:--")
    else:
        minutes, seconds = divmod(int(left + 0.5), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    return "  " + " · ".join(parts)


def _progress_printer(deep: bool) -> Progress:
    width = 0

    def show(info: ProgressInfo) -> None:
        nonlocal width
        line = progress_line(info, deep)
        sys.stderr.write("\r" + line.ljust(width))  # shorter lines must not leave debris
        width = max(width, len(line))
        sys.stderr.flush()

    return show


def render_report(report: VerifyReport, out: Output) -> None:
    from condashare.findings import group_by_cause
    from condashare.render import finding_lines

    for target in report.targets:
        extra = ""
        if target.kind == "root":
            caches = plural(len(target.caches), "package cache")
            extra = f" ({plural(len(target.envs), 'env')}, {caches})"
        label = TARGET_LABELS.get(target.kind, target.kind)
        out.line(
            f"{target.path}: {label}{extra}" + (f" - {target.detail}" if target.detail else "")
        )
    s = report.stats
    out.line(
        f"{report.mode} check: {plural(s.files, 'file')} in {plural(s.records, 'package record')} "
        f"and {plural(s.cache_entries, 'cache entry', 'cache entries')}, "
        f"{s.bytes_hashed / (1 << 20):,.1f} MiB hashed ({s.cache_hits} cached), "
        f"{seconds_text(s.seconds)}"
    )
    if report.cache_note:
        out.line(report.cache_note)
    out.line()
    bad = report.bad_paths
    if bad:
        # a PATH that is not a conda tree was not checked at all: never "no problems found"
        out.status(
            "error",
            f"{len(bad)} of {plural(len(report.targets), 'PATH')} not verified: not a conda "
            "environment, package cache or installation (or not found)",
        )
    if not report.findings:
        if len(bad) < len(report.targets):
            out.status("ok", "no problems found" + (" in the other PATHs" if bad else ""))
        return
    out.findings(
        finding_lines(group_by_cause(report.findings), body_indent=6, show_fix=lambda f: True)
    )
    counts: dict[str, int] = {}
    for finding in report.findings:
        counts[finding.severity.value] = counts.get(finding.severity.value, 0) + 1
    out.line()
    names = {"error": "error", "warning": "warning", "info": "note"}
    order = ("error", "warning", "info")
    out.line(", ".join(plural(counts[sev], names[sev]) for sev in order if sev in counts))
    if report.incomplete:
        out.line("verification incomplete: some paths were not checked")


def run(args: argparse.Namespace) -> int:
    from condashare.render import Output
    from condashare.verify.api import DEFAULT_TIMEOUT, verify

    out = Output(args.color)
    if args.jobs is not None and args.jobs < 1:
        out.warn("condashare verify: --jobs must be at least 1")
        return ExitCode.USAGE
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if timeout <= 0:
        out.warn("condashare verify: --timeout must be positive")
        return ExitCode.USAGE
    progress = _progress_printer(bool(args.deep)) if sys.stderr.isatty() else None
    report = verify(
        args.paths,
        deep=bool(args.deep),
        jobs=args.jobs,
        use_cache=not args.no_cache,
        timeout=timeout,
        progress=progress,
    )
    if progress is not None:
        sys.stderr.write("\r" + " " * 100 + "\r")
    code = report.exit_code
    for bad in report.bad_paths:
        out.warn(f"condashare verify: {bad.path}: {bad.detail or bad.kind}")
    if args.json:
        out.json("verify", report, code)
    else:
        render_report(report, out)
    return code
