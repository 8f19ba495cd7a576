"""condashare: shared conda installations on network drives, made safe for their users."""

from __future__ import annotations

__version__ = "0.1.0"
