"""WILDS benchmarks on generated trees in the release layouts, checked against the `wilds` package:
the same splits, labels, files and groups as its dataset classes, the same metrics as its `eval`."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from robustbench_ft.cli import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.metrics import macro_f1, worst_group_accuracy
from robustbench_ft.tools.fakedata.base import FakeOptions, write_fake

OURS_TO_WILDS = {"train": "train", "id_val": "id_val", "id_test": "id_test", "ood_val": "val", "ood_test": "test"}


def _scatter_mean(src, index, dim_size, reduce="mean"):
    """torch_scatter.scatter's group mean, which WILDS' group metrics call: that compiled package
    has no build for this torch, so the test lends WILDS this one (empty groups: 0, as there)."""
    assert reduce == "mean"
    sums = torch.zeros(dim_size, dtype=src.dtype).index_add_(0, index, src)
    return sums / torch.bincount(index, minlength=dim_size).clamp_min(1).to(src.dtype)


def _wilds_dataset(name: str, root):
    sys.modules.setdefault("outdated", None)  # no version check over the network when wilds is imported
    if "torch_scatter" not in sys.modules:
        sys.modules["torch_scatter"] = types.SimpleNamespace(scatter=_scatter_mean)
    wilds = pytest.importorskip("wilds")
    return wilds.get_dataset(dataset=name, root_dir=str(root), download=False)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = tmp_path_factory.mktemp("wilds")
    for like, per_class in (("iwildcam", 1), ("fmow", 2)):
        write_fake(like, out, FakeOptions(per_class=per_class, sources_per_class=1))
    return out


def _ours(name: str, root, split: str):
    benchmark = load_benchmark(name, data_root=str(root), workers=0)
    return benchmark, {"train": benchmark.train_set, "id_val": benchmark.val_set}.get(
        split, lambda: benchmark.make_test_set(split))()


@pytest.mark.parametrize("split", list(OURS_TO_WILDS))
def test_iwildcam_splits_are_wilds_own(trees, split):
    reference = _wilds_dataset("iwildcam", trees).get_subset(OURS_TO_WILDS[split])
    _, ours = _ours("iwildcam", trees, split)
    files = [str(reference.dataset.data_dir / "train" / reference.dataset._input_array[i]) for i in reference.indices]
    assert ours.paths == files
    assert torch.equal(ours.labels, reference.y_array.long())
    assert ours.class_subset is None  # WILDS scores over every class, also where a split lacks some


@pytest.mark.parametrize("split", list(OURS_TO_WILDS))
def test_fmow_splits_files_and_regions_are_wilds_own(trees, split):
    dataset = _wilds_dataset("fmow", trees)
    reference = dataset.get_subset(OURS_TO_WILDS[split])
    benchmark, ours = _ours("fmow", trees, split)
    files = [str(dataset.root / "images" / f"rgb_img_{dataset.full_idxs[i]}.png") for i in reference.indices]
    assert ours.paths == files  # numbered by metadata row: the rows in no split are skipped, not renumbered
    assert torch.equal(ours.labels, reference.y_array.long())
    regions = dataset.metadata_map["region"]
    wilds_regions = [regions[r] for r in reference.metadata_array[:, 0].tolist()]
    assert [ours.groups.names[g] for g in ours.groups.ids.tolist()] == wilds_regions
    assert "Other" in ours.groups.names and not ours.groups.counted[ours.groups.names.index("Other")]
    assert benchmark.classes[1] == "airport hangar"


def test_the_metrics_are_wilds_official_evaluation(trees):
    generator = torch.Generator().manual_seed(0)
    fmow = _wilds_dataset("fmow", trees)
    _, ood = _ours("fmow", trees, "ood_test")
    subset = fmow.get_subset("test")
    logits = torch.randn(len(ood), 62, generator=generator) + 3 * torch.nn.functional.one_hot(ood.labels, 62) \
        * (torch.rand(len(ood), 1, generator=generator) < 0.6)
    official, _ = fmow.eval(logits.argmax(-1), subset.y_array, subset.metadata_array)
    ours = worst_group_accuracy(logits, ood.labels, ood.groups.ids, ood.groups.mask())
    assert ours == pytest.approx(float(official["acc_worst_region"]), abs=1e-6)
    assert ours < float(official["acc_avg"])

    iwildcam = _wilds_dataset("iwildcam", trees)
    _, test = _ours("iwildcam", trees, "ood_test")
    subset = iwildcam.get_subset("test")
    logits = torch.randn(len(test), 182, generator=generator) + 3 * torch.nn.functional.one_hot(test.labels, 182)
    official, _ = iwildcam.eval(logits.argmax(-1), subset.y_array, subset.metadata_array)
    assert macro_f1(logits, test.labels) == pytest.approx(float(official["F1-macro_all"]), abs=1e-6)  # WILDS returns float32


def test_iwildcam_names_come_from_the_release_or_wise_fts_english_labels(trees, tmp_path):
    assert load_benchmark("iwildcam", data_root=str(trees)).classes[:2] == ["class_000", "class_001"]
    labels = tmp_path / "labels.csv"
    rows = [f"{y},{y},x,Name {y}" for y in range(182)] + ["99999,500,absent,Not In The Data"]
    labels.write_text("y,category_id,name,english\n" + "\n".join(rows) + "\n")
    config = tmp_path / "iwildcam.yaml"
    from robustbench_ft.core.config import resolve_preset
    config.write_text(resolve_preset("benchmarks", "iwildcam").read_text() + f"class_names: {labels}\n")
    classes = load_benchmark(str(config), data_root=str(trees)).classes
    assert len(classes) == 182 and classes[5] == "name 5"


def test_data_check_knows_the_published_counts_and_the_generated_ones(tmp_path, capsys):
    tree = write_fake("fmow", tmp_path, FakeOptions(per_class=2, sources_per_class=1))
    assert main(["data", "check", "--dataset", "fmow", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "train: 124 images, the published count is 76863" in out
    for split in ("train", "id_val", "id_test", "ood_test"):  # every generated row lands in its split
        assert f"{split}: {tree.counts[split]} images" in out


def test_selection_scores_on_the_benchmarks_select_on_metric():
    """iWildCam's checkpoints and ID-validation rules select on macro-F1, not accuracy."""
    from types import SimpleNamespace

    from robustbench_ft.engine.evaluate import val_accuracy_each
    from robustbench_ft.engine.workbench import SplitOutputs
    labels = torch.tensor([0, 0, 0, 0, 1, 2])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 0, 0, 0, 0, 0]), 3).float()  # always class 0
    split = SimpleNamespace(labels=labels, class_subset=None, groups=None)
    for select_on, expected in (("acc", 4 / 6), ("macro_f1", macro_f1(logits, labels))):
        workbench = SimpleNamespace(benchmark=SimpleNamespace(select_on=select_on, val_set=lambda: split),
                                    predict_each=lambda cs, images, what: [SplitOutputs(logits, logits, labels)])
        assert val_accuracy_each([object()], workbench) == [pytest.approx(expected)]
    assert macro_f1(logits, labels) == pytest.approx((2 * 4 / 10) / 3)


