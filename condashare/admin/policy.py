"""Who may own and write an installation's files: the site's ``[admin]`` table, resolved here.

Default (no ``[admin]`` table): the admins are the owner of the audited root and the members of
its group; nothing may be writable by the group or by others. Names are resolved on the machine
running the audit; a name it does not know is reported, never guessed.
"""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass, field

from condashare.site.file import AdminSettings


@dataclass(frozen=True)
class AdminPolicy:
    """The resolved rules an audit applies to one tree."""

    owner_uid: int  # the root's owner
    admin_gid: int
    admin_group: str  # its name, for messages
    extra_owners: frozenset[int] = frozenset()
    members: frozenset[str] = frozenset()  # the admin group's listed members
    group_writable: bool = False
    writable: tuple[str, ...] = ()  # relative subtrees others may write
    unknown: tuple[str, ...] = ()  # names from the site file this machine does not know
    source: str = "default"  # "site file PATH" or "default"
    _allowed: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)

    def allows_owner(self, uid: int) -> bool:
        """root, the root's owner, the site's extra owners and the admin group's members."""
        if uid in (0, self.owner_uid) or uid in self.extra_owners:
            return True
        if uid not in self._allowed:
            try:
                entry = pwd.getpwuid(uid)
            except KeyError:
                self._allowed[uid] = False  # no account of that id here
            else:
                self._allowed[uid] = entry.pw_gid == self.admin_gid or entry.pw_name in self.members
        return self._allowed[uid]

    def allows_group_write(self, gid: int) -> bool:
        return self.group_writable and gid == self.admin_gid

    def write_exempt(self, rel: str) -> bool:
        """Below a subtree the site file lets others write (``admin.writable``)?"""
        return any(rel == w or rel.startswith(w + "/") for w in self.writable)


def account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def _gid(value: str | int) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        return None


def _uid(value: str | int) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        return None


def resolve_policy(
    settings: AdminSettings, root_uid: int, root_gid: int, source: str = "default"
) -> AdminPolicy:
    """The policy for a tree whose root belongs to ``root_uid``/``root_gid``."""
    unknown: list[str] = []
    gid = root_gid
    if settings.group is not None:
        found = _gid(settings.group)
        if found is None:
            unknown.append(f"group {settings.group}")
        else:
            gid = found
    owners: set[int] = set()
    for owner in settings.owners:
        uid = _uid(owner)
        if uid is None:
            unknown.append(f"account {owner}")
        else:
            owners.add(uid)
    try:
        members = frozenset(grp.getgrgid(gid).gr_mem)
    except KeyError:
        members = frozenset()
    return AdminPolicy(
        owner_uid=root_uid,
        admin_gid=gid,
        admin_group=group_name(gid),
        extra_owners=frozenset(owners),
        members=members,
        group_writable=settings.group_writable,
        writable=settings.writable,
        unknown=tuple(unknown),
        source=source,
    )
