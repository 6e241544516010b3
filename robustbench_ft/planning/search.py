"""Random search with an equal budget per method (DomainBed's protocol); torch-free.

A sweep's `search:` block asks for `trials` configurations of every method:

    search:
      trials: 8            # configurations per method (trial 0 is the defaults)
      seed: 0              # the search's own seed: other draws, same budget
      over: [lr, "*"]      # run fields, METHOD.KEY, METHOD.* or * (every method's declared spaces)
      spaces: {lr: {log_uniform: [1.0e-4, 1.0e-3]}}   # optional: replace a default space

Each key's value in trial t is drawn from its space with a generator seeded by (search seed,
benchmark, t, key) alone, so every method that reads `lr` sees the same draw (common
random numbers: a difference between methods is not a difference between their draws), adding a
method to a sweep changes no other method's draws, and `lipsum+wise` draws what `lipsum` drew, so
it builds on those very runs. Trial 0 is every key at its default, as DomainBed's first draw,
so a search always contains the untuned recipe. A method gets `trials` draws of the keys it has;
one with no free hyper-parameter still gets the shared ones, and one that trains nothing (zero-shot)
collapses to a single run (compose.py). The draws enter a run's identity only through the values
they chose: a trial number is nowhere in a spec.

Spaces: a list is a uniform choice among its values; `{log_uniform: [lo, hi]}` and
`{uniform: [lo, hi]}` are continuous; `{times: SPACE}` multiplies the run's default (the
benchmark's or the method preset's) by a value drawn from SPACE. A method's hyper-parameter has
the space its `HParam` declares; the run fields' default spaces are RUN_FIELD_SPACES.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any, Mapping

from ..core.config import ConfigError


class Space:
    """Where a search draws one key's value from."""

    def draw(self, rng: random.Random, default: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Choice(Space):
    values: tuple[Any, ...]

    def draw(self, rng: random.Random, default: Any) -> Any:
        return self.values[rng.randrange(len(self.values))]

    def describe(self) -> str:
        return "one of " + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in self.values)


@dataclass(frozen=True)
class Uniform(Space):
    low: float
    high: float
    log: bool = False

    def draw(self, rng: random.Random, default: Any) -> Any:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def describe(self) -> str:
        return f"{'log-' if self.log else ''}uniform in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Times(Space):
    """The run's default times a factor drawn from `factor` (rounded for integer fields)."""

    factor: Space

    def draw(self, rng: random.Random, default: Any) -> Any:
        value = default * self.factor.draw(rng, 1.0)
        return max(1, round(value)) if isinstance(default, int) and not isinstance(default, bool) else float(value)

    def describe(self) -> str:
        return f"the default times ({self.factor.describe()})"


# The shared run fields a search may name, and where it draws them unless the sweep says otherwise.
RUN_FIELD_SPACES: dict[str, Space] = {
    "lr": Times(Uniform(0.25, 4.0, log=True)),
    "weight_decay": Choice((0.0, 0.01, 0.1)),
    "steps": Times(Choice((0.5, 1.0, 2.0))),
}


def parse_space(value: Any, where: str) -> Space:
    """A space as a sweep YAML writes it (see the module docstring), or a ConfigError."""
    if isinstance(value, list) and value:
        return Choice(tuple(value))
    if isinstance(value, dict) and len(value) == 1:
        (kind, arg), = value.items()
        if kind == "times":
            return Times(parse_space(arg, where))
        if kind in ("uniform", "log_uniform") and isinstance(arg, list) and len(arg) == 2 \
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in arg) \
                and arg[0] < arg[1] and (kind == "uniform" or arg[0] > 0):
            return Uniform(float(arg[0]), float(arg[1]), log=kind == "log_uniform")
    raise ConfigError(f"{where}: a space is a non-empty list of values, {{uniform: [lo, hi]}}, "
                      f"{{log_uniform: [lo, hi]}} with 0 < lo < hi, or {{times: SPACE}}; got {value!r}")


@dataclass(frozen=True)
class Search:
    """`trials` draws per method over `over`, with the search's own `seed`."""

    trials: int
    seed: int = 0
    over: tuple[str, ...] = ("lr", "*")
    spaces: Mapping[str, Space] | None = None

    def value(self, key: str, space: Space, trial: int, benchmark: str, default: Any) -> Any:
        """Trial `trial`'s value of `key`: its default in trial 0, else a draw that depends on
        the search seed, the benchmark, the trial and the key, and on nothing else."""
        if trial == 0:
            return default
        token = f"{self.seed}/{benchmark}/{trial}/{key}".encode()
        return space.draw(random.Random(int.from_bytes(hashlib.sha256(token).digest()[:8], "big")), default)


def load_search(data: Any, where: str) -> Search:
    """The `search:` block of a sweep file, checked."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: search must be a mapping with trials, seed, over and spaces, got {data!r}")
    unknown = sorted(set(data) - {"trials", "seed", "over", "spaces"})
    if unknown:
        raise ConfigError(f"{where}: unknown search keys {unknown}; a search has trials, seed, over, spaces")
    trials, seed = data.get("trials"), data.get("seed", 0)
    for name, value, low in (("trials", trials, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{where}: search.{name} must be an integer >= {low}, got {value!r}")
    over = data.get("over", ["lr", "*"])
    if isinstance(over, str):
        over = [over]
    if not isinstance(over, list) or not over or not all(isinstance(k, str) for k in over):
        raise ConfigError(f"{where}: search.over must be a list of run fields, METHOD.KEY, METHOD.* or *, "
                          f"got {over!r}")
    spaces = data.get("spaces") or {}
    if not isinstance(spaces, dict):
        raise ConfigError(f"{where}: search.spaces must map keys to spaces, got {spaces!r}")
    parsed = {key: parse_space(value, f"{where}: search.spaces.{key}") for key, value in spaces.items()}
    return Search(trials, seed, tuple(over), parsed)
