"""The records a verify run returns: what each PATH was, counts, findings, the exit code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from condashare.findings import Finding, exit_code_for

TargetKind = Literal["env", "cache", "root", "missing", "none", "unresponsive", "error"]


@dataclass(frozen=True)
class ProgressInfo:
    """Where a run is: tasks done of those known so far, files checked, bytes hashed, and
    seconds since the run started (for a rate and an estimate of the time left)."""

    done: int
    total: int
    files: int
    bytes_hashed: int
    elapsed: float = 0.0

    @property
    def fraction(self) -> float:
        """Share of the known work done (the total grows while records are listed)."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Time left at the pace so far; None until there is a pace to go by."""
        if self.done == 0 or self.elapsed < 0.5:
            return None
        return self.elapsed * (self.total - self.done) / self.done


Progress = Callable[[ProgressInfo], None]


@dataclass(frozen=True)
class Target:
    """One PATH given to verify and what it turned out to be."""

    path: str
    kind: TargetKind
    detail: str = ""
    envs: tuple[str, ...] = ()
    caches: tuple[str, ...] = ()


@dataclass
class VerifyStats:
    files: int = 0
    bytes_hashed: int = 0
    cache_hits: int = 0
    records: int = 0
    cache_entries: int = 0
    seconds: float = 0.0
    workers: int = 0


@dataclass
class VerifyReport:
    """Everything a verify run found; ``exit_code`` follows condashare's exit-code contract."""

    mode: str
    targets: list[Target]
    findings: list[Finding]
    stats: VerifyStats
    cache_note: str = ""
    incomplete: bool = False

    @property
    def bad_paths(self) -> list[Target]:
        return [t for t in self.targets if t.kind in ("missing", "none")]

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.findings, usage=bool(self.bad_paths), incomplete=self.incomplete)
