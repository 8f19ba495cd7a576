"""Small helpers the check modules share (building findings, reading small local files)."""

from __future__ import annotations

import os
from typing import Any

from condashare.doctor.context import Context
from condashare.doctor.model import Finding, Severity


def ok(check: str, title: str, detail: str = "", /, **data: Any) -> Finding:
    return Finding(check, Severity.OK, title, detail, data=data)


def info(check: str, title: str, detail: str = "", fix: str = "", /, **data: Any) -> Finding:
    return Finding(check, Severity.INFO, title, detail, fix, data=data)


def warning(
    check: str,
    title: str,
    detail: str = "",
    fix: str = "",
    fixable: bool = False,
    /,
    **data: Any,
) -> Finding:
    return Finding(check, Severity.WARNING, title, detail, fix, fixable, data=data)


def error(
    check: str,
    title: str,
    detail: str = "",
    fix: str = "",
    fixable: bool = False,
    /,
    **data: Any,
) -> Finding:
    return Finding(check, Severity.ERROR, title, detail, fix, fixable, data=data)


MISSING = "missing"
UNRESPONSIVE = "unresponsive"


def read_small(ctx: Context, path: str, limit: int = 1 << 20) -> tuple[str, bytes]:
    """Read a user file of at most ``limit`` bytes through the one reader (bounded on a share,
    regular files only). Returns (status, data): ok | missing | unresponsive | refused | error.
    """
    result = ctx.reader.read(path, limit)
    return result.status.value, result.data or b""


def exists(ctx: Context, path: str) -> str:
    """ok | missing | unresponsive | error, without hanging on a share."""
    if ctx.is_remote(path):
        return ctx.probe(path).status
    try:
        os.stat(path)
    except FileNotFoundError:
        return MISSING
    except OSError:
        return "error"
    return "ok"
