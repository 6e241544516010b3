"""Shared fixtures: a miniature copy of the embedded benchmark so trainer tests take seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("ROBUSTBENCH_FT_PROGRESS", "0")

from robustbench_ft.config import presets_dir  # noqa: E402


@pytest.fixture(scope="session")
def mini_benchmark(tmp_path_factory) -> str:
    """embedded.yaml with 2-4 images per class: a YAML path usable wherever a name is."""
    config = yaml.safe_load((presets_dir("benchmarks") / "embedded.yaml").read_text())
    config["name"] = "mini"
    config["per_class"] = {"train": 4, "val": 2, "test": 2}
    config["train"] = {"steps": 4, "batch_size": 16, "lr": 3e-4, "weight_decay": 0.1, "eval_every": 2}
    path = Path(tmp_path_factory.mktemp("bench")) / "mini.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)
