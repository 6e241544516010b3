"""Kumar et al.'s linear probe at ImageNet's size: 1.28 M random 512-dimensional features (float32,
as the zero-shot encoder gives them), 1,000 classes, on this machine's CPU (float64), each in a
fresh process: its peak resident memory and the seconds of one evaluation of the objective and
its gradient (L-BFGS makes one or a few a step). The objective in one piece (every logit at once,
as before it was chunked) is measured at a tenth of the rows and scaled, since at full size it
would not fit here.
"""

from __future__ import annotations

import json
import subprocess
import sys

ROWS, DIM, CLASSES = 1_281_167, 512, 1_000
ASSUMED_PROCESS_GIB = 64.0  # a GPU node's memory per training process (e.g. 512 GB shared by 8 GPUs)


def _child(rows: int, whole: bool) -> dict[str, float]:
    import resource
    import time

    import torch

    from ....methods import logistic_regression
    if whole:
        logistic_regression.chunk_rows = lambda classes, itemsize=8: rows
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(rows, DIM, generator=generator)
    labels = torch.randint(0, CLASSES, (rows,), generator=generator)
    started = time.perf_counter()
    logistic_regression.fit_probe(features, labels, CLASSES, C=1.0, max_iter=1)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def _measure(rows: int, whole: bool) -> dict[str, float]:
    code = ("import json, sys; from robustbench_ft.tools.bench.scale.probe import _child; "
            "print(json.dumps(_child(int(sys.argv[1]), sys.argv[2] == '1')))")
    out = subprocess.run([sys.executable, "-c", code, str(rows), "1" if whole else "0"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def rows() -> tuple[list, list[str]]:
    from .. import Row, _check
    section = f"linear probe, ImageNet size ({ROWS:,} x {DIM} features, {CLASSES:,} classes), CPU float64"
    chunked = _measure(ROWS, whole=False)
    tenth = _measure(ROWS // 10, whole=True)
    return [Row(section, "peak memory, objective in chunks (GiB)", f"{chunked['peak_gib']:.1f}",
                *_check(chunked["peak_gib"], ASSUMED_PROCESS_GIB)),
            Row(section, "first L-BFGS iteration, objective in chunks (s)", f"{chunked['seconds']:.0f}"),
            Row(section, "peak memory, objective in one piece (every logit at once), at a tenth of the rows (GiB)",
                f"{tenth['peak_gib']:.1f}"),
            Row(section, "... scaled to the full rows (GiB, an upper bound: the process's own base counted ten times)",
                f"{10 * tenth['peak_gib']:.0f}", *_check(10 * tenth["peak_gib"], ASSUMED_PROCESS_GIB))], \
        ["the probe on a GPU: no GPU here (it runs there in float32, in the same chunks)"]
