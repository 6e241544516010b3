"""Captions for contrastive pretraining of the tiny CLIP, and the word vocabulary they span.

Captions name the domain (two words per domain), the class, the colour and the size with varied
wording. A quarter of them leave the class out ("a doodle of a red thing"), so the model cannot
reach near-perfect zero-shot accuracy from captions alone and fine-tuning keeps room to help.
"""

from __future__ import annotations

import numpy as np

from .shapes import CLASSES
from .styles import COLOURS

DOMAIN_WORDS: dict[str, tuple[str, str]] = {
    "photo": ("photo", "picture"),
    "sketch": ("sketch", "drawing"),
    "painting": ("painting", "artwork"),
    "clipart": ("clipart", "icon"),
    "quickdraw": ("doodle", "scribble"),
    "infograph": ("infographic", "chart"),
}
SIZE_WORDS = ("small", "large")
PLACEHOLDERS = ("thing", "object", "shape")
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a {dom} of a {col} {cls}",
    "a {size} {col} {cls} in a {dom}",
    "{dom} of a {cls}",
    "a {col} {cls}",
    "this is a {dom} of a {size} {cls}",
    "a {cls} drawn as a {dom}",
    "the {dom} shows a {col} {cls}",
    "a {size} {cls} {dom}",
    "a {col} {cls} on a {dom}",
)
P_CLASS_LEFT_OUT = 0.25


def size_word(radius: float, small_below: float = 16.0, large_above: float = 22.0) -> str | None:
    """'small' / 'large' at the ends of the radius range, nothing in between."""
    if radius < small_below:
        return "small"
    if radius > large_above:
        return "large"
    return None


def make_caption(rng: np.random.Generator, class_name: str, domain: str, colour: str,
                 size: str | None) -> str:
    """One random caption; a missing size simply drops out of the sentence."""
    template = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    name = class_name
    if rng.random() < P_CLASS_LEFT_OUT:
        name = PLACEHOLDERS[int(rng.integers(len(PLACEHOLDERS)))]
    words = DOMAIN_WORDS[domain]
    text = template.format(dom=words[int(rng.integers(2))], cls=name, col=colour, size=size or "")
    return " ".join(text.split())


def caption_vocabulary() -> list[str]:
    """Every word a caption or a zero-shot prompt of the embedded world can use, sorted."""
    words = set(CLASSES) | set(COLOURS) | set(SIZE_WORDS) | set(PLACEHOLDERS)
    for pair in DOMAIN_WORDS.values():
        words |= set(pair)
    for template in CAPTION_TEMPLATES:
        words |= {w for w in template.split() if not w.startswith("{")}
    return sorted(words)
