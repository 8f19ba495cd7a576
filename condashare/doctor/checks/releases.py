"""Shared releases: your env names against the releases', and unfrozen releases for admins.

conda finds ``-n NAME`` in the first envs dir that has it (conda-facts §2): an env of yours
named like a release hides it, or is hidden by it, depending on the order of ``envs_dirs``, and
``conda create -n NAME`` acts on whichever comes first. Run by an account that can write the
share with the shared envs dir first, that replaces the release for everyone (seen on a real
site). The CEP 22 frozen marker (``conda-meta/frozen``) makes conda refuse installs, updates and
removals in a release (not ``conda create`` over it: conda 26.7 removes the old env without
looking at the marker, seen here); an account that can write the share should see which
releases lack it.
"""

from __future__ import annotations

import os

from condashare.admin.frozen import MAX_MARKER_BYTES, Marker, read_marker
from condashare.bounded.paths import MISSING, OK, run_probes
from condashare.doctor.checks._util import UNRESPONSIVE, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.pathtext import within
from condashare.render import shell_word, shown
from condashare.wording import agree, plural

MAX_ENVS = 100_000


def _own_envs_dirs(ctx: Context) -> list[str]:
    """``~/.conda/envs`` and every configured envs dir outside the site's installations."""
    shared = [i.prefix for i in ctx.site.installations] if ctx.site else []
    dirs = [os.path.join(ctx.home, ".conda", "envs"), *ctx.conda_config.envs_dirs]
    out: list[str] = []
    for path in dirs:
        path = os.path.normpath(path)
        if path not in out and not any(within(path, p) for p in shared):
            out.append(path)
    return out


def _writable_by_me(ctx: Context, path: str, uid: int) -> bool:
    if uid == os.getuid():
        return True
    return not ctx.is_remote(path) and os.access(path, os.W_OK)


def check_name_clash(ctx: Context) -> list[Finding]:
    cid = "releases.name_clash"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen; no shared releases to compare with")]
    listing = ctx.probe(inst.envs_dir, "envs", str(MAX_ENVS))
    if listing.status == UNRESPONSIVE:
        return [warning(cid, f"{inst.envs_dir} does not answer", "See mount.responsive.")]
    if not listing.ok:
        return [info(cid, f"the shared releases cannot be listed: {listing.describe()}")]
    releases = set(listing.data.get("envs", []))
    order = ctx.conda_config.envs_dirs
    findings: list[Finding] = []
    looked = 0
    for envs_dir in _own_envs_dirs(ctx):
        mine = ctx.probe(envs_dir, "envs", str(MAX_ENVS))
        if mine.status != OK:
            continue
        if not _writable_by_me(ctx, envs_dir, int(mine.data["stat"]["uid"])):
            continue
        looked += 1
        for name in sorted(releases & set(mine.data.get("envs", []))):
            findings.append(_clash(inst.envs_dir, envs_dir, name, order))
    if findings:
        return findings
    return [
        ok(
            cid,
            f"none of your envs is named like one of the {len(releases)} shared releases",
            f"{plural(looked, 'envs dir')} of yours compared with {inst.envs_dir}",
        )
    ]


def _clash(shared_dir: str, own_dir: str, raw: str, order: list[str]) -> Finding:
    mine, release = os.path.join(own_dir, raw), os.path.join(shared_dir, raw)
    name = shown(raw)
    positions = {d: i for i, d in reversed(list(enumerate(order)))}
    if shared_dir in positions and own_dir in positions:
        first = mine if positions[own_dir] < positions[shared_dir] else release
        now = f"With your envs_dirs, `conda activate {name}` takes {shown(first)}."
    else:
        now = (
            "Both dirs are not in your envs_dirs now; they collide as soon as they are (for "
            "instance with `condashare shared on`, or when you use the shared conda)."
        )
    return warning(
        "releases.name_clash",
        f"your env '{name}' has the name of a shared release",
        f"{shown(mine)}\n{shown(release)}\n{now} `conda create -n {name}`, "
        f"`conda install -n {name}` and "
        f"`conda remove -n {name}` act on the first one found: for an account that can write "
        "the share, with the shared envs dir first, `conda create -n` replaces the release "
        "for every user.",
        f"Rename yours: conda rename -p {shell_word(mine)} {shell_word(raw + '-mine')}",
        env=raw,
        yours=mine,
        release=release,
    )


