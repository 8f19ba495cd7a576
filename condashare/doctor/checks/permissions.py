"""Permissions & security: who can change the shared installation, umask, environments.txt.

Every user sources the shared ``conda.sh`` at login and runs its Python: a file there writable
by others is a way to run code as everyone (a supply-chain risk). The scan runs in a child
process, bounded in entries and time, most sensitive directories first.
"""

from __future__ import annotations

import os

from condashare.bounded.liveness import probe_words
from condashare.bounded.paths import run_program
from condashare.bounded.programs import permscan
from condashare.doctor.checks._util import MISSING, UNRESPONSIVE, error, exists, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding, FixOutcome
from condashare.pathtext import within
from condashare.render import shell_word, shown
from condashare.wording import agree, plural


def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_install_tree(ctx: Context) -> list[Finding]:
    cid = "permissions.install_tree"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen; nothing to scan")]
    max_entries = 500_000 if ctx.deep else 20_000
    timeout = max(ctx.timeout * 2, 4.0) * (4 if ctx.deep else 1)
    res = run_program(
        permscan,
        [inst.prefix, str(max_entries), str(timeout * 0.7), str(os.getuid())],
        timeout,
        inst.prefix,
    )
    if res.status == UNRESPONSIVE:
        return [
            error(cid, f"{inst.prefix} stopped answering during the scan", "See mount.responsive.")
        ]
    if not res.ok:
        return [warning(cid, f"cannot scan {inst.prefix}: {probe_words(res)}")]
    d = res.data
    counts = d["counts"]
    scanned = f"{d['scanned']} entries scanned" + (
        "" if d["complete"] else " (stopped early; --deep scans more)"
    )
    data = {"prefix": inst.prefix, **d}
    findings: list[Finding] = []
    if counts["world"]:
        findings.append(
            error(
                cid,
                f"{plural(counts['world'], 'file')} in the shared installation "
                f"{agree(counts['world'], 'is', 'are')} world-writable",
                "Anyone on any machine mounting the share can change programs every user runs "
                f"(e.g. {', '.join(map(shown, d['world'][:3]))}). {scanned}.",
                f"Tell your administrators: chmod -R o-w {shell_word(inst.prefix)}",
                **data,
            )
        )
    if counts["group"]:
        findings.append(
            warning(
                cid,
                f"{plural(counts['group'], 'file')} in the shared installation "
                f"{agree(counts['group'], 'is', 'are')} group-writable",
                f"Every member of the owning group can change them (e.g. {shown(d['group'][0])}). "
                "Fine for "
                f"a small admin group, risky for a broad one. {scanned}.",
                f"Administrators: check the group, or chmod -R g-w {shell_word(inst.prefix)}",
                **data,
            )
        )
    if counts["mine"]:
        findings.append(
            warning(
                cid,
                f"{plural(counts['mine'], 'file')} in the shared installation "
                f"{agree(counts['mine'], 'belongs', 'belong')} to you",
                "You can change the shared installation by accident (a `conda install` into "
                f"base, a pip install), breaking it for everyone (e.g. {shown(d['mine'][0])}).",
                "Leave the shared installation to its administrators; use your own environments "
                "(conda create -n NAME ...).",
                **data,
            )
        )
    owners = {int(k): v for k, v in d["owners"].items()}
    unexpected = sorted(u for u in owners if u not in (0, d["root_uid"]))
    if unexpected:
        names = ", ".join(f"{_user(u)} ({plural(owners[u], 'file')})" for u in unexpected[:5])
        findings.append(
            warning(
                cid,
                "files in the shared installation are owned by unexpected users",
                f"The installation belongs to {_user(d['root_uid'])}, but files are owned by "
                f"{names}: whoever owns a file can change it for everyone.",
                "Administrators: chown the tree back to the installation's owner.",
                **data,
            )
        )
    return findings or [ok(cid, f"shared installation not writable by others ({scanned})", **data)]


def check_conda_sh(ctx: Context) -> list[Finding]:
    """Is conda.sh there? Who can change it (and its directories) is permissions.trust's."""
    cid = "permissions.conda_sh"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen")]
    path = os.path.join(inst.prefix, "etc", "profile.d", "conda.sh")
    res = ctx.probe(path)
    if res.status == UNRESPONSIVE:
        return [error(cid, f"{path} does not answer", "See mount.responsive.")]
    if res.status == MISSING:
        return [
            warning(
                cid,
                f"{path} is missing",
                "Startup files source it to define `conda`.",
                "Check the installation prefix in the site file.",
            )
        ]
    return [ok(cid, f"{path} is there")]


def check_umask(ctx: Context) -> list[Finding]:
    cid = "permissions.umask"
    mask = os.umask(0o022)
    os.umask(mask)
    data = {"umask": f"{mask:04o}"}
    if not mask & 0o002:
        return [
            warning(
                cid,
                f"umask {mask:04o}: files you create are writable by everyone",
                "Environments and caches you create (possibly on a share others mount) can be "
                "changed by any user.",
                "Set `umask 022` (or 027) in your startup file.",
                **data,
            )
        ]
    if mask & 0o044 == 0o044 and ctx.site is not None:
        return [
            info(
                cid,
                f"umask {mask:04o}: files you create are private",
                "Environments you create for colleagues will not be readable by them.",
                "Use `umask 022` when building environments meant to be shared.",
                **data,
            )
        ]
    return [ok(cid, f"umask {mask:04o}", **data)]


