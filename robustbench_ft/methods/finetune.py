"""FT: fine-tune the image encoder and the zero-shot-initialised head with cross-entropy.

Everything it needs is the base Method's default behaviour; it exists as its own entry so that
'ft' is a name and a preset like every other method.
"""

from __future__ import annotations

from .base import METHODS, Method


@METHODS.register("ft")
class FineTune(Method):
    """Full fine-tuning (image encoder + head from zero-shot), cross-entropy: the base behaviour."""
