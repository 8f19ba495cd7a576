"""Jupyter kernels for the shared releases (``condashare kernels``).

:mod:`~condashare.kernels.paths` says where each OS's Jupyter looks, :mod:`.spec` what one
kernelspec is (name, kernel.json, the launcher that picks the machine's installation),
:mod:`.releases` which releases have ipykernel, :mod:`.store` reads and writes kernelspec dirs
without hanging, and :mod:`.sync` plans and applies a sync or ``--reverse``.
"""

from __future__ import annotations
