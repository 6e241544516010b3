"""Imports every method module so each registers itself; add a new method's module here."""

from . import finetune, linear_probe, lipsum, lpft, wise, zeroshot  # noqa: F401
