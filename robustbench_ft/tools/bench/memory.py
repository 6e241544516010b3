"""Peak memory of training, per method, each in a fresh process.

The child loads the workbench (data, pretrained CLIP, zero-shot head), notes its resident memory,
resets the kernel's high-water mark (/proc/self/clear_refs), then builds the method, model and
optimizer and trains a few steps. Its training memory is the new high-water mark less that
baseline: the trained copy, gradients, optimizer state, activations, and a method's extras (a
frozen reference, a text tower). On a GPU the same is read from torch.cuda's peak counters.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import torch

STATUS = Path("/proc/self/status")


def _kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", STATUS.read_text()).group(1))


def supported() -> bool:
    return STATUS.is_file() and Path("/proc/self/clear_refs").exists()


def training_peak(method: str, benchmark: str, model: str, pretrained: str | None, batch: int, steps: int) -> int:
    """Bytes of memory `steps` training steps of `method` add at their peak, measured in a child."""
    code = ("import json, sys; from robustbench_ft.tools.bench.memory import _child; "
            "print(json.dumps(_child(*json.loads(sys.argv[1]))))")
    args = json.dumps([method, benchmark, model, pretrained, batch, steps])
    out = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=True).stdout
    return int(json.loads(out.strip().splitlines()[-1]))


def _child(method: str, benchmark: str, model: str, pretrained: str | None, batch: int, steps: int) -> int:
    from ...engine.workbench import workbench_for
    from .training import frozen_forward_every_step, scratch, spec_of, stepper
    with scratch() as root, frozen_forward_every_step(True):  # the frozen forward's memory, not a table's
        spec = spec_of(method, benchmark, model, pretrained, batch)
        workbench = workbench_for(spec, root)
        workbench.benchmark.train_set()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        base_rss = _kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        step = stepper(spec, root)
        for _ in range(steps):
            step()
        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() - base
        return 1024 * (_kib("VmHWM") - base_rss)
