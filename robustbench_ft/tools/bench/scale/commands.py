"""`data check` and `run --dry-run` on the full trees, as a user runs them: a fresh process each,
its wall time and its peak resident memory (read by a fresh parent of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..demo import _PEAK

TARGET_SECONDS, TARGET_GIB = 30.0, 2.0  # on DomainNet


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak GiB) of `robustbench-ft ARGS` in a child process."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "robustbench_ft.cli", *args],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "ROBUSTBENCH_FT_PROGRESS": "0", **(env or {})}).stdout
    return time.perf_counter() - started, json.loads(out.strip().splitlines()[-1]) / 2 ** 20


def rows(domainnet: Path, imagenet: Path | None) -> tuple[list, list[str]]:
    from .. import Row, _check
    found, missing = [], []
    for like, root in (("domainnet", domainnet), ("imagenet", imagenet)):
        if root is None:
            missing.append(f"{like}: data check and --dry-run (no tree)")
            continue
        section = f"full-size {like} (generated)"
        with tempfile.TemporaryDirectory() as results:
            for what, args in (("data check", ["data", "check", "--dataset", like, "--data-root", str(root)]),
                               ("run --dry-run (lipsum, wise; ViT-B-16)",
                                ["run", "--methods", "lipsum,wise", "--dataset", like, "--data-root", str(root),
                                 "--model", "ViT-B-16", "--pretrained", "none", "--dry-run", "--results", results])):
                seconds, gib = timed(args)
                target = like == "domainnet"
                found.append(Row(section, f"{what} (s)", f"{seconds:.1f}",
                                 *(_check(seconds, TARGET_SECONDS) if target else ("", None))))
                found.append(Row(section, f"{what}: peak memory (GiB)", f"{gib:.2f}",
                                 *(_check(gib, TARGET_GIB) if target else ("", None))))
    return found, missing
