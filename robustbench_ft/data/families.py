"""Imports every benchmark family module so each registers itself in FAMILIES."""

from . import embedded  # noqa: F401
