"""A bounded walk for the scanning programs: it stops after so many entries or seconds.

Depth-first, symlinks never followed, each directory listed once; entries that vanish or cannot
be stat'ed are skipped. Each directory carries a tag (e.g. the top-level entry it lies under).
"""

from __future__ import annotations

import os
import time

from condashare.bounded.programs.reply import STARTED

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from collections.abc import Iterator


class Walk:
    """``for entry, st, tag in walk``; ``walk.push(path, tag)`` descends into a directory.

    ``complete`` is False once the walk stopped early (``max_entries`` entries seen, or
    ``budget`` seconds since the program started); ``count`` is the number of entries seen.
    """

    def __init__(self, starts: list[tuple[str, str]], max_entries: int, budget: float) -> None:
        self.stack = list(reversed(starts))
        self.max_entries = max_entries
        self.budget = budget
        self.count = 0
        self.complete = True
        self.listed: set[str] = set()

    def push(self, path: str, tag: str) -> None:
        self.stack.append((path, tag))

    def __iter__(self) -> Iterator[tuple[os.DirEntry[str], os.stat_result, str]]:
        while self.stack:
            directory, tag = self.stack.pop()
            if directory in self.listed:
                continue
            self.listed.add(directory)
            try:
                it = os.scandir(directory)
            except OSError:
                continue
            with it:
                for entry in it:
                    if self.count >= self.max_entries or time.monotonic() - STARTED > self.budget:
                        self.complete = False
                        self.stack.clear()
                        return
                    self.count += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    yield entry, st, tag
