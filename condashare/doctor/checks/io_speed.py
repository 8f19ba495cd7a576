"""A small, bounded measurement of the share: metadata latency and read throughput.

The child stats up to a few hundred entries of ``conda-meta`` and reads up to a few MB of the
installation's largest well-known file (dropping it from the page cache first where the OS
allows), stopping at a time limit. Enough to tell "fine" from "use local scratch".
"""

from __future__ import annotations

from condashare.bounded.liveness import error_words
from condashare.bounded.paths import run_program
from condashare.bounded.programs import iospeed
from condashare.doctor.checks._util import UNRESPONSIVE, error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding

SLOW_STAT_MS = 20.0  # average metadata operation slower than this: conda commands crawl
SLOW_READ_MBPS = 20.0  # sequential read below this: heavy I/O belongs on local scratch


def measure(prefix: str, timeout: float, deep: bool = False) -> dict[str, object]:
    """Run the bounded measurement; returns the child's answer with derived figures."""
    budget = timeout * 0.6
    max_stats, max_bytes = (2000, 256 << 20) if deep else (300, 8 << 20)
    res = run_program(
        iospeed, [prefix, str(max_stats), str(max_bytes), str(budget)], timeout, prefix
    )
    out: dict[str, object] = {
        "status": res.status,
        "error": res.error,
        "errno": res.errno,
        **res.data,
    }
    stats = int(res.data.get("stats", 0) or 0)
    if stats:
        out["stat_ms"] = round(float(res.data["stat_seconds"]) * 1000 / stats, 3)
    nbytes = int(res.data.get("read_bytes", 0) or 0)
    seconds = float(res.data.get("read_seconds", 0) or 0)
    if nbytes >= (1 << 20) and seconds > 0:
        out["read_mbps"] = round(nbytes / seconds / 1e6, 1)
    return out


def check_speed(ctx: Context) -> list[Finding]:
    cid = "io.speed"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen; nothing to measure")]
    timeout = max(ctx.timeout * 2, 4.0) * (3 if ctx.deep else 1)
    m = measure(inst.prefix, timeout, ctx.deep)
    remote = ctx.is_remote(inst.prefix)
    where = "share" if remote else "local disk"
    if m["status"] == UNRESPONSIVE:
        return [
            error(
                cid,
                f"the installation at {inst.prefix} stopped answering while measured",
                "See mount.responsive.",
                **m,
            )
        ]
    if m["status"] != "ok":
        words = error_words(m.get("errno"), str(m.get("error") or m["status"]))
        return [warning(cid, f"cannot measure {inst.prefix}: {words}", **m)]
    parts = []
    problems = []
    stat_ms = m.get("stat_ms")
    mbps = m.get("read_mbps")
    if isinstance(stat_ms, float):
        parts.append(f"{stat_ms:.2f} ms per metadata operation")
        if stat_ms > SLOW_STAT_MS:
            problems.append(
                f"metadata is slow ({stat_ms:.1f} ms per stat; conda stats "
                "thousands of files per command)"
            )
    if isinstance(mbps, float):
        parts.append(f"{mbps:.0f} MB/s read")
        if mbps < SLOW_READ_MBPS:
            problems.append(f"reading is slow ({mbps:.1f} MB/s)")
    summary = ", ".join(parts) or "nothing large enough to time"
    if problems and remote:
        return [
            warning(
                cid,
                f"the {where} is slow: " + "; ".join(problems),
                f"Measured on {inst.prefix}: {summary}.",
                "Run I/O-heavy work on local scratch: copy inputs to /tmp or /local/scratch, "
                "write outputs there, copy results back. For environments you change often, "
                "create them on local disk (conda create -p /local/scratch/$USER/envs/NAME).",
                **m,
            )
        ]
    return [ok(cid, f"{where}: {summary}", **m)]


SPEED = Check(
    "io.speed",
    "io",
    "share metadata latency and read speed",
    check_speed,
    budget=15,
    alone=True,  # other checks read the same share: measured among them it looked 10x slower
)
