"""The evaluation cache: decoded once, bit-identical inputs afterwards, and a miss when data change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from fake_trees import jpeg, make_shapes
from PIL import Image

from robustbench_ft.data.files import BadImageError, FileSplit
from robustbench_ft.models.inputs import InputPipeline

MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def _split(tmp_path, n=7, skip_bad=False) -> FileSplit:
    paths = [jpeg(tmp_path / "img" / f"{i}.jpg", seed=i, size=20 + 3 * i) for i in range(n)]
    return FileSplit(paths, torch.arange(n) % 3, skip_bad_images=skip_bad, workers=0)


def _all(batches):
    xs, ys = zip(*batches)
    return torch.cat(xs), torch.cat(ys)


@pytest.mark.parametrize("size, interpolation, resize_mode", [(32, "bicubic", "shortest"), (24, "bilinear", "squash")])
def test_cached_inputs_equal_decoded_ones_bit_for_bit(tmp_path, size, interpolation, resize_mode):
    inputs = InputPipeline(MEAN, STD, size, (), interpolation, resize_mode)
    split = _split(tmp_path)
    plain = _all(split.eval_batches(3, inputs))
    first = _all(split.eval_batches(3, inputs, cache=tmp_path / "cache"))  # builds the cache
    assert torch.equal(first[0], plain[0]) and torch.equal(first[1], plain[1])
    assert len(list((tmp_path / "cache").glob("eval-*/images.npy"))) == 1


def test_a_built_cache_decodes_nothing(tmp_path, monkeypatch):
    inputs = InputPipeline(MEAN, STD, 32)
    split = _split(tmp_path)
    built = _all(split.eval_batches(4, inputs, cache=tmp_path / "cache"))
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded an image"))
    again = _all(split.eval_batches(4, inputs, cache=tmp_path / "cache"))
    assert torch.equal(again[0], built[0])


def test_changed_files_or_transform_are_a_miss(tmp_path):
    split = _split(tmp_path)
    for size in (32, 40):
        list(split.eval_batches(4, InputPipeline(MEAN, STD, size), cache=tmp_path / "cache"))
    assert len(list((tmp_path / "cache").glob("eval-*"))) == 2  # another transform: another entry
    new = jpeg(Path(split.paths[0]).with_name("new.jpg"), seed=99, size=30)
    os.replace(new, split.paths[0])  # a new copy under the same path, as sync tools replace a file
    fresh = _all(split.eval_batches(4, InputPipeline(MEAN, STD, 32), cache=tmp_path / "cache"))
    assert len(list((tmp_path / "cache").glob("eval-*"))) == 3
    fewer = FileSplit(split.paths[1:], split.labels[1:], workers=0)  # a file less in the listing
    list(fewer.eval_batches(4, InputPipeline(MEAN, STD, 32), cache=tmp_path / "cache"))
    assert len(list((tmp_path / "cache").glob("eval-*"))) == 4
    assert torch.equal(fresh[0], _all(split.eval_batches(4, InputPipeline(MEAN, STD, 32)))[0])


def test_bad_files_fail_or_are_skipped_as_without_the_cache(tmp_path):
    split = _split(tmp_path, skip_bad=True)
    Path(split.paths[2]).write_bytes(b"not a jpeg")
    inputs = InputPipeline(MEAN, STD, 32)
    cached = _all(split.eval_batches(3, inputs, cache=tmp_path / "cache"))
    plain = _all(split.eval_batches(3, inputs))
    assert torch.equal(cached[0], plain[0]) and torch.equal(cached[1], plain[1]) and len(cached[1]) == 6
    assert split.paths[2] in split.bad_images
    strict = FileSplit(split.paths, split.labels, workers=0)
    with pytest.raises(BadImageError, match="cannot decode image"):
        list(strict.eval_batches(3, inputs, cache=tmp_path / "cache2"))
    assert not any((tmp_path / "cache2").iterdir())  # the failed build left nothing half-written


def test_evaluation_outputs_do_not_depend_on_the_evaluation_batch_size():
    """The CPU evaluates in batches of 128, a GPU in 512: the same outputs, bit for bit."""
    from dataclasses import replace

    from robustbench_ft.engine.workbench import open_workbench
    workbench = open_workbench("embedded", "tiny-clip", "embedded", torch.device("cpu"))
    model = workbench.fresh_classifier()
    split = workbench.benchmark.test_set("sketch")  # 1,800 images
    outputs = [replace(workbench, eval_batch_size=size).predict(model, split) for size in (100, 128, 512)]
    for other in outputs[1:]:
        assert torch.equal(other.logits, outputs[0].logits) and torch.equal(other.features, outputs[0].features)


def test_a_seen_split_costs_one_stat_per_folder_not_per_image(tmp_path, monkeypatch):
    """Starting an evaluation of a cached split stats its folders (one per class), not its images:
    on a network file system a job must not stat every file of ImageNet's test sets."""
    paths = [jpeg(tmp_path / "img" / f"class{i % 4}" / f"{i}.jpg", seed=i, size=12) for i in range(120)]
    split = FileSplit(paths, torch.arange(120) % 4, workers=0)
    inputs = InputPipeline(MEAN, STD, 16)
    list(split.eval_batches(32, inputs, cache=tmp_path / "cache"))
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: stats.append(str(path)) or real_stat(path, *a, **k))
    again = _all(split.eval_batches(32, inputs, cache=tmp_path / "cache"))
    assert len(again[1]) == 120
    assert {str(p.parent) for p in paths} <= set(stats)  # each class folder: has it changed?
    assert not {str(p) for p in paths} & set(stats)  # no image
    assert len(stats) <= 4 + 4  # the 4 folders and a few files of the cache itself


