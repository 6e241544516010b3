"""`data fake`: a benchmark's tree with its real layout, split files and classes, at the published
counts or a fraction, every image a link to a few generated JPEGs; the harness runs on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from robustbench_ft.cli import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.tools.fakedata.base import spread


def test_counts_spread_over_the_classes_at_least_one_each():
    assert spread(10, 3) == [4, 3, 3] and sum(spread(120_906, 345)) == 120_906
    assert spread(2, 5) == [1, 1, 1, 1, 1]  # a tiny fraction still gives every class an image


def _folder_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "shapes.yaml"
    path.write_text(yaml.safe_dump({
        "name": "shapes", "family": "folder", "classes": ["circle", "square", "star"],
        "splits": {"train": "train", "val": "val", "photo": "test/photo", "sketch": "test/sketch"},
        "id_split": "photo", "ood_splits": ["sketch"], "templates": ["a photo of a {}."]}))
    return path


def test_a_folder_benchmark_is_faked_from_its_yaml(tmp_path, capsys):
    declared = _folder_yaml(tmp_path)
    out = tmp_path / "data"
    assert main(["data", "fake", "--like", str(declared), "--out", str(out), "--per-class", "4"]) == 0
    assert "48 images" in capsys.readouterr().out  # 4 splits x 3 classes x 4
    benchmark = load_benchmark(str(declared), data_root=str(out), workers=0)
    assert benchmark.check().usable and benchmark.classes == ["circle", "square", "star"]
    assert len(benchmark.train_set()) == 12 and len(benchmark.test_set("sketch")) == 12
    images = sorted((out / "shapes" / "test" / "sketch" / "star").iterdir())
    assert len(images) == 4 and all(os.stat(p).st_nlink > 1 for p in images)  # links, not copies
    sources = {os.stat(p).st_ino for p in images}
    assert len(sources) == 3  # three generated JPEGs per class and split style
    again = tmp_path / "again"
    assert main(["data", "fake", "--like", str(declared), "--out", str(again), "--per-class", "4"]) == 0
    assert (again / "shapes/test/sketch/star/00000.jpg").read_bytes() == images[0].read_bytes()  # deterministic


def test_a_wrong_class_list_is_one_line(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    assert main(["data", "fake", "--like", "domainnet", "--out", str(tmp_path / "d"), "--classes", str(names)]) == 2
    err = capsys.readouterr().err
    assert "DomainNet has 345 distinct class folder names, got 2" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_fake_domainnet_has_the_real_layout_and_the_harness_runs_on_it(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["data", "fake", "--like", "domainnet", "--out", str(out), "--fraction", "0.002"]) == 0
    root = out / "domainnet"
    first = (root / "real_train.txt").read_text().splitlines()[0]
    assert first == "real/class_000/real_train_000_000000.jpg 0"
    benchmark = load_benchmark("domainnet", data_root=str(out), workers=0)
    report = benchmark.check()
    assert report.usable and report.counts["real_train"] == 345 and report.counts["sketch_test"] == 345
    assert len(benchmark.classes) == 345 and benchmark.classes[7] == "class 007"
    results = tmp_path / "results"
    assert main(["run", "--methods", "zeroshot", "--dataset", "domainnet", "--data-root", str(out),
                 "--model", "ViT-S-32", "--pretrained", "none", "--templates", "simple", "--workers", "1",
                 "--results", str(results)]) == 0
    assert "| Zero-shot |" in capsys.readouterr().out


@pytest.mark.slow
def test_a_fake_imagenet_has_the_wnids_the_shift_subsets_and_v2s_index_folders(tmp_path):
    out = tmp_path / "data"
    assert main(["data", "fake", "--like", "imagenet", "--out", str(out), "--fraction", "0.0001",
                 "--sources-per-class", "1"]) == 0
    benchmark = load_benchmark("imagenet", data_root=str(out), workers=0)
    report = benchmark.check()
    assert report.usable, report.errors
    assert report.counts["train"] == 1000 and report.counts["imagenet-r"] == 200 and report.counts["imagenet-a"] == 200
    assert benchmark.wnids[0] == "n01440764" and benchmark.classes[0] == "tench"
    assert sorted(p.name for p in (out / "imagenet/imagenetv2-matched-frequency-format-val").iterdir()) == \
        sorted(str(i) for i in range(1000))
    assert len(benchmark.test_set("imagenet-r").class_subset) == 200


def test_data_fake_never_writes_over_a_tree_it_did_not_make(tmp_path, capsys):
    declared = _folder_yaml(tmp_path)
    real = tmp_path / "data" / "shapes" / "train" / "circle"
    real.mkdir(parents=True)
    (real / "00000.jpg").write_bytes(b"a real photograph")
    assert main(["data", "fake", "--like", str(declared), "--out", str(tmp_path / "data")]) == 2
    assert "was not written by `data fake`" in capsys.readouterr().err
    assert (real / "00000.jpg").read_bytes() == b"a real photograph"


def test_runs_on_generated_data_are_named_apart_from_runs_on_real_data(tmp_path):
    """A rehearsal's runs and zero-shot outputs never stand for real ones in a shared results folder."""
    import shutil

    from robustbench_ft.core.identity import GENERATED_MARKER, artifacts_key
    from robustbench_ft.planning import make_spec
    declared = _folder_yaml(tmp_path)
    assert main(["data", "fake", "--like", str(declared), "--out", str(tmp_path / "fake"), "--per-class", "2"]) == 0
    shutil.copytree(tmp_path / "fake", tmp_path / "real")
    (tmp_path / "real" / "shapes" / GENERATED_MARKER).unlink()
    shutil.copytree(tmp_path / "real", tmp_path / "real-copy")

    def spec(root):
        return make_spec("ft", {}, str(declared), 0, {"data_root": str(tmp_path / root)})
    assert spec("real").digest() == spec("real-copy").digest()  # where real data lives does not name a run
    assert spec("fake").digest() != spec("real").digest() and spec("fake").identity()["data"].startswith("generated")
    assert artifacts_key(spec("fake")) != artifacts_key(spec("real")) == artifacts_key(spec("real-copy"))
