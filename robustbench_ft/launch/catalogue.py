"""Imports every launcher module so each registers itself; add a new launcher's module here."""

from . import inline, local, slurm  # noqa: F401  (registering is what importing them does)