def test_listing_a_class_folder_stats_no_image(tmp_path, monkeypatch):
    from robustbench_ft.data.files import images_under
    for i in range(30):
        jpeg(tmp_path / "class" / f"{i}.jpg", seed=i, size=8)
    (tmp_path / "class" / "notes.txt").write_text("not an image")
    (tmp_path / "class" / "sub.jpg").mkdir()  # a folder named like an image is not one
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: stats.append(str(path)) or real_stat(path, *a, **k))
    found = images_under(tmp_path / "class")
    assert [Path(p).name for p in found] == sorted(f"{i}.jpg" for i in range(30)) and stats == []


def _zeroshot(benchmark: str, seed: int = 0, **fields):
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.planning import make_spec
    return make_spec("zeroshot", load_benchmark(benchmark).train_defaults, benchmark, seed, {"workers": 0, **fields})


def test_the_cache_goes_where_cache_dir_or_the_environment_says(tmp_path, monkeypatch):
    from robustbench_ft.engine.execute import execute
    benchmark = make_shapes(tmp_path)
    execute(_zeroshot(benchmark, cache_dir=str(tmp_path / "scratch")), tmp_path / "results")
    assert len(list((tmp_path / "scratch").glob("*/eval-*/images.npy"))) == 3  # validation, photo, sketch
    assert not list((tmp_path / "results").rglob("eval-*"))
    monkeypatch.setenv("ROBUSTBENCH_FT_CACHE_DIR", str(tmp_path / "node-local"))
    execute(_zeroshot(benchmark, seed=1), tmp_path / "results")  # another run; its cache from the environment
    # its validation split (the test splits' zero-shot outputs were stored by the first run)
    assert len(list((tmp_path / "node-local").glob("*/eval-*/images.npy"))) == 1


def test_a_full_disk_while_building_the_cache_fails_that_run_alone_and_leaves_no_partial_cache(tmp_path, monkeypatch):
    import errno

    import numpy as np

    from robustbench_ft.engine.execute import RunFailed, execute
    from robustbench_ft.records import ResultsTree
    benchmark = make_shapes(tmp_path)
    done = _zeroshot(benchmark)
    execute(done, tmp_path / "results")
    before = {p: p.read_bytes() for p in ResultsTree(tmp_path / "results").of(done).path.iterdir()}
    real_memmap = np.lib.format.open_memmap

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np.lib.format, "open_memmap", full_disk)
    failing = _zeroshot(benchmark, seed=1, cache_dir=str(tmp_path / "small-disk"))  # another run
    with pytest.raises(RunFailed) as failure:
        execute(failing, tmp_path / "results")
    reason = str(failure.value).split(" failed: ", 1)[1]
    assert reason.startswith("EvalCacheError: cannot write the evaluation cache of ") and "\n" not in reason
    assert "No space left on device; free room there, or put the cache elsewhere (cache_dir: `run --cache-dir`" in reason
    assert not list((tmp_path / "small-disk").rglob("*.npy")) and not list((tmp_path / "small-disk").rglob("*tmp*"))
    assert {p: p.read_bytes() for p in ResultsTree(tmp_path / "results").of(done).path.iterdir()} == before
    monkeypatch.setattr(np.lib.format, "open_memmap", real_memmap)
    assert execute(failing, tmp_path / "results").evaluations  # with room, the same run goes through


def test_a_dry_run_and_data_check_say_how_large_the_cache_will_be_and_where(tmp_path, capsys):
    from robustbench_ft.cli import main
    benchmark = make_shapes(tmp_path)
    assert main(["run", "--methods", "zeroshot", "--dataset", benchmark, "--dry-run", "--cache-dir",
                 str(tmp_path / "scratch"), "--results", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    images = 1 + 6 + 3  # validation (5% of 6 training images, at least one), photo, sketch
    gb = images * (3 * 32 * 32 + 1) / 1e9  # the tiny CLIP's 32 px
    assert f"evaluation cache: {gb:,.1f} GB for {images:,} validation and test images at 32 px, under " \
           f"{tmp_path / 'scratch'}" in out
    assert main(["data", "check", "--dataset", benchmark]) == 0
    assert f"evaluation cache: {gb:,.1f} GB for {images} validation and test images at 32 px" in capsys.readouterr().out


def test_the_probe_reads_its_training_split_without_caching_it(tmp_path):
    """Kumar et al.'s probe reads the training split once: its pixels are not kept (at ImageNet's
    size they would take ~190 GB); validation and test splits are cached as for every run."""
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.engine.execute import execute
    from robustbench_ft.planning import make_spec
    benchmark = make_shapes(tmp_path)
    spec = make_spec("lp", load_benchmark(benchmark).train_defaults, benchmark, 0, {"workers": 0})
    execute(spec, tmp_path / "results")
    cached = [json.loads((p / "meta.json").read_text())["files"] for p in (tmp_path / "results").rglob("eval-*")]
    assert sorted(cached) == [1, 3, 6]  # validation, sketch, photo; not the 5 training images
