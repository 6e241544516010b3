"""The README's embedded default as a user runs it: wall time and peak resident memory.

`robustbench-ft run` (the default methods on the embedded benchmark) and `robustbench-ft report
--plots` into an empty folder, each a child process; the peak is the larger of the two children's.
The data cache is the user's (the embedded world is generated once per machine).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def demo_rows() -> list:
    from . import Row, _check
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results"
        start = time.perf_counter()
        for args in (["run", "--results", str(results)],
                     ["report", "--results", str(results), "--out", str(results / "report"), "--plots"]):
            subprocess.run([sys.executable, "-m", "robustbench_ft.cli", *args], check=True,
                           capture_output=True, env={**__import__("os").environ, "ROBUSTBENCH_FT_PROGRESS": "0"})
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20  # KiB -> GiB
    return [Row("README default", "wall time of run + report --plots (min)", f"{seconds / 60:.2f}", *_check(seconds / 60, 3.0)),
            Row("README default", "peak resident memory (GiB)", f"{peak:.2f}", *_check(peak, 2.0))]
