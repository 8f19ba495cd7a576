"""What a run observed, gathered from the workers' answers; findings are made from this."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from condashare.findings import Finding
from condashare.verify.protocol import Area
from condashare.verify.report import Target, VerifyStats


@dataclass
class PackageProblems:
    """The damaged files of one package in one env prefix or package cache."""

    target: str  # env prefix or package cache
    dist: str
    area: Area
    info: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0


@dataclass
class Observations:
    """Everything the answers said, per kind; filled by the Collector, read by findings."""

    stats: VerifyStats = field(default_factory=VerifyStats)
    findings: list[Finding] = field(default_factory=list)  # the ones known as soon as seen
    targets: dict[str, Target] = field(default_factory=dict)
    pkg: dict[tuple[str, str], PackageProblems] = field(default_factory=dict)
    unresponsive: dict[str, list[str]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    # target -> (path, errno) of files a failing share (ESTALE, EIO ...) would not let us read
    failing: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    incomplete: bool = False
    artefacts: list[tuple[str, str, int, bool]] = field(default_factory=list)  # (top, path, ..)
    artefact_counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    # leftover path -> its real path, as the kernel names open files (for holders)
    real_paths: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str, str, str]] = field(default_factory=list)  # env, dist, pkgs, spec
    user_envs: set[str] = field(default_factory=set)
    caches: dict[str, dict[str, Any]] = field(default_factory=dict)
    exists_answer: set[str] = field(default_factory=set)  # answers of the shared-cache probes
    writable_answer: dict[str, bool] = field(default_factory=dict)
