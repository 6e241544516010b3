"""Contrastive pretraining of the shipped tiny CLIP on every domain of the embedded world.

This is how `robustbench_ft/models/weights/tiny-clip.pt` was made (`robustbench-ft pretrain-tiny`).
Image-caption pairs are drawn from the 'pretrain' split of all six domains; captions are re-sampled
at every draw from the image's class, domain, colour and size, so the model sees varied wording.
The loss is CLIP's symmetric InfoNCE with a learned temperature.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.atomic import atomic_write_text
from ..core.log import log
from ..data.captions import caption_vocabulary, make_caption, size_word
from ..data.shapes import CLASSES
from ..data.styles import DOMAINS
from ..data.synthetic import COLOUR_NAMES, load_split
from ..models.loading import embedded_weights_path, load_clip


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of the shipped model; the defaults are what made it."""

    model: str = "tiny-clip"
    world_seed: int = 0
    per_class: int = 700
    steps: int = 4000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.1
    warmup_steps: int = 300
    seed: int = 0
    log_every: int = 100


def _pool(config: PretrainConfig) -> tuple[torch.Tensor, np.ndarray, np.ndarray, list[str], list]:
    images, labels, domains, colours, sizes = [], [], [], [], []
    for d, domain in enumerate(DOMAINS):
        split = load_split(config.world_seed, "pretrain", domain, config.per_class)
        images.append(torch.from_numpy(split.images).permute(0, 3, 1, 2).contiguous())
        labels.append(split.labels)
        domains.append(np.full(len(split), d))
        colours += [COLOUR_NAMES[c] for c in split.colours]
        sizes += [size_word(float(r)) for r in split.radii]
    return torch.cat(images), np.concatenate(labels), np.concatenate(domains), colours, sizes


def _lr_at(step: int, config: PretrainConfig) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * 0.5 * (1 + math.cos(math.pi * progress))


def pretrain(config: PretrainConfig = PretrainConfig(), out_dir: Path | None = None) -> dict:
    """Train from scratch and write `<model>.pt`, `<model>.vocab.json` and a training log."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    bundle = load_clip(config.model, pretrained=None)
    model = bundle.model.train()
    tokenizer = bundle.tokenizer
    if tokenizer.words != caption_vocabulary() or tokenizer.vocab_size != model.vocab_size:
        raise ValueError(f"the vocabulary of {config.model} (models/vocab, models/configs) does not "
                         "match the captions' words (data/captions.py): update both together")
    started = time.time()
    images, labels, domains, colours, sizes = _pool(config)
    log(f"pretrain pool: {len(images)} images in {time.time() - started:.1f}s")
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    mean = torch.tensor(bundle.mean).view(1, 3, 1, 1)
    std = torch.tensor(bundle.std).view(1, 3, 1, 1)
    ema, history, train_started = None, [], time.time()
    for step in range(config.steps):
        idx = rng.choice(len(images), config.batch_size, replace=False)
        batch = images[idx].float() / 255
        flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
        batch[flip] = batch[flip].flip(-1)
        captions = [make_caption(rng, CLASSES[labels[i]], DOMAINS[domains[i]], colours[i], sizes[i])
                    for i in idx]
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, config)
        image_f = F.normalize(model.encode_image((batch - mean) / std), dim=-1)
        text_f = F.normalize(model.encode_text(tokenizer(captions)), dim=-1)
        logits = model.logit_scale.exp() * image_f @ text_f.T
        target = torch.arange(len(idx))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % config.log_every == 0 or step == config.steps - 1:
            elapsed = time.time() - train_started
            history.append({"step": step, "loss_ema": round(ema, 4), "seconds": round(elapsed, 1)})
            log(f"pretrain step {step}/{config.steps} loss(ema) {ema:.3f} "
                f"scale {model.logit_scale.exp().item():.1f} {elapsed:.0f}s")
    return _save(model, config, history, time.time() - started, out_dir)


def _save(model: torch.nn.Module, config: PretrainConfig,
          history: list, seconds: float, out_dir: Path | None) -> dict:
    weights = (out_dir / f"{config.model}.pt") if out_dir else embedded_weights_path(config.model)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_suffix(".tmp")
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, weights)
    info = {"config": asdict(config), "wall_seconds": round(seconds, 1),
            "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in model.parameters()),
            "weights_bytes": weights.stat().st_size, "final_loss_ema": history[-1]["loss_ema"],
            "logit_scale": round(float(model.logit_scale.detach().exp()), 3), "history": history}
    atomic_write_text(weights.with_name(f"{config.model}.pretrain.json"), json.dumps(info, indent=1) + "\n")
    log(f"wrote {weights} ({info['weights_bytes'] / 1e6:.2f} MB) in {seconds:.0f}s")
    return info
