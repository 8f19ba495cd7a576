"""``condashare info``: where are we, which shared installation applies, does it answer."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from condashare.wording import seconds_text

if TYPE_CHECKING:
    from condashare.host.mounts import Mount
    from condashare.info import InfoReport
    from condashare.render import Output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "info",
        help="show host, mounts, site file and the chosen shared installation",
        description="Show the host, the mounts of the home and of each installation, the site "
        "file used, the installation chosen for this machine and why, and which conda runs. "
        "Shares are probed in a child process with a timeout, so a dead share cannot hang it.",
    )
    add_site_options(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


def _mount_text(mount: Mount | None) -> str:
    from condashare.host.mounts import classify

    if mount is None:
        return classify(None).reason
    kind = mount.classification.reason
    extras = [mount.access_text]
    if mount.is_network:
        if mount.hard is not None:
            extras.append("hard" if mount.hard else "soft")
        if mount.nfs_version:
            extras.append(f"vers={mount.nfs_version}")
        if mount.locks_local_only:
            extras.append("locks local only")
    extra = f", {', '.join(extras)}" if extras else ""
    return f"{mount.mountpoint} ({mount.fstype} from {mount.source}; {kind}{extra})"


def render_info(report: InfoReport, out: Output) -> None:
    host = report.host
    out.heading("Host")
    override = " (from CONDASHARE_PLATFORM)" if host.platform_source != "detected" else ""
    out.field("platform", f"{host.platform}{override}")
    out.field("conda subdir", host.platform.conda_subdir)
    if host.rosetta:
        out.field("rosetta", "yes (x86_64 process on Apple silicon)")
    out.field("system", host.distro_name or host.distro_id or "unknown")
    if host.glibc:
        out.field("glibc", host.glibc)
    out.field("login shell", host.login_shell or "unknown")
    out.field("home", host.home)
    out.field("home filesystem", _mount_text(host.home_mount))
    if report.facts is not None:
        out.field("match facts", report.facts.describe())
    out.line()
    out.heading("Site file")
    if report.site is None:
        out.status("info", "none found; looked at:")
        for cand in report.site_candidates:
            out.line(f"      {cand.path}  ({cand.found_by})")
    elif report.site.found_by == "--prefix":
        out.field("source", "--prefix (site file ignored)")
    else:
        out.field("file", f"{report.site.path}  (found by {report.site.found_by})")
        if report.site.name:
            out.field("site", report.site.name)
        out.field("probe timeout", seconds_text(report.site.probe_timeout))
    if report.site is not None:
        out.line()
        out.heading("Installations")
        chosen = report.choice.installation if report.choice else None
        verdicts = {v.installation.name: v for v in report.choice.verdicts} if report.choice else {}
        forced = report.choice is not None and report.choice.reason.startswith("forced")
        for status in report.installations:
            inst = status.installation
            mark = "*" if inst == chosen else " "
            arch = "/".join(inst.arch) if inst.arch else "any arch"
            out.line(f"{mark} {inst.name}: {inst.prefix}  [{inst.os}, {arch}]")
            if inst.description:
                out.field("description", inst.description, indent=4)
            out.field("mount", _mount_text(status.mount), indent=4)
            if status.probe is None:
                out.field("state", "not probed (another OS)", indent=4)
            else:
                sev = "ok" if status.probe.ok else "error"
                out.status(sev, status.probe.describe(), indent=4)
            if status.evidence is not None:
                out.field("files say", status.evidence.describe(), indent=4)
            verdict = verdicts.get(inst.name)
            if verdict is not None and (not inst.match.empty or forced):
                label = "rules hold" if verdict.fits else "not for here"
                out.field(label, verdict.why, indent=4)
        if report.choice is not None:
            label = "chosen" if chosen else "no choice"
            out.field(label, report.choice.reason, indent=0, width=10)
    out.line()
    out.heading("conda")
    out.field("CONDA_EXE", report.conda.conda_exe or "not set")
    out.field("conda on PATH", report.conda.on_path or "not found")
    if report.notes or report.problems:
        out.line()
    for note in report.notes:
        out.status("info", note)
    from condashare.findings import Group
    from condashare.render import finding_lines

    out.findings(finding_lines([Group(p) for p in report.problems]))


def run(args: argparse.Namespace) -> int:
    from condashare.findings import exit_code_for
    from condashare.info import gather_info
    from condashare.render import Output
    from condashare.site.locate import LocateRequest

    out = Output(args.color)
    report = gather_info(LocateRequest(site_path=args.site, prefix=args.prefix))
    code = exit_code_for(problems=bool(report.problems))
    if args.json:
        out.json("info", report, code)
    else:
        render_info(report, out)
    return code
