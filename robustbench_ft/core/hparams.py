"""Typed hyper-parameters: each method declares its own once, with a type, a default and a space.

A method lists `HParam`s on its class (as DomainBed's `_hparam` does); nothing else names its
defaults. A spec's hyper-parameters are a mapping per part of the method
(`{"lipsum": {"lam": 1.0}, "wise": {"alphas": [...]}}`), so composed methods never mix their
parts' keys. `check_part` turns user input into typed values or raises a ConfigError that names
the method and its known keys. Torch-free: the planner, identity and `list` all use it.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .config import ConfigError

SCALARS: tuple[type, ...] = (bool, int, float, str)


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter of a method: its name, type, default, meaning and sweep values."""

    name: str
    type: Any  # bool, int, float, str, or list[<one of those>]
    default: Any
    help: str = ""
    space: tuple[Any, ...] = ()  # the values a sweep tries when it names the key without values
    choices: tuple[Any, ...] = ()  # when given, the only values allowed

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", self.coerce(self.default, "the declared default"))
        object.__setattr__(self, "space", tuple(self.coerce(v, "a search-space value") for v in self.space))

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", None) if typing.get_origin(self.type) is None else str(self.type)

    def coerce(self, value: Any, where: str) -> Any:
        """`value` as this parameter's type (ints are accepted for floats), or a ConfigError."""
        item_type = typing.get_args(self.type)[0] if typing.get_origin(self.type) is list else None
        if item_type is not None:
            if not isinstance(value, (list, tuple)):
                raise self._type_error(value, where)
            return [_scalar(v, item_type, lambda: self._type_error(value, where)) for v in value]
        value = _scalar(value, self.type, lambda: self._type_error(value, where))
        if self.choices and value not in self.choices:
            raise ConfigError(f"hyper-parameter {self.name!r} must be one of {list(self.choices)}, got "
                              f"{value!r} ({where})")
        return value

    def _type_error(self, value: Any, where: str) -> ConfigError:
        return ConfigError(f"hyper-parameter {self.name!r} must be {self.type_name}, got "
                           f"{type(value).__name__} {value!r} ({where})")

    def describe(self) -> str:
        space = f", one of {list(self.choices)}" if self.choices else f", space {list(self.space)}" if self.space else ""
        return f"{self.name} ({self.type_name}, default {json.dumps(self.default)}{space})"


def _scalar(value: Any, kind: type, error) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind not in SCALARS or not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise error()
    return value


def check_part(method: str, declared: Iterable[HParam], given: Mapping[str, Any],
               owners: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The typed values of one method part: defaults overlaid with `given`, every key checked.

    `owners` maps a hyper-parameter name to the methods that declare it, so a key given to the
    wrong method says where it belongs.
    """
    table = {h.name: h for h in declared}
    values = {name: h.default for name, h in table.items()}
    for key, value in given.items():
        if key not in table:
            known = ", ".join(h.describe() for h in table.values()) or "none"
            elsewhere = [m for m in (owners or {}).get(key, []) if m != method]
            hint = f" ('{key}' belongs to {', '.join(elsewhere)})" if elsewhere else ""
            raise ConfigError(f"method {method!r}: unknown hyper-parameter {key!r}{hint}; known: {known}")
        values[key] = table[key].coerce(value, f"method {method!r}")
    return values


def split_by_part(method: str, hparams: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{part: {key: value}}` for a method 'a' or 'a+b'.

    The canonical form names each part. A single-part method may also be given its keys flat
    (`{"lam": 2}` for `lipsum`); a composed one may not, since the keys' owner would be a guess.
    """
    parts = method.split("+")
    given = dict(hparams or {})
    if all(key in parts and isinstance(value, Mapping) for key, value in given.items()):
        return {key: dict(value) for key, value in given.items()}
    if len(parts) == 1:
        return {parts[0]: given}
    example = ", ".join(f"{p}: {{...}}" for p in parts)
    raise ConfigError(f"method {method!r} is composed: give its hyper-parameters under each part's "
                      f"name ({{{example}}}), got keys {sorted(given)}")
