"""docs/performance.md, written whole by `robustbench-ft bench` from one run's measurements."""

from __future__ import annotations

import datetime
from pathlib import Path

from ..util import atomic_write_text

READING = """\
## What each figure is
- **Step ratios**: each method's training step (the trainer's own step: data, forward, loss
  terms, backward, AdamW, the method's after-step) divided by FT's in the same round, the
  variants run alternately (FT, LP-FT, Lipsum-FT, bare loop, FT, ...) after a warm-up round;
  median of the per-round ratios, lowest–highest in brackets. LP-FT's probe head is a stand-in
  (its step costs the same whatever the head).
- **Without augmentation**: the embedded benchmark with `augment: []`; Lipsum-FT then reads the
  zero-shot features of each training image from a table computed once (methods/frozen_features.py).
- **Trainer / bare loop**: the trainer's FT step against forward, cross-entropy, backward and
  AdamW written by hand, on the same batches.
- **Evaluation throughput / bare forward**: a full evaluation (every test split, every metric
  against the stored zero-shot outputs) against the classifier's forward alone over the same
  inputs prepared in memory beforehand; above 1 is noise.
- **WiSE in one pass / 11 evaluations**: the 11 α of one run evaluated together, each split read
  once and every α run on each batch, against the 11 models evaluated one after another. The
  embedded world's splits are in memory, so there is no decoding to share there and the forward
  passes, which no schedule can share, are the whole cost; on image files the shared part is the
  JPEG decoding, which the evaluation cache removes after the first pass anyway.
- **Training memory**: in a fresh process per method, the high-water mark of resident memory (on
  a GPU, of allocated memory) over a few steps, less what the process held before the method and
  model were built (bench/memory.py).
- **README default**: `robustbench-ft run` then `report --plots` into an empty results folder, as
  `make demo` runs them after its install; the data cache of the embedded world already exists.
- **Reports**: 10,000 synthetic records (3,335 run folders) collected and rendered.
"""


def write_performance(path: Path, table: str, machine: str, command: str) -> None:
    day = datetime.date.today().isoformat()
    text = (f"# Performance\n\nThis file is written by `{command}` (robustbench_ft/bench/); every figure below\n"
            f"comes from that one run. Rerun it to check or refresh them.\n\n"
            f"- Measured: {day}\n- Machine: {machine}\n\n{table}\n{READING}")
    atomic_write_text(path, text)