def _markers(ctx: Context, envs_dir: str) -> tuple[str, list[tuple[str, Marker]]]:
    """Every release of ``envs_dir`` and its frozen marker, each read by a probe program.

    Probes, not a function in a child: this runs inside the doctor's check child, whose answer
    pipe a forked grandchild stuck on the share would keep open (the check would never end).
    Returns ("", markers) or (why they could not be read, []).
    """
    listing = ctx.probe(envs_dir, "envs", str(MAX_ENVS))
    if not listing.ok:
        return listing.describe(), []
    names = [str(n) for n in listing.data.get("envs", [])]
    paths = [os.path.join(envs_dir, n, "conda-meta", "frozen") for n in names]
    answers = run_probes([("head", p, str(MAX_MARKER_BYTES)) for p in paths], ctx.bound_for(paths))
    out: list[tuple[str, Marker]] = []
    for name, answer in zip(names, answers, strict=True):
        if answer.status == UNRESPONSIVE:
            return answer.describe(), []
        if answer.status == MISSING:
            out.append((name, Marker("absent")))
        elif answer.ok:
            out.append((name, read_marker(bytes.fromhex(str(answer.data.get("data", ""))))))
        else:
            out.append((name, Marker("not-a-file", problem=answer.describe())))
    return "", out


def _is_admin(ctx: Context, prefix: str) -> tuple[bool | None, str]:
    """Can this account write the shared installation? conda's own test: the root's
    ``conda-meta/history`` opens for append; or the account owns the root."""
    root = ctx.probe(prefix)
    if root.status == UNRESPONSIVE:
        return None, "the installation does not answer"
    if root.ok and int(root.data["stat"]["uid"]) == os.getuid():
        return True, "you own the installation"
    history = ctx.probe(os.path.join(prefix, "conda-meta", "history"), "appendable")
    if history.status == UNRESPONSIVE:
        return None, "the installation does not answer"
    if history.ok and history.data.get("appendable"):
        return True, "you can write the installation (conda-meta/history opens for append)"
    return False, ""


def check_frozen(ctx: Context) -> list[Finding]:
    cid = "releases.frozen"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen")]
    admin, why = _is_admin(ctx, inst.prefix)
    if admin is None:
        return [warning(cid, f"{inst.prefix}: {why}", "See mount.responsive.")]
    if not admin:
        return [ok(cid, "you cannot write the shared installation (only its admins can)")]
    problem, envs = _markers(ctx, inst.envs_dir)
    if problem:
        return [warning(cid, f"{inst.envs_dir}: {problem}", "See mount.responsive.")]
    unfrozen = [name for name, marker in envs if not marker.frozen]
    broken = [name for name, marker in envs if marker.state == "invalid"]
    findings: list[Finding] = []
    if unfrozen:
        paths = [os.path.join(inst.envs_dir, n) for n in unfrozen]
        findings.append(
            warning(
                cid,
                f"{plural(len(unfrozen), 'shared release')} without the frozen marker",
                f"{why[0].upper() + why[1:]}: one `conda install -n NAME` or `conda remove -n "
                "NAME` from your account changes a release for every user; conda refuses both "
                "for a frozen env (CEP 22, conda-meta/frozen) without --override-frozen. "
                "`conda create -n NAME` replaces even a frozen release: keep your own envs dir "
                "first in envs_dirs, and do everyday conda work from an account that cannot "
                "write the share.\n" + "\n".join(shown(p) for p in paths),
                f"condashare admin publish {shell_word(paths[0])} (each release), or "
                f"condashare admin audit {shell_word(inst.prefix)} --fix",
                releases=unfrozen,
            )
        )
    if broken:
        findings.append(
            warning(
                cid,
                f"{plural(len(broken), 'shared release')} with a frozen marker conda cannot read",
                "conda stops with a traceback instead of its refusal:\n"
                + "\n".join(shown(b) for b in broken),
                f"condashare admin audit {shell_word(inst.prefix)} --fix rewrites them",
                releases=broken,
            )
        )
    every = f"all {plural(len(envs), 'shared release')}"
    every = "the one shared release" if len(envs) == 1 else every
    frozen = f"{every} {agree(len(envs), 'is', 'are')} frozen ({why})"
    return findings or [ok(cid, frozen)]


NAME_CLASH = Check(
    "releases.name_clash",
    "releases",
    "no env of yours named like a shared release",
    check_name_clash,
    description="an env of yours with a release's name: conda acts on whichever comes first",
)
FROZEN = Check(
    "releases.frozen",
    "releases",
    "shared releases frozen (for those who can write them)",
    check_frozen,
)
