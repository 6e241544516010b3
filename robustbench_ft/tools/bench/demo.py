"""The README's embedded default as a user runs it: wall time and peak resident memory.

`robustbench-ft run` (the default methods on the embedded benchmark) and `robustbench-ft report
--plots` into an empty folder, each a child process; the peak is the larger of the two commands'
resident-memory peaks, each read by a fresh parent of its own.
The data cache is the user's (the embedded world is generated once per machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs one command and prints the peak resident memory of its process tree: a fresh parent, so no
# earlier child of the bench (its memory measurements) can be the peak that getrusage reports.
_PEAK = ("import json, resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
         "print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")


def demo_rows() -> list:
    from . import Row, _check
    peak_kib = 0
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results"
        start = time.perf_counter()
        for args in (["run", "--results", str(results)],
                     ["report", "--results", str(results), "--out", str(results / "report"), "--plots"]):
            out = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "robustbench_ft.cli", *args],
                                 check=True, capture_output=True, text=True,
                                 env={**os.environ, "ROBUSTBENCH_FT_PROGRESS": "0"}).stdout
            peak_kib = max(peak_kib, json.loads(out.strip().splitlines()[-1]))
        seconds = time.perf_counter() - start
    peak = peak_kib / 2 ** 20  # KiB -> GiB
    return [Row("README default", "wall time of run + report --plots (min)", f"{seconds / 60:.2f}", *_check(seconds / 60, 3.0)),
            Row("README default", "peak resident memory (GiB)", f"{peak:.2f}", *_check(peak, 2.0))]
