"""ImageNet's effective-robustness lines, recomputed from Taori et al.'s testbed data.

No paper prints the per-shift lines of the ImageNet testbed as numbers (the testbed's code fits
them when it plots), so the harness recomputes them from the testbed's released evaluations, the
way the testbed's own site does (modestyachts/imagenet-testbed-website, `website.py`): models with
ImageNet validation accuracy above 55%, models that `model_types.py` marks as standard training
(no robustness intervention, no extra data), neither "aws" nor "batch64" variants nor subsampled
ones, and a least-squares line per shift on logit axes (accuracies as fractions). The x-axis is the
full ImageNet validation accuracy, as the harness's tables report ID accuracy (the testbed also
plots ImageNet-R, -A and ObjectNet against the accuracy on their class subsets; those lines differ).

    git clone https://github.com/modestyachts/imagenet-testbed-website /tmp/testbed
    robustbench-ft testbed --from-imagenet-testbed /tmp/testbed --out robustbench_ft/presets/testbeds/imagenet.yaml

Each line's correlation and model count are recorded beside it: ImageNet-A, whose accuracy stays
near zero until high ImageNet accuracy, is a poor fit to one line (the testbed fits it in two
pieces on its class subset), and the YAML says so.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..core.atomic import atomic_write_text
from ..core.config import ConfigError
from ..report.robustness import logit

# The harness's ImageNet OOD split -> the testbed's column (results.csv).
SHIFTS = {"imagenet-v2": "imagenetv2-matched-frequency-format-val", "imagenet-r": "imagenet-r",
          "imagenet-a": "imagenet-a", "imagenet-sketch": "imagenet-sketch"}
MIN_VAL = 55.0


def standard_models(types_source: str) -> set[str]:
    """The model names `model_types.py` maps to ModelTypes.STANDARD (read as text, never run)."""
    return set(re.findall(r"^'([^']+)':\s*ModelTypes\.STANDARD,", types_source, flags=re.M))


def fits_from_testbed(folder: Path) -> dict[str, Any]:
    """The baseline YAML's content: one logit line per shift, with its provenance."""
    results, types = folder / "results.csv", folder / "model_types.py"
    for path in (results, types):
        if not path.is_file():
            raise ConfigError(f"{path} does not exist: give a checkout of modestyachts/imagenet-testbed-website")
    frame = pd.read_csv(results, index_col="model")
    standard = standard_models(types.read_text())
    names = frame.index.str.lower()
    used = frame[(frame["val"] > MIN_VAL) & frame.index.isin(standard) & ~names.str.contains("aws")
                 & ~names.str.contains("batch64") & ~names.str.contains("subsample")]
    fits = {}
    for split, column in SHIFTS.items():
        rows = used[["val", column]].dropna()
        x, y = logit(rows["val"].to_numpy(float) / 100), logit(rows[column].to_numpy(float) / 100)
        slope, intercept = np.polyfit(x, y, 1)
        fits[split] = {"slope": round(float(slope), 4), "intercept": round(float(intercept), 4),
                       "r": round(float(np.corrcoef(x, y)[0, 1]), 3), "models": int(len(rows)),
                       "id_range": [round(float(rows["val"].min()), 1), round(float(rows["val"].max()), 1)]}
    commit = _commit(folder)
    return {"benchmark": "imagenet",
            "source": (f"recomputed by `robustbench-ft testbed --from-imagenet-testbed` from Taori et al.'s ImageNet "
                       f"testbed evaluations (modestyachts/imagenet-testbed-website results.csv{commit}): standard "
                       f"models above {MIN_VAL:g}% ImageNet accuracy, logit axes, x = full ImageNet validation"),
            "fits": fits}


def _commit(folder: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" at commit {out}" if out else ""


def write_imagenet_baseline(folder: Path, out: Path) -> Path:
    atomic_write_text(out, "# Made by `robustbench-ft testbed --from-imagenet-testbed` "
                           "(robustbench_ft/tools/imagenet_testbed.py); do not edit.\n"
                      + yaml.safe_dump(fits_from_testbed(folder), sort_keys=False))
    return out
