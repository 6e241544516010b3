"""Which methods exist and which hyper-parameters each declares, without importing any method.

A method declares its hyper-parameters once, as `HParam`s on its class (methods/base.py); its
registration puts that declaration here too. So the core (a run's identity, the spec a request
composes, migrations of old records) reads the declarations without importing torch or the
methods, and a plugin method declares itself the same way. Until the methods are imported
(`import robustbench_ft.methods`) the table is empty, and asking for a method says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .hparams import HParam, check_part
from .registry import UnknownNameError

if TYPE_CHECKING:
    from .spec import RunSpec


IMPLIED_METHOD = "ft"  # the method a modifier named alone modifies ('ema' is FT with EMA)


class Declarations:
    """method name -> its declared hyper-parameters, filled by the methods' registration."""

    def __init__(self) -> None:
        self._declared: dict[str, tuple[HParam, ...]] = {}
        self._trains: dict[str, bool] = {}
        self._modifies: dict[str, bool] = {}

    def declare(self, method: str, hparams: Iterable[HParam], trains: bool = True, modifies: bool = False) -> None:
        """`trains`: whether the method runs the shared trainer, i.e. reads the spec's training
        fields (steps, lr, ...); zero-shot, Kumar et al.'s probe and post-hoc steps do not.
        `modifies`: a modifier of another method's training (EMA), not a method of its own."""
        if method in self._declared:
            raise ValueError(f"method {method!r} is declared twice")
        self._declared[method] = tuple(hparams)
        self._trains[method] = bool(trains)
        self._modifies[method] = bool(modifies)

    def withdraw(self, method: str) -> None:
        """Forget a method (a test's or a plugin's that is unloaded)."""
        self._declared.pop(method, None)
        self._trains.pop(method, None)
        self._modifies.pop(method, None)

    def modifies(self, part: str) -> bool:
        """Whether `part` is a modifier (methods/modifier.py) rather than a method."""
        self.of(part)
        return self._modifies[part]

    def trains(self, method: str) -> bool:
        """Whether any part of `method` ('a' or 'a+b') trains: then it reads the training fields."""
        for part in method.split("+"):
            self.of(part)  # an unknown part says so
        return any(self._trains[part] for part in method.split("+"))

    def of(self, method: str) -> tuple[HParam, ...]:
        if method not in self._declared:
            known = ", ".join(self.names()) or ("none: no method is registered in this process "
                                                "(import robustbench_ft.methods)")
            raise UnknownNameError(f"unknown method {method!r}; known: {known}")
        return self._declared[method]

    def names(self) -> list[str]:
        return sorted(self._declared)

    def owners(self) -> dict[str, list[str]]:
        """hyper-parameter name -> the methods that declare one of that name."""
        out: dict[str, list[str]] = {}
        for method, declared in sorted(self._declared.items()):
            for h in declared:
                out.setdefault(h.name, []).append(method)
        return out


DECLARATIONS = Declarations()


def resolve_hparams(spec: "RunSpec") -> dict[str, dict[str, Any]]:
    """Every part's typed hyper-parameters with defaults filled in; a bad key or type raises."""
    given, owners = spec.hparams_dict(), DECLARATIONS.owners()
    return {part: check_part(part, DECLARATIONS.of(part), given.get(part, {}), owners) for part in spec.parts}


def completed(spec: "RunSpec") -> "RunSpec":
    """`spec` with every declared hyper-parameter filled in (same identity: defaults are not in it)."""
    return spec.replace(hparams=resolve_hparams(spec))


def non_default_hparams(spec: "RunSpec") -> dict[str, dict[str, Any]]:
    """The hyper-parameters that differ from their declared defaults, per part (for identity)."""
    out = {}
    for part, values in resolve_hparams(spec).items():
        defaults = {h.name: h.default for h in DECLARATIONS.of(part)}
        changed = {k: v for k, v in values.items() if v != defaults[k]}
        if changed:
            out[part] = changed
    return out
