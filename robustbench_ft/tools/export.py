"""A run's selected weights back into the ecosystem: an open_clip checkpoint and the head.

The checkpoint is the full CLIP state_dict (the tuned image tower, the original text tower and
logit scale), so `open_clip.create_model_and_transforms(name, pretrained=FILE)` loads it as any
other weights file. The classifier head (K x D, rows in the benchmark's label order) and the
logit scale go beside it as `<FILE stem>.head.pt`: logits = scale * normalize(encode_image(x)) @ head.T + bias.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.atomic import atomic_write
from ..core.config import ConfigError
from ..core.identity import SPEC_VERSION
from ..core.spec import RunSpec
from ..models.classifier import with_bias
from ..models.loading import load_clip
from ..records.checkpoints import load_checkpoint
from ..records.layout import RunFolder


def _atomic_save(value: object, path: Path) -> None:
    atomic_write(path, lambda f: torch.save(value, f))


def export_run(run_dir: Path, out: Path) -> tuple[Path, Path]:
    """Write the open_clip checkpoint to `out` and the head beside it; returns both paths."""
    folder = RunFolder(Path(run_dir))
    if not folder.result_file.is_file() or not folder.checkpoint_file.is_file():
        raise ConfigError(f"{run_dir} is not a finished run with weights (expected result.json and "
                          f"checkpoint.pt; zero-shot and WiSE runs train nothing to export)")
    result = folder.read_result()  # an unreadable one is one line naming it
    data = folder.read_spec()
    if data.pop("spec_version", 1) != SPEC_VERSION:
        raise ConfigError(f"{run_dir} is of an older spec version: run `robustbench-ft migrate` first")
    spec = RunSpec.from_dict(data)
    state = with_bias(load_checkpoint(folder))
    clip = load_clip(spec.model, spec.pretrained)
    clip.model.visual.load_state_dict({k.removeprefix("visual."): v for k, v in state.items()
                                       if k.startswith("visual.")})
    _atomic_save(clip.model.state_dict(), out)
    head = out.with_name(f"{out.stem}.head.pt")
    _atomic_save({"head": state["head"], "bias": state["bias"], "logit_scale": state["logit_scale"], "model": spec.model,
                  "run": result.run, "benchmark": spec.benchmark}, head)
    return out, head
