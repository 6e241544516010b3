"""Progress of long passes over data: a bar on the terminal, and a line in the log once a pass has
taken long enough to matter (a WiSE curve of 11 variants over ImageNet's test sets runs for many
minutes; the embedded world's few seconds stay quiet).

`ROBUSTBENCH_FT_PROGRESS=0` turns the bars off (the tests do); the log lines stay.
"""

from __future__ import annotations

import os
import time

from tqdm import tqdm

from ..core.log import log

LOG_AFTER_SECONDS = 10.0


def bars_enabled() -> bool:
    return os.environ.get("ROBUSTBENCH_FT_PROGRESS", "1") != "0"


class DataPass:
    """`with DataPass("evaluating sketch", images, variants) as p: ... p.done(batch)`: every batch
    goes through each of `variants` models, so the bar counts images x variants."""

    def __init__(self, what: str, images: int, variants: int = 1) -> None:
        self.what, self.images, self.variants = what, images, variants

    def __enter__(self) -> "DataPass":
        self.started = time.perf_counter()
        self.bar = tqdm(total=self.images * self.variants, desc=self.what, unit="img", unit_scale=True,
                        mininterval=1.0, leave=False, disable=not bars_enabled())
        return self

    def done(self, images: int) -> None:
        self.bar.update(images * self.variants)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
        seconds = time.perf_counter() - self.started
        if exc[0] is None and seconds >= LOG_AFTER_SECONDS:
            models = f"{self.variants} models x " if self.variants > 1 else ""
            log(f"{self.what}: {models}{self.images:,} images in {seconds:.0f} s "
                f"({self.images * self.variants / seconds:,.0f} images/s through the models)")
