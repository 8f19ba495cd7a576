"""User environments that link packages straight from a shared cache, and builds found only
there (conda-facts §4): needs the whole run's records, then asks workers a few more questions.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence

from condashare.host.mounts import mount_for
from condashare.verify.engine import Scheduler
from condashare.verify.findings import shared_link_finding, shared_only_finding
from condashare.verify.protocol import MAX_TASK_PATHS


def shared_links(
    run: Scheduler, shared_pkgs_dirs: Sequence[str], user_pkgs_dirs: Sequence[str]
) -> None:
    """Add the shared-cache findings of the user's envs to the run's observations."""
    seen = run.observed.seen
    links = [
        link
        for link in seen.links
        if link[0] in seen.user_envs and not same_installation(link[0], link[2])
    ]
    if not links:
        return
    explicit = {os.path.normpath(p) for p in shared_pkgs_dirs}
    why: dict[str, str] = {}
    unknown: list[str] = []
    for pkgs in sorted({link[2] for link in links}):
        mount = mount_for(pkgs, run.mounts)
        if os.path.normpath(pkgs) in explicit:
            why[pkgs] = "a shared cache"
        elif mount is not None and mount.possibly_remote:
            kind = "network" if mount.is_network else "possibly remote"
            why[pkgs] = f"on a {kind} filesystem ({mount.fstype})"
        elif mount is not None and mount.has_option("ro"):
            why[pkgs] = "on a read-only filesystem"
        else:
            unknown.append(pkgs)
    if unknown:
        seen.writable_answer = {}
        for i in range(0, len(unknown), MAX_TASK_PATHS):
            run.add("writable", unknown[i], paths=unknown[i : i + MAX_TASK_PATHS])
        run.run()
        for pkgs, ok in seen.writable_answer.items():
            if not ok:
                why[pkgs] = "read-only to you (urls.txt not writable)"
    if not why:
        return
    per_env: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)
    for env, dist, pkgs, spec in links:
        if pkgs in why:
            per_env[env].append((dist, pkgs, spec))
    own = [p for p in user_pkgs_dirs if p not in why]
    probe_paths = sorted(
        {os.path.join(p, d) for items in per_env.values() for d, _, _ in items for p in own}
    )
    seen.exists_answer = set()
    if probe_paths:
        for i in range(0, len(probe_paths), MAX_TASK_PATHS):  # small tasks: writes never block
            run.add("exists", own[0] if own else "/", paths=probe_paths[i : i + MAX_TASK_PATHS])
        run.run()
    have = seen.exists_answer
    for env, items in sorted(per_env.items()):
        caches = sorted({pkgs for _, pkgs, _ in items})
        seen.findings.append(shared_link_finding(env, caches, why, [d for d, _, _ in items]))
        only = [(d, s) for d, _, s in items if not any(os.path.join(p, d) in have for p in own)]
        if only:
            seen.findings.append(shared_only_finding(env, only, own[0] if own else ""))


def same_installation(prefix: str, pkgs_dir: str) -> bool:
    """Is ``prefix`` the base env or an ``envs/*`` env of the installation whose package cache
    is ``pkgs_dir`` (``ROOT/pkgs``)? Such an env links from its own cache by design, as
    ``verify ROOT`` already treats it: nothing leaked in from someone else's cache."""
    pkgs_dir = os.path.normpath(pkgs_dir)
    if os.path.basename(pkgs_dir) != "pkgs":
        return False
    root = os.path.dirname(pkgs_dir)
    prefix = os.path.normpath(prefix)
    return prefix == root or os.path.dirname(prefix) == os.path.join(root, "envs")
