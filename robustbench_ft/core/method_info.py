"""What a reader sees of a method, read from its preset without importing torch or the method.

`methods/<name>.yaml` holds a method's card: its label in tables and figures, its place in the
row order, its reference and one-line description, the default base of a post-hoc method ('wise'
alone means 'ft+wise'), its recipe's changes to the benchmark's budget (`train:`) and what it fits
on ID validation inside its own step (`tunes_on_val:`, so tables mark its rows: selected on ID
validation afterwards, it has seen that split twice). The report
reads labels and order from here, so a new method needs no report edit. Hyper-parameters are not
declared here but in the method's code (`HParam`s on its class): one place each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .config import ConfigError, read_yaml, resolve_preset

CARD_KEYS = ("method", "label", "description", "reference", "rank", "base", "composed_label", "train",
             "tunes_on_val")
NOT_TRAIN_KEYS = ("benchmark", "method", "hparams", "seed")


@dataclass(frozen=True)
class MethodInfo:
    name: str
    label: str
    description: str = ""
    reference: str = ""
    rank: int = 1000                   # row order in tables and figures (lower first)
    base: str | None = None            # the method a post-hoc one applies to when named alone
    composed_label: str | None = None  # its label after a base: 'Lipsum-FT + WiSE'
    train: dict[str, Any] = field(default_factory=dict)
    tunes_on_val: str | None = None    # what it fits on ID validation inside its own step (TPGM: radii)


def train_keys() -> list[str]:
    from .spec import RunSpec
    return sorted(f.name for f in fields(RunSpec) if f.name not in NOT_TRAIN_KEYS)


def method_info(name: str) -> MethodInfo:
    """The card of one method (not composed); a method without a preset shows its name."""
    try:
        path = resolve_preset("methods", name)
    except ConfigError:
        return MethodInfo(name=name, label=name)
    stat = path.stat()
    return _card(name, path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _card(name: str, path: Path, mtime_ns: int, size: int) -> MethodInfo:
    """A card read once while its file stays the same (planning a sweep asks for each many times)."""
    card = read_yaml(path)
    if "hparams" in card:
        raise ConfigError(f"{path}: hyper-parameters are declared in the method's code (HParam on its "
                          f"class), not in its preset; the preset holds {', '.join(CARD_KEYS)}")
    unknown = sorted(set(card) - set(CARD_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; a method preset holds {', '.join(CARD_KEYS)}")
    bad_train = sorted(set(card.get("train") or {}) - set(train_keys()))
    if bad_train:
        raise ConfigError(f"{path}: unknown train keys {bad_train}; known: {train_keys()}")
    values = {k: v for k, v in card.items() if k != "method" and v is not None}
    return MethodInfo(name=name, **{"label": name, **values, "train": dict(card.get("train") or {})})


def method_label(method: str) -> str:
    """'lipsum' -> 'Lipsum-FT'; 'ft+wise' -> 'WiSE-FT' (its default base); 'lipsum+wise' ->
    'Lipsum-FT + WiSE'."""
    parts = method.split("+")
    if len(parts) == 1:
        return method_info(method).label
    post = method_info(parts[-1])
    if len(parts) == 2 and post.base == parts[0]:
        return post.label
    return " + ".join([method_label("+".join(parts[:-1])), post.composed_label or post.label])


def method_sort_key(method: str) -> tuple:
    """Plain methods by rank, then post-hoc ones grouped by the post-hoc method, by base rank."""
    parts = method.split("+")
    ranks = [method_info(p).rank for p in parts]
    return (len(parts) > 1, ranks[-1] if len(parts) > 1 else ranks[0], ranks[:-1], method)
