"""Live training logs: TensorBoard and W&B (offline) receive exactly the rows metrics.jsonl holds."""

from __future__ import annotations

import json

import pytest

from robustbench_ft.cli.main import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.execute import execute
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree


def _spec(bench: str, **fields):
    return make_spec("lipsum", load_benchmark(bench).train_defaults, bench, 0, fields)


def _rows(root, spec) -> list[dict]:
    path = ResultsTree(root).of(spec).path / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tensorboard_gets_every_logged_scalar(mini_benchmark, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    spec = _spec(mini_benchmark, log="tensorboard")
    assert spec.digest() == _spec(mini_benchmark).digest()  # where logs go is not what a run is
    execute(spec, tmp_path)
    events = EventAccumulator(str(ResultsTree(tmp_path).of(spec).path / "tensorboard")).Reload()
    rows = _rows(tmp_path, spec)
    assert set(events.Tags()["scalars"]) == {f"train/{k}" for k in ("lr", "loss", "ce", "lipsum", "val_acc")}
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [r["step"] for r in rows]
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in rows], rel=1e-6)
    assert [e.step for e in events.Scalars("train/val_acc")] == [r["step"] for r in rows if "val_acc" in r]


def test_wandb_offline_run_records_every_row(mini_benchmark, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline is the default: no network needed
    spec = _spec(mini_benchmark, log="wandb")
    execute(spec, tmp_path)
    folder = ResultsTree(tmp_path).of(spec).path
    runs = list((folder / "wandb").glob(f"offline-run-*-{spec.digest()}"))  # the digest is the W&B run id
    assert len(runs) == 1
    # wandb's Python package no longer reads its own .wandb files (the reader is in its Go core);
    # its history records keep each value as JSON text, so every logged value can be found in it
    data = next(runs[0].glob("*.wandb")).read_bytes()
    for row in _rows(tmp_path, spec):
        for key, value in row.items():
            if key != "step":
                assert json.dumps(value).encode() in data, (row["step"], key)


def test_an_unknown_or_missing_logger_is_one_line_before_any_run(mini_benchmark, tmp_path, capsys, monkeypatch):
    assert main(["run", "--methods", "ft", "--dataset", mini_benchmark, "--results", str(tmp_path),
                 "--log", "tensorbored"]) == 2
    err = capsys.readouterr().err
    assert "unknown logger 'tensorbored'" in err and "known: tensorboard, wandb" in err
    assert not any(tmp_path.rglob("spec.yaml"))
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert main(["run", "--methods", "ft", "--dataset", mini_benchmark, "--results", str(tmp_path),
                 "--log", "wandb"]) == 2
    err = capsys.readouterr().err
    assert "--log wandb needs the wandb package" in err and "robustbench-ft[log]" in err and len(err.splitlines()) == 1
    assert not any(tmp_path.rglob("spec.yaml"))
    # a spec that names a logger is still read where the logger is not installed (export, migrate)
    assert _spec(mini_benchmark, log="wandb").log == "wandb"
