"""The tiny CLIP's model card numbers: zero-shot accuracy on every test split, measured.

`robustbench-ft model-card` writes them next to the weights (tiny-clip.card.json); the test suite
re-measures them with the shipped weights and checks they agree, so docs/tiny-clip.md cannot drift
from what the model does.
"""

from __future__ import annotations

import json
from typing import Any

from ..core.atomic import atomic_write_text
from ..engine.evaluate import evaluate
from ..engine.workbench import open_workbench
from ..models.loading import embedded_weights_path


def card_path(model: str = "tiny-clip"):
    return embedded_weights_path(model).with_name(f"{model}.card.json")


def measure_card(benchmark: str = "embedded", model: str = "tiny-clip", write: bool = True
                 ) -> dict[str, Any]:
    workbench = open_workbench(benchmark, model, "embedded")
    results = evaluate(workbench.zeroshot, workbench)
    card = {
        "model": model,
        "benchmark": benchmark,
        "command": "robustbench-ft model-card",
        "chance": 1 / len(workbench.benchmark.classes),
        "zeroshot_test_accuracy": {s: round(m["acc"], 6) for s, m in results.items()},
        "test_images_per_split": {s: len(workbench.benchmark.test_set(s)) for s in results},
    }
    if write:
        atomic_write_text(card_path(model), json.dumps(card, indent=1) + "\n")
    return card


def read_card(model: str = "tiny-clip") -> dict[str, Any]:
    return json.loads(card_path(model).read_text())
