"""Reading YAML presets (benchmarks/, methods/) with errors that say what and where.

Presets ship inside the package (robustbench_ft/presets, linked from the repository's top-level
`benchmarks/` and `methods/`), so a non-editable install finds them; a path to a YAML file of the
user's own is accepted wherever a preset name is.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DATA_ROOT_ENV = "ROBUSTBENCH_DATA"  # where benchmarks' data lives when neither a flag nor the spec says


class ConfigError(ValueError):
    """A preset or spec file is missing, unparsable or lacks what it must declare."""


@functools.lru_cache(maxsize=None)
def presets_dir(kind: str) -> Path:
    """Folder of the shipped presets of one kind: 'benchmarks' or 'methods'."""
    return Path(str(resources.files("robustbench_ft") / "presets" / kind))


def preset_names(kind: str) -> list[str]:
    return sorted(p.stem for p in presets_dir(kind).glob("*.yaml"))


def resolve_preset(kind: str, name_or_path: str) -> Path:
    """A shipped preset by name, or a YAML file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_file():
            raise ConfigError(f"{kind[:-1]} file {candidate} does not exist")
        return candidate
    path = presets_dir(kind) / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown {kind[:-1]} {name_or_path!r}; shipped: "
                          f"{', '.join(preset_names(kind))} (or give a path to a .yaml file)")
    return path


def benchmark_key(benchmark: str) -> str:
    """Folder name of a benchmark given by preset name or by YAML path (its file stem)."""
    return Path(benchmark).stem if benchmark.endswith((".yaml", ".yml")) else benchmark


def train_budget(declaration: dict[str, Any]) -> dict[str, Any]:
    """The default budget a benchmark declares (its `train:` block): run fields such as steps and lr."""
    return dict(declaration.get("train", {}) or {})


def benchmark_budget(name_or_path: str) -> dict[str, Any]:
    """`train_budget` of a shipped benchmark or a YAML path, read without building the benchmark
    (no data is needed to compose a run's spec)."""
    return train_budget(read_yaml(resolve_preset("benchmarks", name_or_path)))


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping; syntax errors name the file, line and column."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"invalid YAML at {where}: {getattr(err, 'problem', err)}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a YAML mapping (key: value lines), got {type(data).__name__}")
    return data


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Path | str) -> Any:
    """Fetch a mandatory key, checking its type, or say which file lacks what."""
    if key not in data:
        raise ConfigError(f"{where}: missing required key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: {key!r} must be {names}, got {type(value).__name__} {value!r}")
    return value
