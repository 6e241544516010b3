"""What names a run: a versioned mapping of the fields that differ from their defaults.

A run's digest is the hash of `spec_identity(spec)`:
- `spec_version`, so a deliberate change of the naming rules is visible and migratable;
- every RunSpec field whose value differs from the field's default (so adding a defaulted field
  renames nothing), except fields marked `identity: False` (where data lives is not what it is);
- the method's hyper-parameters that differ from their declared defaults, per part;
- the weights by tag ("openai", "embedded") or by the SHA-256 of the file, never by its path;
- the benchmark by name and a digest of its declaration (without its default budget and data root).

Changing a field's or a hyper-parameter's default would silently re-label old runs, so the
defaults in force at SPEC_VERSION are pinned by a test (tests/test_identity.py): change one only
together with a SPEC_VERSION bump and a migration (records/migrate.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .config import read_yaml, resolve_preset
from .declarations import non_default_hparams
from .errors import ModelLoadError

if TYPE_CHECKING:
    from .spec import RunSpec

SPEC_VERSION = 3  # 3: `lp` is Kumar et al.'s probe; version 2's `lp` is `lp-zs` (migrate.py)
WEIGHT_FILE_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
BENCHMARK_KEYS_NOT_IDENTITY = ("train", "data_root")


def digest_of(mapping: Any) -> str:
    """12 hex digits of SHA-256 over canonical JSON."""
    canonical = json.dumps(mapping, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def spec_identity(spec: "RunSpec") -> dict[str, Any]:
    out: dict[str, Any] = {"spec_version": SPEC_VERSION}
    for f in fields(spec):
        if f.name == "hparams" or f.metadata.get("identity", True) is False:
            continue
        value, default = getattr(spec, f.name), f.default
        if f.name == "pretrained":
            value, default = weights_identity(value), weights_identity(default)
        elif f.name == "benchmark":
            value = benchmark_identity(value)
        if default is MISSING or value != default:
            out[f.name] = value
    hparams = non_default_hparams(spec)
    if hparams:
        out["hparams"] = hparams
    return out


def artifacts_key(spec: "RunSpec") -> str:
    """Names the zero-shot artifacts a run reads (head, energy texts, zero-shot outputs): they
    depend on the model, its weights, the benchmark and the prompt templates, nothing else."""
    return digest_of({"model": spec.model, "pretrained": weights_identity(spec.pretrained),
                      "benchmark": benchmark_identity(spec.benchmark), "templates": spec.templates})


def looks_like_weights_file(pretrained: str) -> bool:
    """A `pretrained` string names a file (not an open_clip tag) when it has a path or a suffix."""
    return any(s in pretrained for s in ("/", "\\")) or pretrained.endswith(WEIGHT_FILE_SUFFIXES)


def weights_identity(pretrained: str | None) -> str | None:
    """A tag stays a tag; a weights file becomes 'sha256:<16 hex>' of its bytes; None is random init."""
    if not pretrained:
        return None
    if not looks_like_weights_file(pretrained):
        return pretrained
    path = Path(pretrained)
    if not path.is_file():
        raise ModelLoadError(f"weights file {pretrained!r} does not exist (expected an open_clip tag, "
                             f"a local weights file, or 'none')")
    return "sha256:" + _by_file(path, _sha256_of_file)[:16]


def benchmark_identity(benchmark: str) -> str:
    """'<name>@<digest of its declaration>': the same benchmark however it was referred to."""
    path = resolve_preset("benchmarks", benchmark)
    return _by_file(path, _benchmark_declaration_identity)


def _benchmark_declaration_identity(path: Path) -> str:
    declaration = read_yaml(path)
    for key in BENCHMARK_KEYS_NOT_IDENTITY:
        declaration.pop(key, None)
    return f"{declaration.get('name', path.stem)}@{digest_of(declaration)}"


def _sha256_of_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


_FILE_CACHE: dict[tuple, str] = {}


def _by_file(path: Path, compute: Callable[[Path], str]) -> str:
    """`compute(path)`, remembered while the file's inode, size and change times stay the same
    (hashing a ViT's weights takes seconds, and a plan asks for digests many times)."""
    stat = path.stat()  # the file as it is now: its device and inode name it wherever it is referred to from
    key = (compute.__name__, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _FILE_CACHE:
        _FILE_CACHE[key] = compute(path)
    return _FILE_CACHE[key]
