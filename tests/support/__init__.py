"""Real components for condashare's tests (FUSE shares, shells, conda-format trees)."""
