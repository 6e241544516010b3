"""Imports every benchmark family module so each registers itself in FAMILIES."""

from . import cifar, domainnet, embedded, folder, imagenet, wilds  # noqa: F401
