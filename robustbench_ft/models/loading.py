"""One entry point that loads any CLIP: real open_clip models and the shipped tiny one alike.

`load_clip(name, pretrained)` follows open_clip's convention: `pretrained` is a tag or a local
state_dict file. The tiny CLIP is an ordinary open_clip config registered from package data, its
tag "embedded" names the weights file shipped inside the package, so nothing is ever downloaded
for it. Only its tokenizer differs (a word vocabulary, see tokenizers.py).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ..core.errors import ModelLoadError
from ..core.identity import looks_like_weights_file
from .tokenizers import Tokenizer, WordTokenizer

__all__ = ["ClipBundle", "ModelLoadError", "load_clip", "embedded_models"]

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
EMBEDDED_TAG = "embedded"
RANDOM_INIT_SEED = 0


@dataclass
class ClipBundle:
    """A CLIP model with what the harness needs beside it: tokenizer and input format."""

    name: str
    pretrained: str | None
    model: nn.Module
    tokenizer: Tokenizer
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str = "bicubic"   # how the model's own preprocessing resizes
    resize_mode: str = "shortest"

    @property
    def context_length(self) -> int:
        return int(self.model.context_length)


def _package_dir(sub: str) -> Path:
    return Path(str(resources.files("robustbench_ft.models") / sub))


def embedded_models() -> dict[str, Path]:
    """Embedded model names and their config files (models/configs/*.json)."""
    return {p.stem: p for p in sorted(_package_dir("configs").glob("*.json"))}


def embedded_weights_path(name: str) -> Path:
    return _package_dir("weights") / f"{name}.pt"


def embedded_vocab_path(name: str) -> Path:
    return _package_dir("vocab") / f"{name}.json"


_registered = False


def _open_clip():
    """open_clip, imported on first use: it takes seconds, and planning a sweep needs no model."""
    import open_clip
    return open_clip


def _register_embedded_configs() -> None:
    global _registered
    if not _registered:
        _open_clip().add_model_config(_package_dir("configs"))
        _registered = True


def _resolve_weights(name: str, pretrained: str | None) -> str | None:
    if pretrained is None or pretrained == "":
        return None
    if name in embedded_models() and pretrained == EMBEDDED_TAG:
        path = embedded_weights_path(name)
        if not path.is_file():
            raise ModelLoadError(
                f"the shipped weights of {name!r} are missing: expected {path}. Reinstall the "
                f"package or rebuild them with `robustbench-ft pretrain-tiny`.")
        return str(path)
    if looks_like_weights_file(pretrained) and not Path(pretrained).is_file():
        raise ModelLoadError(f"weights file {pretrained!r} for model {name!r} does not exist")
    return pretrained


def _config_file(name: str) -> Path | None:
    """The JSON config of model `name`, shipped with this package or with open_clip, found without
    importing open_clip (seconds: a dry run only needs to know the name and the input size)."""
    embedded = embedded_models().get(name)
    if embedded is not None:
        return embedded
    spec = importlib.util.find_spec("open_clip")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model_configs" / f"{name}.json"
        if path.is_file():
            return path
    return None


def check_model_name(name: str) -> None:
    """A ModelLoadError unless open_clip (or the embedded configs) knows `name`; loads nothing."""
    if _config_file(name) is not None or name.startswith(("hf-hub:", "local-dir:")):
        return
    _register_embedded_configs()
    if name not in _open_clip().list_models():
        raise ModelLoadError(f"unknown model {name!r}; embedded: {sorted(embedded_models())}, "
                             f"open_clip knows {len(_open_clip().list_models())} (open_clip.list_models())")


def image_size_of(name: str) -> int:
    """The input size of model `name` from its open_clip config, without building it (224 when the
    config does not say, as for hf-hub models)."""
    path = _config_file(name)
    if path is not None:
        config = json.loads(path.read_text())
    else:
        _register_embedded_configs()
        config = _open_clip().get_model_config(name) or {}
    size = (config.get("vision_cfg") or {}).get("image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def load_clip(name: str, pretrained: str | None = EMBEDDED_TAG, device: str | torch.device = "cpu"
              ) -> ClipBundle:
    """Build `name` and load `pretrained` (tag, local state_dict file, or None for random init)."""
    check_model_name(name)
    _register_embedded_configs()
    weights = _resolve_weights(name, pretrained)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)  # 'none' names one set of weights in every process
            model = _open_clip().create_model(name, pretrained=weights, device=device)
    except Exception as err:  # torch.load fails in many ways on a bad file (IndexError, ...)
        if weights is None:
            raise
        raise ModelLoadError(f"could not load weights {weights!r} into model {name!r}: the file is "
                             f"corrupt or holds another architecture ({type(err).__name__}: "
                             f"{str(err)[:300]})") from err
    model.eval()
    return ClipBundle(name=name, pretrained=pretrained, model=model, tokenizer=_tokenizer(name),
                      image_size=_image_size(model), **_preprocessing(model))


def _tokenizer(name: str) -> Tokenizer:
    if name in embedded_models():
        vocab = embedded_vocab_path(name)
        if not vocab.is_file():
            raise ModelLoadError(f"the vocabulary of {name!r} is missing: expected {vocab}")
        return WordTokenizer.from_file(vocab)
    return _open_clip().get_tokenizer(name)


def _image_size(model: nn.Module) -> int:
    size = getattr(model.visual, "image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def _preprocessing(model: nn.Module) -> dict[str, object]:
    """The model's own input normalisation and resizing, as open_clip declares it."""
    cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
    return {"mean": tuple(cfg.get("mean", OPENAI_MEAN)), "std": tuple(cfg.get("std", OPENAI_STD)),
            "interpolation": cfg.get("interpolation", "bicubic"), "resize_mode": cfg.get("resize_mode", "shortest")}
