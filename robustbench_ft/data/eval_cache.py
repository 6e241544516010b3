"""Decode once: a file split's evaluation images, resized and cropped, kept on disk as uint8.

The evaluation transform is deterministic, so its geometric part (open_clip's resize, centre crop
and RGB conversion) gives the same pixels every time. The first evaluation of a split writes them
to a memory-mapped uint8 array (N, 3, S, S) with the labels and which files decoded, under the
run's zero-shot artifacts folder; every later evaluation (each checkpoint, each WiSE alpha, each
run of the sweep on that model and benchmark) reads it instead of decoding JPEGs. Scaling to
[0, 1] and mean/std normalisation happen per batch, with the very operations of the uncached path
(ToTensor's /255, Normalize), so the inputs are bit-identical.

The cache is named by the split's listing (every path and label), the modification time of each
folder that holds its files, and the transform's settings: a file added, removed or renamed, or
replaced by a new copy the way sync tools replace files (a temporary name renamed over it),
changes the key, so such data is a cache miss, never a stale hit. Naming it costs one stat per
folder (a class folder), not one per image: a job that starts on a network file system does not
stat 150,000 files. An image rewritten in place under its own name leaves its folder's time as it
was and is not noticed, and so does a folder whose time a copy sets back (`rsync -a`, `cp -p`):
delete the `eval-*` folders of the cache after changing images that way.
The cache is written under a temporary name and renamed into place complete, so two processes
may build it at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import torch

from ..core.atomic import atomic_write_text

if TYPE_CHECKING:
    from .files import FileSplit

CACHE_DIR_ENV = "ROBUSTBENCH_FT_CACHE_DIR"  # read by the engine (workbench_for); named here for messages


class EvalCacheError(OSError):
    """The evaluation cache could not be written (a full disk, a quota); the message says where to."""


def cache_bytes(images: int, image_size: int) -> int:
    """The evaluation cache's size for `images` at `image_size` px: uint8 pixels and a byte a row."""
    return images * (3 * image_size * image_size + 1)


def cache_key(split: "FileSplit", inputs: Any) -> str:
    """Digest of the eval transform's settings, the split's paths and labels, and the modification
    time of every folder holding its files (one stat per folder)."""
    h = hashlib.sha256()
    h.update(json.dumps([inputs.image_size, inputs.interpolation, inputs.resize_mode]).encode())
    folders: dict[str, None] = {}
    for path, label in zip(map(str, split.paths), split.labels.tolist()):
        h.update(f"{path}\0{label}\n".encode())
        folders[os.path.dirname(path)] = None
    for folder in sorted(folders):
        h.update(f"{folder}\0{os.stat(folder).st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


class EvalCache:
    """The cached eval pixels of one split under `folder` (images.u8, meta.json with labels and
    which rows decoded)."""

    def __init__(self, folder: Path, split: "FileSplit", inputs: Any) -> None:
        self.split, self.inputs = split, inputs
        self.path = Path(folder) / f"eval-{cache_key(split, inputs)}"
        self.shape = (len(split), 3, inputs.image_size, inputs.image_size)

    def ready(self) -> bool:
        return (self.path / "meta.json").is_file()

    @property
    def nbytes(self) -> int:
        return cache_bytes(len(self.split), self.inputs.image_size)

    def build(self, batch_size: int) -> None:
        """Decode every file once with the geometric transform and store the pixels."""
        tmp = self.path.with_name(f"{self.path.name}.tmp-{socket.gethostname()}-{os.getpid()}")  # per builder
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            self._write(tmp, batch_size)
        except OSError as err:  # a full disk, a quota: this run fails, with where and how much
            raise EvalCacheError(f"cannot write the evaluation cache of {len(self.split):,} images "
                                 f"({self.nbytes / 1e9:.1f} GB) to {self.path.parent}: {err}; free room there, or "
                                 f"put the cache elsewhere (cache_dir: `run --cache-dir`, a sweep's settings, or "
                                 f"${CACHE_DIR_ENV})") from err
        finally:  # a failed build (a bad file, a full disk) leaves nothing behind
            if not (tmp / "meta.json").is_file() and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.rename(tmp, self.path)
        except OSError:
            if not self.ready():
                raise
        finally:  # a lost race (another process put its copy in place first) leaves nothing behind
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _write(self, folder: Path, batch_size: int) -> None:
        pixels = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=self.shape)
        decoded = np.zeros(len(self.split), dtype=bool)
        for rows, images in self.split.decoded_batches(batch_size, self.inputs.eval_pixels()):
            pixels[rows] = images.numpy()
            decoded[rows] = True
        pixels.flush()
        del pixels
        np.save(folder / "decoded.npy", decoded)
        atomic_write_text(folder / "meta.json", json.dumps({"shape": self.shape, "files": len(self.split)}))

    def batches(self, batch_size: int, device: torch.device | str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised inputs and labels in split order, files that did not decode left out."""
        pixels = np.load(self.path / "images.npy", mmap_mode="r")
        decoded = np.load(self.path / "decoded.npy")
        self.split.bad_images.update(p for p, ok in zip(self.split.paths, decoded) if not ok)
        labels = self.split.labels
        for start in range(0, len(self.split), batch_size):
            rows = np.flatnonzero(decoded[start:start + batch_size]) + start
            if len(rows):
                images = torch.from_numpy(np.ascontiguousarray(pixels[rows]))
                yield self.inputs.normalize(images, device), labels[torch.from_numpy(rows)].to(device)