ENVIRONMENTS_TXT_PATH = os.path.join(".conda", "environments.txt")


def _env_lines(ctx: Context) -> tuple[str, list[str]] | None:
    from condashare.doctor.checks._util import read_small

    path = os.path.join(ctx.home, ENVIRONMENTS_TXT_PATH)
    status, raw = read_small(ctx, path)
    if status != "ok":
        return None
    return path, raw.decode("utf-8", "replace").splitlines()


def classify_entries(ctx: Context, lines: list[str]) -> dict[str, list[str]]:
    """Sort environments.txt entries into other_os, vanished, unreachable and fine."""
    out: dict[str, list[str]] = {"other_os": [], "vanished": [], "unreachable": [], "fine": []}
    for line in lines:
        entry = line.strip()
        if not entry:
            continue
        if any(within(entry, o.prefix) for o in ctx.other_installations):
            out["other_os"].append(entry)
            continue
        state = exists(ctx, os.path.join(entry, "conda-meta"))
        if state == "ok":
            out["fine"].append(entry)
        elif state == MISSING and exists(ctx, os.path.dirname(entry.rstrip("/"))) == "ok":
            out["vanished"].append(entry)  # its parent answers: the env itself is gone
        else:
            out["unreachable"].append(entry)  # share unmounted or down: never prune these
    return out


def check_environments_txt(ctx: Context) -> list[Finding]:
    cid = "permissions.environments_txt"
    got = _env_lines(ctx)
    if got is None:
        return [ok(cid, "no ~/.conda/environments.txt")]
    path, lines = got
    kinds = classify_entries(ctx, lines)
    findings: list[Finding] = []
    if kinds["vanished"]:
        findings.append(
            warning(
                cid,
                f"{plural(len(kinds['vanished']), 'environment')} in {path} no longer "
                f"{agree(len(kinds['vanished']), 'exists', 'exist')}",
                "\n".join(map(shown, kinds["vanished"])),
                "Remove them: condashare doctor permissions.environments_txt --fix",
                True,
                path=path,
                vanished=kinds["vanished"],
            )
        )
    if kinds["other_os"]:
        findings.append(
            warning(
                cid,
                f"{plural(len(kinds['other_os']), 'environment')} in {path} "
                f"{agree(len(kinds['other_os']), 'belongs', 'belong')} to another OS",
                "The home is shared between OSes, so conda on each OS records its environments "
                "in the same file and lists the other OS's ones, which cannot run here:\n"
                + "\n".join(map(shown, kinds["other_os"])),
                "Harmless but confusing; they are kept because the other OS uses them. "
                "Prefer `conda activate NAME` over paths from `conda env list`.",
                path=path,
                other_os=kinds["other_os"],
            )
        )
    if kinds["unreachable"]:
        findings.append(
            info(
                cid,
                f"{plural(len(kinds['unreachable']), 'environment')} in {path} could not be "
                "checked",
                "Their share is unmounted or not answering; they are left alone:\n"
                + "\n".join(map(shown, kinds["unreachable"])),
                path=path,
                unreachable=kinds["unreachable"],
            )
        )
    fine = len(kinds["fine"])
    every = "the one environment" if fine == 1 else f"all {plural(fine, 'environment')}"
    return findings or [ok(cid, f"{every} in {path} {agree(fine, 'exists', 'exist')}")]


def fix_environments_txt(ctx: Context, findings: list[Finding], apply: bool) -> FixOutcome:
    """Drop vanished environments from ~/.conda/environments.txt (backup kept, atomic)."""
    from condashare.files.write import apply_edit, plan_edit
    from condashare.host import dirs

    cid = "permissions.environments_txt"
    got = _env_lines(ctx)
    if got is None:
        return FixOutcome(cid, "nothing to do: no environments.txt")
    path, lines = got
    vanished = set(classify_entries(ctx, lines)["vanished"])
    if not vanished:
        return FixOutcome(cid, "nothing to do: every listed environment exists")

    def drop_vanished(old: bytes | None) -> bytes | None:
        text = (old or b"").decode("utf-8", "surrogateescape")
        kept = [ln for ln in text.splitlines(keepends=True) if ln.strip() not in vanished]
        return "".join(kept).encode("utf-8", "surrogateescape")

    edit = plan_edit(path, drop_vanished, "drop vanished environments", reader=ctx.reader)
    summary = f"remove {plural(len(vanished), 'vanished environment')} from {path}"
    if not apply:
        return FixOutcome(cid, summary, edit.diff(), (edit.target,))
    backups = dirs.backup_dir(ctx.env)
    done = apply_edit(edit, backups, ctx.reader)  # bounded when the home is on a share
    saved = (done.backup,) if done.backup else ()
    return FixOutcome(cid, summary, edit.diff(), (edit.target,), saved, applied=True)


INSTALL_TREE = Check(
    "permissions.install_tree",
    "permissions",
    "shared installation not writable by others",
    check_install_tree,
    budget=20,
)
CONDA_SH = Check("permissions.conda_sh", "permissions", "conda.sh present", check_conda_sh)
UMASK = Check("permissions.umask", "permissions", "umask", check_umask, budget=3)
ENVIRONMENTS_TXT = Check(
    "permissions.environments_txt",
    "permissions",
    "~/.conda/environments.txt entries",
    check_environments_txt,
    fixer=fix_environments_txt,
)
