"""CIFAR-10 and its shifts from their released array files, on generated trees in those layouts."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from robustbench_ft.cli import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.data.cifar import CLASSES
from robustbench_ft.tools.fakedata.base import FakeOptions, write_fake


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("cifar")
    write_fake("cifar10", out, FakeOptions(per_class=4, sources_per_class=2))
    return out


def test_the_layouts_byte_orders_by_hand(tree, tmp_path):
    """One pixel set by hand in each format reads back where the format's documentation puts it."""
    root = tmp_path / "cifar10"
    for folder in ("cifar-10-batches-py", "CIFAR-10.1", "cifar-10.2", "stl10_binary"):
        (root / folder).mkdir(parents=True)
    row = np.zeros(3072, np.uint8)
    row[1024 + 32 * 2 + 5] = 9  # green plane, row 2, column 5 (row-major planes)
    for i in range(1, 6):
        with open(root / f"cifar-10-batches-py/data_batch_{i}", "wb") as f:
            pickle.dump({b"data": np.stack([row] * 2), b"labels": [3, 6]}, f)
    with open(root / "cifar-10-batches-py/test_batch", "wb") as f:
        pickle.dump({"data": np.stack([row]), "labels": [1]}, f)  # str keys read too
    np.save(root / "CIFAR-10.1/cifar10.1_v6_data.npy", np.zeros((1, 32, 32, 3), np.uint8))
    np.save(root / "CIFAR-10.1/cifar10.1_v6_labels.npy", np.array([2], np.int32))
    np.savez(root / "cifar-10.2/cifar102_test.npz", images=np.zeros((1, 32, 32, 3), np.uint8), labels=np.array([4]))
    stl = np.zeros((2, 3, 96, 96), np.uint8)
    stl[0, 0].flat[96 * 1 + 0] = 7  # red plane, column-major: offset 96 is column 1, row 0
    (root / "stl10_binary/test_X.bin").write_bytes(stl.tobytes())
    (root / "stl10_binary/test_y.bin").write_bytes(bytes([3, 8]))  # STL 'car' (3) and 'monkey' (8)
    benchmark = load_benchmark("cifar10", data_root=str(tmp_path), workers=0)
    train = benchmark._array_split("train")
    assert np.asarray(train.open_image(0))[2, 5].tolist() == [0, 9, 0] and train.labels.tolist()[:2] == [3, 6]
    assert benchmark.test_set("cifar10").labels.tolist() == [1]
    stl10 = benchmark.test_set("stl10")
    assert stl10.labels.tolist() == [CLASSES.index("automobile")]  # the monkey is left out
    assert np.asarray(stl10.open_image(0))[0, 1].tolist() == [7, 0, 0]
    assert stl10.class_subset == [1]  # the labels it holds; the full tree's STL split has all but frog


def test_generated_tree_reads_with_the_shared_classes_and_a_held_out_validation(tree):
    benchmark = load_benchmark("cifar10", data_root=str(tree), workers=0)
    assert benchmark.classes == CLASSES
    assert len(benchmark.train_set()) + len(benchmark.val_set()) == 40 and len(benchmark.val_set()) == 1
    stl10 = benchmark.test_set("stl10")
    assert stl10.class_subset == [c for c in range(10) if CLASSES[c] != "frog"] and len(stl10) == 36
    assert benchmark.test_set("cifar10.1").open_image(0).size == (32, 32)
    assert stl10.open_image(0).size == (96, 96)
    images, labels = next(iter(stl10.eval_batches(8, _inputs())))
    assert images.shape == (8, 3, 32, 32) and torch.equal(labels, stl10.labels[:8])
    assert benchmark.check().usable


def _inputs():
    from robustbench_ft.models.inputs import InputPipeline
    return InputPipeline((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 32)


@pytest.mark.slow
def test_zeroshot_ft_and_lipsum_run_end_to_end_on_a_generated_tree(tree, tmp_path):
    from robustbench_ft.records.layout import ResultsTree
    results = tmp_path / "results"
    assert main(["run", "--methods", "zeroshot,ft,lipsum", "--dataset", "cifar10", "--data-root", str(tree),
                 "--model", "ViT-S-32", "--pretrained", "none", "--templates", "simple", "--steps", "2",
                 "--batch-size", "8", "--eval-every", "1", "--workers", "0", "--results", str(results)]) == 0
    done = [f.read_result() for f in ResultsTree(results).runs()]
    assert sorted(r.method for r in done) == ["ft", "lipsum", "zeroshot"]
    for result in done:
        assert set(result.evaluations[0].splits) == {"cifar10", "cifar10.1", "cifar10.2", "stl10"}


def test_an_unreadable_array_file_is_named_and_the_other_splits_still_count(tree, tmp_path, capsys):
    import shutil
    copy = tmp_path / "cifar10"
    shutil.copytree(tree / "cifar10", copy)
    (copy / "cifar-10.2" / "cifar102_test.npz").write_bytes(b"not an npz")
    assert main(["data", "check", "--dataset", "cifar10", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "cannot read split 'cifar10.2'" in out and "Traceback" not in out
    assert "cifar10.1" in out and "stl10" in out  # the rest are still counted
