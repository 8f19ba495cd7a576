"""Run the condashare CLI as a Mac would pick its directories, on a Linux test machine.

platformdirs chooses its OS module from ``sys.platform`` when first imported (test-recipes §8):
psutil is imported first (it must load its Linux extension), then ``sys.platform`` is set to
``darwin`` before condashare or platformdirs load. Pair it with ``CONDASHARE_PLATFORM=macos-…``
so condashare's own OS decision says macOS too.
"""

from __future__ import annotations

import sys

import psutil  # noqa: F401

sys.platform = "darwin"

from condashare.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
