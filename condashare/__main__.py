"""Allow ``python -m condashare``."""

from __future__ import annotations

from condashare.cli import main

raise SystemExit(main())
