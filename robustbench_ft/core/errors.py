"""User-facing error types that the CLI turns into one clear line (kept free of heavy imports)."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A model could not be built or its weights could not be read."""
