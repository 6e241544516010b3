"""What names a run: spec version, non-default fields, weights by tag or content, no data paths."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field

import pytest
import yaml

from robustbench_ft.core.config import presets_dir
from robustbench_ft.core.errors import ModelLoadError
from robustbench_ft.core.identity import SPEC_VERSION
from robustbench_ft.core.spec import RunSpec
from robustbench_ft.methods.base import METHODS, method_class
from robustbench_ft.models.loading import embedded_weights_path

# The digest names result folders. It may change only together with a SPEC_VERSION bump and a
# migration in robustbench_ft/migrate.py (every existing results folder is renamed by it), or when
# the embedded benchmark's declaration (benchmarks/embedded.yaml, its budget aside) changes, which
# makes old results of it another benchmark's. Adding a defaulted field never changes it.
# Version 2 gave 9cf1e30d3562 and 2afba45430fd; version 3 (`lp` became Kumar et al.'s probe)
# 01b12f420dc2 and 50afd8806a40; version 4 (L2-SP's encoder without weight decay, untrained
# methods without training fields) renamed every folder through the migration again.
GOLDEN = {("ft", ()): "8f00d4097cd2", ("lipsum", (("lam", 2.0),)): "67829cac95ef"}

# The defaults in force at SPEC_VERSION 2 to 4. A run's digest leaves defaults out, so changing one of
# these would silently give old folders a new meaning: bump SPEC_VERSION and migrate instead.
SPEC_DEFAULTS_V2 = {"model": "tiny-clip", "pretrained": "embedded", "seed": 0, "steps": 370,
                    "batch_size": 128, "lr": 3e-4, "weight_decay": 0.1, "warmup_frac": 0.1,
                    "schedule": "cosine", "grad_clip": None, "accum_steps": 1, "eval_every": 74,
                    "selection": "best_id_val", "precision": "auto", "templates": None, "shots": None,
                    "data_root": None,
                    "workers": None, "cache_dir": None, "checkpoint_every": None, "log": None, "compile": False}
# A hyper-parameter added later must default to the old behaviour (lipsum.text_pool), so that old
# digests keep their meaning; a changed default needs a new spec version and a migration.
HPARAM_DEFAULTS_V2 = {"lipsum": {"lam": 1.0, "num_texts": 80, "text_length": 8, "text_pool": "vocabulary"},
                      "wise": {"alphas": [round(0.1 * i, 1) for i in range(11)]},
                      "ensemble": {"weights": [round(0.1 * i, 1) for i in range(11)]},
                      "l2sp": {"alpha": 0.01, "decay_backbone": False},  # version 3's was decay_backbone=True
                      "kd": {"weight": 1.0, "temperature": 1.0},
                      "carft": {"weight": 1.0}, "lpft": {"probe": "lp"}, "ema": {"decay": 0.99, "warmup": False},
                      "flyp": {"same_class_negatives": True},
                      "tpgm": {"steps": 50, "lr": 0.1, "init": 3.0, "batch_size": 256},
                      "soup": {"kind": "greedy", "lr_factors": [0.5, 1.0, 2.0]},
                      "lp": {"Cs": [10.0 ** k for k in range(-2, 6)], "max_iter": 1000},
                      # added with issue 22
                      "bitfit": {"lr_factor": 10.0, "head": True},
                      "lora": {"rank": 8, "alpha": 16.0, "targets": "attention", "lr_factor": 10.0, "head": True},
                      "ftp": {"k": 1.0, "gamma_lr": 0.01},
                      "carot": {"orthogonality": 0.2, "distillation": 1.5, "teacher_every": 0.02, "momentum": 0.9,
                                "cross": 0.0, "same_class_negatives": True},
                      "modelstock": {"partner_offset": 1000}}
CHANGED = {"model": "ViT-B-16", "pretrained": "openai", "seed": 1, "steps": 1, "batch_size": 2,
           "lr": 1e-5, "weight_decay": 0.0, "warmup_frac": 0.2, "schedule": "constant", "grad_clip": 1.0,
           "accum_steps": 2, "eval_every": 3, "selection": "last", "precision": "bf16", "templates": "simple",
           "shots": 4, "hparams": {"lam": 2.0}}
NOT_IDENTITY = {"data_root": "/scratch/copy", "workers": 7, "cache_dir": "/scratch/cache", "checkpoint_every": 5,
                "log": "tensorboard", "compile": True}


def spec(**changes) -> RunSpec:
    return RunSpec(benchmark="embedded", method="lipsum").replace(**changes)


def test_pinned_digests():
    assert SPEC_VERSION == 4
    for (method, hparams), digest in GOLDEN.items():
        assert RunSpec(benchmark="embedded", method=method, hparams=dict(hparams)).digest() == digest


def test_pinned_defaults():
    defaults = {f.name: f.default for f in dataclasses.fields(RunSpec) if f.default is not dataclasses.MISSING}
    assert defaults == SPEC_DEFAULTS_V2, "a changed default re-labels old runs: bump SPEC_VERSION and migrate"
    shipped = [n for n in METHODS.names() if method_class(n).__module__.startswith("robustbench_ft.")]
    declared = {name: {h.name: h.default for h in method_class(name).hparams} for name in shipped}
    assert {k: v for k, v in declared.items() if v} == HPARAM_DEFAULTS_V2


def test_every_identity_field_changes_the_digest():
    base = spec()
    assert set(CHANGED) | set(NOT_IDENTITY) | {"benchmark", "method"} == {f.name for f in dataclasses.fields(RunSpec)}
    for name, value in CHANGED.items():
        assert base.replace(**{name: value}).digest() != base.digest(), name
    for name, value in NOT_IDENTITY.items():  # where data lives and how it is read: not what a run is
        assert base.replace(**{name: value}).digest() == base.digest(), name
    assert base.replace(method="ft", hparams={}).digest() != base.digest()


def test_defaults_given_or_omitted_are_the_same_run():
    assert spec(hparams={"lam": 1.0}).digest() == spec().digest()
    assert spec(hparams={"lipsum": {"lam": 1}}).digest() == spec().digest()
    assert spec(lr=3e-4, steps=370).digest() == spec().digest()
    assert spec(hparams={"lam": 2.0, "num_texts": 80}).digest() == spec(hparams={"lipsum": {"lam": 2.0}}).digest()


def test_a_new_defaulted_field_keeps_every_old_digest():
    @dataclass(frozen=True)
    class RunSpecWithMore(RunSpec):
        label_smoothing: float = 0.0

    for method in ("ft", "lipsum", "ft+wise"):
        old, new = RunSpec(benchmark="embedded", method=method), RunSpecWithMore(benchmark="embedded", method=method)
        assert new.digest() == old.digest()
        assert new.replace(label_smoothing=0.1).digest() != old.digest()


def test_a_field_marked_not_identity_never_enters_the_digest():
    @dataclass(frozen=True)
    class RunSpecWithScratch(RunSpec):
        scratch: str | None = field(default=None, metadata={"identity": False})

    here, there = RunSpecWithScratch(benchmark="embedded", method="ft", scratch="/tmp/a"), \
        RunSpecWithScratch(benchmark="embedded", method="ft", scratch="/tmp/b")
    assert here.digest() == there.digest() == RunSpec(benchmark="embedded", method="ft").digest()


def test_seed_is_in_the_run_but_not_in_the_config():
    assert spec(seed=1).digest() != spec().digest()
    assert spec(seed=1).config_digest() == spec().config_digest()
    assert spec(lr=1e-5).config_digest() != spec().config_digest()


def test_weights_are_named_by_content_not_by_path(tmp_path):
    a, b = tmp_path / "a" / "w.pt", tmp_path / "b" / "copy.pt"
    for path in (a, b):
        path.parent.mkdir()
        shutil.copy(embedded_weights_path("tiny-clip"), path)
    assert spec(pretrained=str(a)).digest() == spec(pretrained=str(b)).digest()
    assert spec(pretrained=str(a)).identity()["pretrained"].startswith("sha256:")
    b.write_bytes(b.read_bytes() + b"\x00")  # other bytes (cached digests are keyed by size and times)
    assert spec(pretrained=str(a)).digest() != spec(pretrained=str(b)).digest()
    assert spec(pretrained="openai").identity()["pretrained"] == "openai"
    with pytest.raises(ModelLoadError, match="weights file .*missing.pt' does not exist"):
        spec(pretrained=str(tmp_path / "missing.pt")).digest()


def test_benchmark_is_named_by_its_declaration_not_its_path(tmp_path):
    declaration = yaml.safe_load((presets_dir("benchmarks") / "embedded.yaml").read_text())
    copy = tmp_path / "elsewhere" / "my-copy.yaml"
    copy.parent.mkdir()
    copy.write_text(yaml.safe_dump({**declaration, "data_root": "/data", "train": {"steps": 9}}))
    assert spec(benchmark=str(copy)).digest() == spec().digest()
    copy.write_text(yaml.safe_dump({**declaration, "templates": ["a {}"]}))
    assert spec(benchmark=str(copy)).digest() != spec().digest()
