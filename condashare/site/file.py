"""The site file admins publish: where it is found, what it may say, and the records it yields.

Validation is strict because a typo in a shared file breaks every user at once: unknown keys,
relative or multi-line prefixes and duplicate names are errors naming the file and the key.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from condashare import exitcodes
from condashare.files.read import FileRead, Reader, ReadStatus
from condashare.host.detect import PlatformError, normalize_arch, normalize_os
from condashare.host.mounts import Mount, read_mount_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_PROBE_TIMEOUT = 2.0
MAX_PROBE_TIMEOUT = 60.0
ETC_SITE_FILE = "/etc/condashare/site.toml"

_SITE_KEYS = {"name", "probe_timeout"}
_INSTALLATION_KEYS = {"name", "prefix", "os", "arch", "description", "match"}
_MATCH_KEYS = {"hosts", "cpu", "gpu", "glibc"}
CPU_LEVELS = ("x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4")
GPUS = ("nvidia",)
_ADMIN_KEYS = {"group", "owners", "group_writable", "writable"}
_TOP_KEYS = {"site", "installations", "admin"}


class SiteError(Exception):
    """The site file cannot be used; the message names the file and the key.

    ``exit_code`` is 2 (fix the configuration) except for a site file whose share does not
    answer: 3, the command could not finish.
    """

    def __init__(
        self, path: str, key: str | None, message: str, exit_code: int = exitcodes.USAGE
    ) -> None:
        self.path = path
        self.key = key
        self.message = message
        self.exit_code = exit_code
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + message)


@dataclass(frozen=True)
class MatchRules:
    """``[installations.match]``: which machines of its OS and arch an installation is for.

    Every rule given must hold: ``hosts`` (glob patterns on the host name, full or up to the
    first dot), ``cpu`` (at least this level: ``x86-64-v2``..``v4``, ``apple-m1``, ``apple-m2``
    ...), ``gpu`` (``nvidia``: its driver is loaded), ``glibc`` (at least this version).
    """

    hosts: tuple[str, ...] = ()
    cpu: str = ""
    gpu: str = ""
    glibc: str = ""

    @property
    def empty(self) -> bool:
        return not (self.hosts or self.cpu or self.gpu or self.glibc)


@dataclass(frozen=True)
class Installation:
    """One shared conda installation (a conda root prefix) for one OS and some architectures."""

    name: str
    prefix: str
    os: str
    arch: tuple[str, ...] = ()  # empty: any architecture
    description: str = ""
    match: MatchRules = MatchRules()

    @property
    def envs_dir(self) -> str:
        return os.path.join(self.prefix, "envs")

    @property
    def pkgs_dir(self) -> str:
        return os.path.join(self.prefix, "pkgs")

    def accepts(self, os_name: str, arch: str) -> bool:
        return self.os == os_name and (not self.arch or arch in self.arch)


@dataclass(frozen=True)
class AdminSettings:
    """The optional ``[admin]`` table: who may own and write the installations' files.

    Read by ``condashare admin publish``/``audit``. Names stay names here (the accounts may not
    exist on the machine reading the file); :mod:`condashare.admin.policy` resolves them.
    """

    group: str | int | None = None  # the admins' group; None: the group of the audited root
    owners: tuple[str | int, ...] = ()  # more accounts that may own files
    group_writable: bool = False  # files may be writable by the admins' group
    writable: tuple[str, ...] = ()  # relative subtrees of a prefix that others may write


@dataclass(frozen=True)
class Site:
    """A parsed site file."""

    name: str
    probe_timeout: float
    installations: tuple[Installation, ...]
    path: str  # the file it came from ("" when built from --prefix)
    found_by: str  # "--site", "CONDASHARE_SITE", "user config", "site config", "--prefix"
    admin: AdminSettings = AdminSettings()


@dataclass(frozen=True)
class SiteCandidate:
    """A place the site file may be, in discovery order."""

    path: str
    found_by: str


def unsafe_path_reason(value: str) -> str | None:
    """Why a path cannot be written into shell code safely, or None when it can."""
    if "\n" in value or "\r" in value:
        return "contains a line break"
    if "\0" in value:
        return "contains a NUL byte"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "contains a control character"
    return None


def candidate_paths(
    cli_path: str | None = None,
    env: Mapping[str, str] | None = None,
    user_config_dir: str | None = None,
    site_config_dirs: Sequence[str] | None = None,
) -> list[SiteCandidate]:
    """Where the site file is looked for, first match wins."""
    env = os.environ if env is None else env
    out: list[SiteCandidate] = []
    if cli_path:
        out.append(SiteCandidate(cli_path, "--site"))
    if env.get("CONDASHARE_SITE"):
        out.append(SiteCandidate(env["CONDASHARE_SITE"], "CONDASHARE_SITE"))
    if user_config_dir is None:
        from condashare.host import dirs  # the same places on every OS of a shared home

        user_files = dirs.user_site_files(env)
    else:
        user_files = [os.path.join(user_config_dir, "site.toml")]
    if site_config_dirs is None:
        import platformdirs

        site_config_dirs = (
            platformdirs.site_config_path("condashare", multipath=True).as_posix().split(os.pathsep)
        )
    out.extend(SiteCandidate(path, "user config") for path in user_files)
    for directory in site_config_dirs:
        out.append(SiteCandidate(os.path.join(directory, "site.toml"), "site config"))
    if all(c.path != ETC_SITE_FILE for c in out):
        out.append(SiteCandidate(ETC_SITE_FILE, "site config"))
    return out


def _check_keys(path: str, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            hint = ", ".join(sorted(allowed))
            raise SiteError(path, f"{where}{key}", f"unknown key (allowed here: {hint})")


def _parse_installation(path: str, index: int, raw: Any) -> Installation:
    where = f"installations[{index}]"
    if not isinstance(raw, dict):
        raise SiteError(path, where, "must be a table ([[installations]])")
    _check_keys(path, where + ".", raw, _INSTALLATION_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SiteError(path, f"{where}.name", "missing or empty (a short name such as 'linux')")
    prefix = raw.get("prefix")
    if prefix is None:
        raise SiteError(path, f"{where}.prefix", f"missing for installation {name!r}")
    if not isinstance(prefix, str) or not prefix:
        raise SiteError(path, f"{where}.prefix", "must be a non-empty string")
    reason = unsafe_path_reason(prefix)
    if reason:
        raise SiteError(path, f"{where}.prefix", f"{reason}; it cannot be used in shell code")
    if not prefix.startswith("/"):
        raise SiteError(path, f"{where}.prefix", f"must be an absolute path, got {prefix!r}")
    os_value = raw.get("os")
    if not isinstance(os_value, str):
        raise SiteError(path, f"{where}.os", "missing (linux or macos)")
    try:
        os_name = normalize_os(os_value)
    except PlatformError as exc:
        raise SiteError(path, f"{where}.os", str(exc)) from None
    arch_raw = raw.get("arch", [])
    if isinstance(arch_raw, str):
        arch_raw = [arch_raw]
    if not isinstance(arch_raw, list) or not all(isinstance(a, str) for a in arch_raw):
        raise SiteError(path, f"{where}.arch", "must be a list of strings such as ['x86_64']")
    try:
        arch = tuple(dict.fromkeys(normalize_arch(a) for a in arch_raw))
    except PlatformError as exc:
        raise SiteError(path, f"{where}.arch", str(exc)) from None
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SiteError(path, f"{where}.description", "must be a string")
    normalized = "/" + prefix.strip("/") if prefix.strip("/") else "/"
    rules = _parse_match(path, f"{where}.match", raw.get("match", {}))
    return Installation(name.strip(), normalized, os_name, arch, description, rules)


def _parse_match(path: str, where: str, raw: Any) -> MatchRules:
    if not isinstance(raw, dict):
        raise SiteError(path, where, "must be a table ([installations.match])")
    _check_keys(path, where + ".", raw, _MATCH_KEYS)
    hosts_raw = raw.get("hosts", [])
    if isinstance(hosts_raw, str):
        hosts_raw = [hosts_raw]
    if not isinstance(hosts_raw, list) or not all(isinstance(h, str) and h for h in hosts_raw):
        raise SiteError(path, f"{where}.hosts", "must be a list of host name patterns")
    for pattern in hosts_raw:  # the block uses them as bare case patterns: no shell syntax
        if not re.fullmatch(r"[A-Za-z0-9._*?!\[\]-]+", pattern):
            raise SiteError(path, f"{where}.hosts", f"not a host name pattern: {pattern!r}")
    cpu = raw.get("cpu", "")
    if not isinstance(cpu, str) or (
        cpu and cpu not in CPU_LEVELS and not re.fullmatch(r"apple-m[1-9][0-9]?", cpu)
    ):
        known = ", ".join(CPU_LEVELS[1:])
        raise SiteError(path, f"{where}.cpu", f"must be one of {known}, or apple-m1, apple-m2 ...")
    gpu = raw.get("gpu", "")
    if gpu is True:
        gpu = "nvidia"
    if not isinstance(gpu, str) or (gpu and gpu not in GPUS):
        raise SiteError(path, f"{where}.gpu", 'must be "nvidia" (its driver is loaded)')
    glibc = raw.get("glibc", "")
    if not isinstance(glibc, str) or (glibc and not re.fullmatch(r"\d+(\.\d+)*", glibc)):
        raise SiteError(path, f"{where}.glibc", 'must be a version such as "2.28"')
    return MatchRules(tuple(hosts_raw), cpu, gpu, glibc)


def _account(path: str, key: str, value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SiteError(path, key, "must be an account name or a numeric id")
    if isinstance(value, int):
        if value < 0:
            raise SiteError(path, key, "a numeric id must not be negative")
        return value
    if not value.strip() or unsafe_path_reason(value) or any(c.isspace() for c in value):
        raise SiteError(path, key, f"not an account name: {value!r}")
    return value


def _parse_admin(path: str, raw: Any) -> AdminSettings:
    if not isinstance(raw, dict):
        raise SiteError(path, "admin", "must be a table ([admin])")
    _check_keys(path, "admin.", raw, _ADMIN_KEYS)
    group = None if "group" not in raw else _account(path, "admin.group", raw["group"])
    owners_raw = raw.get("owners", [])
    if not isinstance(owners_raw, list):
        raise SiteError(path, "admin.owners", "must be a list of account names or ids")
    owners = tuple(
        _account(path, f"admin.owners[{i}]", value) for i, value in enumerate(owners_raw)
    )
    group_writable = raw.get("group_writable", False)
    if not isinstance(group_writable, bool):
        raise SiteError(path, "admin.group_writable", "must be true or false")
    writable_raw = raw.get("writable", [])
    if not isinstance(writable_raw, list):
        raise SiteError(path, "admin.writable", "must be a list of relative paths")
    writable: list[str] = []
    for i, value in enumerate(writable_raw):
        key = f"admin.writable[{i}]"
        if not isinstance(value, str) or not value.strip("/"):
            raise SiteError(path, key, "must be a non-empty relative path such as 'pkgs/cache'")
        reason = unsafe_path_reason(value)
        if reason:
            raise SiteError(path, key, reason)
        parts = value.strip("/").split("/")
        if value.startswith("/") or ".." in parts or "." in parts:
            raise SiteError(
                path, key, f"must be relative to an installation's prefix, got {value!r}"
            )
        writable.append("/".join(p for p in parts if p))
    return AdminSettings(group, owners, group_writable, tuple(dict.fromkeys(writable)))


def parse_site(text: str, path: str, found_by: str = "--site") -> Site:
    """Validate site-file text; raises SiteError naming ``path`` and the offending key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SiteError(path, None, f"not valid TOML: {exc}") from None
    _check_keys(path, "", data, _TOP_KEYS)
    site_table = data.get("site", {})
    if not isinstance(site_table, dict):
        raise SiteError(path, "site", "must be a table ([site])")
    _check_keys(path, "site.", site_table, _SITE_KEYS)
    name = site_table.get("name", "")
    if not isinstance(name, str):
        raise SiteError(path, "site.name", "must be a string")
    timeout = site_table.get("probe_timeout", DEFAULT_PROBE_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise SiteError(path, "site.probe_timeout", "must be a number of seconds")
    if not 0 < timeout <= MAX_PROBE_TIMEOUT:
        raise SiteError(path, "site.probe_timeout", f"must be > 0 and <= {MAX_PROBE_TIMEOUT:g}")
    raw_list = data.get("installations")
    if not isinstance(raw_list, list) or not raw_list:
        raise SiteError(path, "installations", "missing: add at least one [[installations]] table")
    installations = [_parse_installation(path, i, raw) for i, raw in enumerate(raw_list)]
    seen: set[str] = set()
    for i, inst in enumerate(installations):
        if inst.name in seen:
            raise SiteError(path, f"installations[{i}].name", f"duplicate name {inst.name!r}")
        seen.add(inst.name)
    admin = _parse_admin(path, data["admin"]) if "admin" in data else AdminSettings()
    return Site(name, float(timeout), tuple(installations), path, found_by, admin)


def site_from_read(candidate: SiteCandidate, result: FileRead) -> Site:
    """Validate a site file the reader read; SiteError naming the file for anything else."""
    if result.status is ReadStatus.UNRESPONSIVE:
        message = f"site file is unresponsive: it {result.reason}"
        raise SiteError(candidate.path, None, message, exitcodes.INCOMPLETE)
    if result.status is ReadStatus.MISSING:
        raise SiteError(candidate.path, None, "site file does not exist")
    if not result.ok or result.data is None:
        raise SiteError(candidate.path, None, result.reason)
    try:
        text = result.data.decode("utf-8")
    except UnicodeDecodeError:
        raise SiteError(candidate.path, None, "not UTF-8 text") from None
    return parse_site(text, candidate.path, candidate.found_by)


def load_site(candidate: SiteCandidate, reader: Reader | None = None) -> Site:
    """Read (through the one reader of user files) and validate a site file."""
    reader = reader or Reader.for_this_host()
    return site_from_read(candidate, reader.read(candidate.path))


def site_from_prefix(prefix: str, os_name: str) -> Site:
    """A one-installation site for ``--prefix PATH`` (bypasses the site file)."""
    text_reason = unsafe_path_reason(prefix)
    if text_reason:
        raise SiteError("--prefix", None, f"{prefix!r} {text_reason}")
    if not prefix.startswith("/"):
        raise SiteError("--prefix", None, f"must be an absolute path, got {prefix!r}")
    inst = Installation(name="prefix", prefix="/" + prefix.strip("/"), os=os_name)
    return Site("", DEFAULT_PROBE_TIMEOUT, (inst,), "", "--prefix")


def discover_site(
    cli_path: str | None = None,
    env: Mapping[str, str] | None = None,
    user_config_dir: str | None = None,
    site_config_dirs: Sequence[str] | None = None,
    mounts: Sequence[Mount] | None = None,
) -> tuple[Site | None, list[SiteCandidate]]:
    """Find and load the site file; returns (site or None, the places looked at).

    The first candidate that exists is used; an explicit --site or CONDASHARE_SITE must exist.
    Each candidate is read once, through the reader (bounded when it may be on a share), so a
    FIFO or a dead share at any candidate gives a SiteError, never a hang.
    """
    candidates = candidate_paths(cli_path, env, user_config_dir, site_config_dirs)
    table = read_mount_table() if mounts is None else mounts
    reader = Reader(tuple(table), DEFAULT_PROBE_TIMEOUT)
    for cand in candidates:
        result = reader.read(cand.path)
        if result.status is not ReadStatus.MISSING:
            return site_from_read(cand, result), candidates
        if cand.found_by in ("--site", "CONDASHARE_SITE"):
            raise SiteError(cand.path, None, f"site file given by {cand.found_by} does not exist")
    return None, candidates