@pytest.mark.slow
@pytest.mark.parametrize("name, primary", [("iwildcam", "macro_f1"), ("fmow", "worst_group_acc")])
def test_zeroshot_ft_and_lipsum_run_end_to_end_on_a_generated_tree(trees, tmp_path, name, primary):
    from robustbench_ft.records.layout import ResultsTree
    results = tmp_path / "results"
    assert main(["run", "--methods", "zeroshot,ft,lipsum", "--dataset", name, "--data-root", str(trees),
                 "--model", "ViT-S-32", "--pretrained", "none", "--templates", "simple", "--steps", "2", "--batch-size", "8",
                 "--eval-every", "1", "--workers", "0", "--results", str(results)]) == 0
    done = [f.read_result() for f in ResultsTree(results).runs()]
    assert sorted(r.method for r in done) == ["ft", "lipsum", "zeroshot"]
    for result in done:
        metrics = result.evaluations[0].splits["ood_test"]
        assert primary in metrics and 0 <= metrics[primary] <= 1
        assert result.primary_metrics[0] == primary
    assert all(r.select_on == ("macro_f1" if name == "iwildcam" else "acc") for r in done)
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "report")]) == 0
    primary_table = (tmp_path / "report" / name / "primary.md").read_text()
    assert ("Macro-F1" if name == "iwildcam" else "Worst-region acc.") in primary_table


def test_a_metadata_file_without_a_column_is_one_clear_error(trees, tmp_path, capsys):
    import shutil
    copy = tmp_path / "fmow_v1.1"
    shutil.copytree(trees / "fmow_v1.1", copy, symlinks=True)
    metadata = copy / "rgb_metadata.csv"
    lines = metadata.read_text().splitlines()
    metadata.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop timestamp
    assert main(["data", "check", "--dataset", "fmow", "--data-root", str(tmp_path)]) == 1
    assert "no column ['timestamp']" in capsys.readouterr().out


def test_a_skipped_image_leaves_every_other_row_with_its_own_group():
    from robustbench_ft.data.benchmark import Groups
    from robustbench_ft.data.files import FileSplit
    from robustbench_ft.engine.evaluate import _groups_of
    split = FileSplit(["a.png", "b.png", "c.png"], torch.tensor([0, 1, 0]), workers=0,
                      groups=Groups(torch.tensor([0, 1, 2]), ("Asia", "Europe", "Other"), (True, True, False)))
    assert _groups_of(split, 3)[0].tolist() == [0, 1, 2]
    split.bad_images.add("b.png")  # skipped while decoding: the outputs have two rows
    ids, counted = _groups_of(split, 2)
    assert ids.tolist() == [0, 2] and counted.tolist() == [True, True, False]


def test_a_timestamp_that_is_no_iso_time_is_one_clear_error(tmp_path, capsys):
    write_fake("fmow", tmp_path, FakeOptions(per_class=1, sources_per_class=1))
    metadata = tmp_path / "fmow_v1.1" / "rgb_metadata.csv"
    lines = metadata.read_text().splitlines()
    metadata.write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",last spring", *lines[2:]]) + "\n")
    assert main(["data", "check", "--dataset", "fmow", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{metadata}: a timestamp is not an ISO 8601 time" in out and "Traceback" not in out
