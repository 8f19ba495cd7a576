"""Host & site: the platform, the site file, the installation for this host and its real files."""

from __future__ import annotations

from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.render import shown


def check_platform(ctx: Context) -> list[Finding]:
    cid = "host.platform"
    plat = ctx.host.platform
    if ctx.platform_error:
        return [
            error(
                cid,
                "CONDASHARE_PLATFORM is not a platform",
                f"{ctx.platform_error}. Detected platform {plat} is used instead.",
                "Fix or remove it: unset CONDASHARE_PLATFORM (or set e.g. linux-x86_64, "
                "macos-arm64).",
                platform=str(plat),
            )
        ]
    notes = [f"conda subdir {plat.conda_subdir}"]
    notes.extend(ctx.host.notes)
    if ctx.host.platform_source != "detected":
        return [
            info(
                cid,
                f"platform {plat} (set by CONDASHARE_PLATFORM, machine says {ctx.host.machine})",
                "; ".join(notes),
                "Unset CONDASHARE_PLATFORM to use the detected platform.",
                platform=str(plat),
                source=ctx.host.platform_source,
            )
        ]
    return [
        ok(
            cid,
            f"platform {plat} ({ctx.host.distro_name or ctx.host.distro_id})",
            "; ".join(notes),
            platform=str(plat),
            source="detected",
        )
    ]


def check_site(ctx: Context) -> list[Finding]:
    cid = "host.site"
    if ctx.site_error:
        return [
            error(
                cid,
                "the site file cannot be used",
                ctx.site_error,
                "Ask your administrators to fix the site file, or point at another with "
                "--site FILE (or CONDASHARE_SITE).",
            )
        ]
    if ctx.site is None:
        looked = "\n".join(shown(f"{c.path} ({c.found_by})") for c in ctx.site_candidates)
        return [
            warning(
                cid,
                "no site file found",
                "Without a site file condashare does not know the shared installations. "
                f"Looked at:\n{looked}",
                "Ask your administrators for the site file and pass --site FILE, set "
                "CONDASHARE_SITE, or use --prefix PATH for one installation.",
                looked_at=[c.path for c in ctx.site_candidates],
            )
        ]
    if ctx.site.found_by == "--prefix":
        return [ok(cid, "installation given with --prefix (site file not used)")]
    names = ", ".join(f"{i.name} ({i.os})" for i in ctx.site.installations)
    return [
        ok(
            cid,
            f"site file {ctx.site.path} is valid",
            f"found by {ctx.site.found_by}; installations: {names}",
            path=ctx.site.path,
            found_by=ctx.site.found_by,
        )
    ]


def check_installation(ctx: Context) -> list[Finding]:
    cid = "host.installation"
    if ctx.choice is None:
        return [info(cid, "no site file, so no shared installation to choose")]
    inst = ctx.choice.installation
    if inst is None:
        return [
            error(
                cid,
                f"no shared installation for this {ctx.host.platform} host",
                ctx.choice.reason,
                "Ask your administrators to add an [[installations]] entry for "
                f'os = "{ctx.host.os}" (arch {ctx.host.arch}) to '
                f"{ctx.site.path if ctx.site else 'the site file'}.",
            )
        ]
    return [
        ok(
            cid,
            f"installation {inst.name!r} at {inst.prefix}",
            ctx.choice.reason,
            name=inst.name,
            prefix=inst.prefix,
        )
    ]


def check_installation_files(ctx: Context) -> list[Finding]:
    cid = "host.installation_files"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen; nothing to identify")]
    evidence = ctx.evidence
    assert evidence is not None
    verdict = evidence.matches(ctx.host.platform)
    data = {"prefix": inst.prefix, "evidence": evidence.describe()}
    if verdict is True:
        return [ok(cid, f"{inst.prefix} holds {evidence.describe()}", **data)]
    if verdict is False:
        return [
            error(
                cid,
                f"installation {inst.name!r} is not for this {ctx.host.platform} host",
                f"{inst.prefix} holds {evidence.describe()}. Using it here fails with "
                "'cannot execute binary file' or wrong-architecture errors.",
                "The site file points this OS at another OS's installation: ask your "
                "administrators to correct the prefix of installation "
                f"{inst.name!r} in {ctx.site.path if ctx.site else 'the site file'}.",
                **data,
            )
        ]
    if evidence.probe.status in ("unresponsive", "error"):
        return [
            error(
                cid,
                f"cannot read the files of {inst.prefix}",
                evidence.describe(),
                "See the mount checks: condashare doctor mount",
                **data,
            )
        ]
    if evidence.probe.status == "missing":
        return [
            error(
                cid,
                f"{inst.prefix} is not a conda installation (no bin/python, no conda-meta)",
                evidence.describe(),
                "Check the prefix in the site file, and that the share is mounted.",
                **data,
            )
        ]
    return [
        warning(
            cid, f"cannot tell which platform {inst.prefix} is for", evidence.describe(), **data
        )
    ]


def check_target(ctx: Context) -> list[Finding]:
    cid = "host.target"
    if not ctx.target:
        return [info(cid, "no --target environment given")]
    from condashare.site.installations import identify_installation

    evidence = identify_installation(ctx.target, ctx.timeout)
    verdict = evidence.matches(ctx.host.platform)
    here = f"{ctx.host.platform} ({ctx.host.platform.conda_subdir})"
    data = {"prefix": ctx.target, "evidence": evidence.describe(), "status": evidence.probe.status}
    if verdict is True:
        return [ok(cid, f"{ctx.target} holds {evidence.describe()}", **data)]
    if verdict is False:
        return [
            error(
                cid,
                f"{ctx.target} is built for another platform, not for this {here} host",
                f"It holds {evidence.describe()}: its programs fail here with 'cannot execute "
                "binary file' or wrong-architecture errors. A shared envs dir that serves "
                "several OSes (or a home shared between them) shows such environments.",
                "Use the environment built for this OS (condashare envs lists this host's "
                "shared environments), or create one here: conda create -p NEW_PREFIX ...",
                **data,
            )
        ]
    if evidence.probe.status in ("unresponsive", "error"):
        return [error(cid, f"cannot read the files of {ctx.target}", evidence.describe(), **data)]
    if evidence.probe.status == "missing":
        # a typo in --target must not end in "No problems found": nothing was examined
        return [
            error(
                cid,
                f"--target {ctx.target} is not a conda environment",
                "It has no conda-meta/ records (or does not exist), so the checks that examine "
                "the --target environment had nothing to examine.",
                "Give an environment's prefix (`conda env list` shows them) and run again.",
                **data,
            )
        ]
    title = f"cannot tell which platform {ctx.target} is for"
    return [info(cid, title, evidence.describe(), **data)]


PLATFORM = Check("host.platform", "host", "platform detected", check_platform, budget=5)
SITE = Check("host.site", "host", "site file found and valid", check_site, budget=5)
INSTALLATION = Check(
    "host.installation",
    "host",
    "a shared installation for this host",
    check_installation,
    budget=5,
)
INSTALLATION_FILES = Check(
    "host.installation_files",
    "host",
    "installation files match this OS and CPU",
    check_installation_files,
    description="reads bin/python's ELF/Mach-O header (or a conda-meta record) through a probe",
)
TARGET = Check(
    "host.target",
    "host",
    "the --target environment is for this OS and CPU",
    check_target,
    description="reads the environment's bin/python header (or a conda-meta record's subdir)",
)
