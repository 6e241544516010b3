"""Zero-shot artifacts computed once and read by every later run, in any process or job.

The zero-shot head (every class prompt through the text tower), the energy-gap texts' features
and the zero-shot model's outputs on each test split are the same for every run of one (model,
weights, benchmark, templates): at ImageNet scale they take an hour per process. They live as
files under `<results>/_artifacts/<key>/` (records.layout; key: identity.artifacts_key),
written atomically (temporary name, fsync, rename), so two processes that build the same one at once both succeed
and a reader never sees a torn file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from ..core.atomic import atomic_write


class ArtifactStore:
    """get_or_make(name, make): the stored tensor (or dict of tensors), made and stored on first use."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.made: list[str] = []  # names this process computed (the rest were read)

    def get_or_make(self, name: str, make: Callable[[], Any]) -> Any:
        if self.folder is None:
            return make()
        path = self.folder / f"{name}.pt"
        if path.is_file():
            return torch.load(path, map_location="cpu", weights_only=True)
        value = make()
        self.made.append(name)
        atomic_write(path, lambda f: torch.save(value, f))
        return value
