"""Flags made from the fields they set, and the small parsers every verb shares.

A run's flags are RunSpec's fields (their names, types, choices and help come from the field),
and the launch flags are LaunchOptions' fields: a flag and a YAML key can never mean different
things, and a new field is a new flag without an edit here.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Callable, Iterable

import yaml

from ..core.config import ConfigError
from ..core.spec import NULL_WORDS

METAVARS = {int: "N", float: "X", str: "TEXT"}


def flag_name(field: dataclasses.Field) -> str:
    return "--" + (field.metadata.get("flag") or field.name.replace("_", "-"))


def add_field_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                    names: Iterable[str], prefix: str = "") -> None:
    """One flag per named dataclass field of `cls`, stored as `prefix + name`; an absent flag
    leaves its value None."""
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for name in names:
        field = by_name[name]
        kind, optional = _scalar(hints[name])
        common: dict[str, Any] = {"dest": prefix + name, "default": None, "help": field.metadata.get("help")}
        if kind is bool:
            parser.add_argument(flag_name(field), action=argparse.BooleanOptionalAction, **common)
        elif kind in (int, float, str):
            choices = field.metadata.get("choices") or None
            parser.add_argument(flag_name(field), type=_parse(kind, optional), choices=choices,
                                metavar=None if choices else METAVARS[kind], **common)


def field_values(args: argparse.Namespace, names: Iterable[str], prefix: str = "") -> dict[str, Any]:
    """The fields whose flags were given, by field name."""
    return {name: getattr(args, prefix + name) for name in names if getattr(args, prefix + name, None) is not None}


def _scalar(hint: Any) -> tuple[type | None, bool]:
    """(the scalar type, whether None is allowed) of an annotation such as `int | None`."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    scalars = [a for a in args if a is not type(None)]
    return (scalars[0] if len(scalars) == 1 and isinstance(scalars[0], type) else None), type(None) in args


def _parse(kind: type, optional: bool) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if optional and text.strip().lower() in NULL_WORDS:
            return text  # the spec reads 'none' as null, from a flag as from a YAML file
        return kind(text)
    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def seeds(text: str) -> list[int]:
    try:
        values = [int(s) for s in csv(text)]
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, got {text!r}") from None
    if not values or len(set(values)) != len(values):
        raise ConfigError(f"--seeds expects distinct integers, got {text!r}")
    return values


def hparam_settings(settings: list[str]) -> dict[str, dict[str, object]]:
    """['lipsum.lam=2', 'wise.alphas=[0, 1]'] -> {'lipsum': {'lam': 2}, 'wise': {'alphas': [0, 1]}}."""
    out: dict[str, dict[str, object]] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        part, dot, name = key.strip().partition(".")
        if not (sep and dot and part and name):
            raise ConfigError(f"--set expects METHOD.KEY=VALUE (e.g. lipsum.lam=2), got {setting!r}")
        try:
            out.setdefault(part, {})[name] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {setting!r}: the value is not valid YAML ({err})") from err
    return out


def key_values(settings: list[str], flag: str) -> dict[str, str]:
    out = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE (e.g. exclusive= or mail-type=END), got {setting!r}")
        out[key.strip()] = value
    return out
