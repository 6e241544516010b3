"""Real benchmark layouts on generated trees: labels, class order, splits, and every broken case."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fake_trees import DOMAINNET_CLASSES, make_domainnet, make_imagenet, make_shapes

from robustbench_ft.cli.main import main
from robustbench_ft.core.config import ConfigError
from robustbench_ft.data.benchmark import DataMissingError, load_benchmark
from robustbench_ft.data.files import BadImageError
from robustbench_ft.engine.evaluate import restrict
from robustbench_ft.models.inputs import InputPipeline

INPUTS = InputPipeline((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 16, ["random_resized_crop", "hflip"])


@pytest.fixture()
def domainnet(tmp_path):
    make_domainnet(tmp_path)
    return load_benchmark("domainnet", data_root=str(tmp_path), workers=0)


def test_domainnet_labels_follow_the_split_files_not_folder_order(domainnet):
    assert domainnet.classes == ["cello", "cell phone", "zebra"]  # label order; prompts without _
    split = domainnet.test_set("painting")
    for path, label in zip(split.paths, split.labels.tolist()):
        assert Path(path).parent.name == DOMAINNET_CLASSES[label]
    assert domainnet.test_splits == ["real", "painting", "clipart", "infograph", "sketch"]


def test_domainnet_holds_out_a_fixed_validation_part_of_real_train(domainnet, tmp_path):
    train, val = domainnet.train_set(), domainnet.val_set()
    assert len(train) + len(val) == 24 and len(val) == round(0.05 * 24)
    assert not set(train.paths) & set(val.paths)
    again = load_benchmark("domainnet", data_root=str(tmp_path), workers=0)
    assert again.val_set().paths == val.paths  # fixed and seeded
    assert len(domainnet.test_set("real")) == 6


def test_data_root_may_be_the_benchmark_folder_or_its_parent(tmp_path, monkeypatch):
    base = make_domainnet(tmp_path)
    assert load_benchmark("domainnet", data_root=str(base)).root == base
    monkeypatch.setenv("ROBUSTBENCH_DATA", str(tmp_path))
    assert load_benchmark("domainnet").root == base


def test_missing_data_fails_fast_with_one_message(tmp_path, capsys):
    code = main(["run", "--dataset", "domainnet", "--data-root", str(tmp_path), "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"no usable data at {tmp_path}/domainnet or {tmp_path}" in err
    assert "<domain>_train.txt" in err and "data check" in err and "--dataset embedded" in err
    assert not (tmp_path / "r").exists()


def test_missing_split_file(tmp_path):
    base = make_domainnet(tmp_path)
    (base / "sketch_test.txt").unlink()
    with pytest.raises(DataMissingError, match="sketch_test.txt"):
        load_benchmark("domainnet", data_root=str(tmp_path)).check_available()


def test_data_check_reports_missing_images_stray_folders_and_counts(tmp_path, capsys):
    base = make_domainnet(tmp_path)
    args = ["data", "check", "--dataset", "domainnet", "--data-root", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "real_train" in out and "24 images" in out and "usable" in out
    assert "warning: real_train: 24 images, the published count is 120906" in out
    (base / "painting" / "zebra" / "painting_test_2_0.jpg").unlink()
    (base / "clipart" / "tuba").mkdir()
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "painting_test: 1 missing images: " + str(base / "painting" / "zebra" / "painting_test_2_0.jpg") in out
    assert "1 class folders that no split file names: tuba" in out and "NOT usable" in out


def test_corrupt_jpeg_is_named_or_skipped_and_counted(tmp_path, capsys):
    base = make_domainnet(tmp_path)
    bad = base / "sketch" / "cello" / "sketch_test_0_0.jpg"
    bad.write_bytes(b"not a jpeg")
    for workers in (0, 2):  # raised in the main process, one clear line, with or without workers
        benchmark = load_benchmark("domainnet", data_root=str(tmp_path), workers=workers)
        with pytest.raises(BadImageError, match=f"^cannot decode image {bad}: UnidentifiedImageError") as err:
            list(benchmark.test_set("sketch").eval_batches(4, INPUTS))
        assert "\n" not in str(err.value)
    assert main(["data", "check", "--dataset", "domainnet", "--data-root", str(tmp_path), "--deep"]) == 1
    assert f"1 images that do not decode: {bad}" in capsys.readouterr().out
    benchmark = load_benchmark("domainnet", data_root=str(tmp_path), workers=0)
    benchmark.skip_bad_images = True  # as `skip_bad_images: true` in the YAML
    split = benchmark.test_set("sketch")
    batches = list(split.eval_batches(4, INPUTS))
    assert sum(len(labels) for _, labels in batches) == 5 and split.bad_images == {str(bad)}


def test_training_batches_do_not_depend_on_the_number_of_workers(domainnet, tmp_path):
    def first_batches(workers: int) -> list[torch.Tensor]:
        benchmark = load_benchmark("domainnet", data_root=str(tmp_path), workers=workers)
        stream = benchmark.train_set().train_batches(4, torch.Generator().manual_seed(3), INPUTS)
        return [next(stream) for _ in range(7)]  # past the end of the first epoch

    for (x0, y0), (x2, y2) in zip(first_batches(0), first_batches(2)):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)
    assert x0.shape == (4, 3, 16, 16)


def test_each_rank_decodes_its_shard_of_the_one_process_batch(domainnet, tmp_path):
    def batches(shard: tuple[int, int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        benchmark = load_benchmark("domainnet", data_root=str(tmp_path), workers=0)
        stream = benchmark.train_set().train_batches(4, torch.Generator().manual_seed(3), INPUTS, shard=shard)
        return [next(stream) for _ in range(5)]

    whole, first, second = batches((0, 1)), batches((0, 2)), batches((1, 2))
    for (x, y), (x0, y0), (x1, y1) in zip(whole, first, second):
        assert x0.shape[0] == x1.shape[0] == 2
        assert torch.equal(torch.cat([x0, x1]), x) and torch.equal(torch.cat([y0, y1]), y)


WNIDS = [f"n{i:08d}" for i in range(1000)]


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_imagenet(root, WNIDS, subset=[WNIDS[7], WNIDS[3], WNIDS[500]])
    return load_benchmark("imagenet", data_root=str(root), workers=0)


def test_imagenet_classes_and_the_200_class_projection(imagenet):
    assert len(imagenet.classes) == 1000 and imagenet.classes[0] == "tench"
    r = imagenet.test_set("imagenet-r")
    assert r.class_subset == [3, 7, 500] and sorted(r.labels.tolist()) == [3, 7, 500]
    logits = torch.arange(1000.0).repeat(3, 1)
    restricted, labels = restrict(logits, r.labels, r.class_subset)
    assert restricted.shape == (3, 3) and restricted[0].tolist() == [3.0, 7.0, 500.0]
    assert sorted(labels.tolist()) == [0, 1, 2]
    assert imagenet.test_set("imagenet").class_subset == [0, 1, 2, 3, 4]


def test_imagenet_v2_labels_are_the_folder_numbers(imagenet):
    v2 = imagenet.test_set("imagenet-v2")
    assert {Path(p).parent.name: y for p, y in zip(v2.paths, v2.labels.tolist())} == {"2": 2, "10": 10, "100": 100}


def test_imagenet_folder_that_names_no_class(imagenet):
    stray = imagenet.root / "imagenet-a" / "n99999999"
    stray.mkdir()
    try:
        with pytest.raises(ConfigError, match="1 folders that name no ImageNet class: n99999999"):
            imagenet.test_set("imagenet-a")
    finally:
        stray.rmdir()


def test_a_folder_benchmark_is_yaml_alone(tmp_path):
    benchmark = load_benchmark(make_shapes(tmp_path), workers=0)
    assert benchmark.classes == ["circle", "square"]
    assert benchmark.test_set("sketch").class_subset == [1] and benchmark.test_set("photo").class_subset is None
    assert len(benchmark.train_set()) + len(benchmark.val_set()) == 6


def test_skipped_images_are_counted_in_the_runs_record(tmp_path):
    from robustbench_ft.engine.execute import execute
    from robustbench_ft.planning import make_spec
    yaml_path = make_shapes(tmp_path, "skip_bad_images: true\ntrain: {steps: 2, batch_size: 2, eval_every: 1}\n")
    bad = tmp_path / "shapes" / "test" / "sketch" / "square" / "0.jpg"
    bad.write_bytes(b"truncated")
    spec = make_spec("zeroshot", load_benchmark(yaml_path).train_defaults, yaml_path, 0, {"workers": 0})
    result = execute(spec, tmp_path / "results")
    assert result.bad_images == [str(bad)]
    assert result.evaluations[0].splits["sketch"]["acc"] in (0.0, 0.5, 1.0)  # 2 images left


def test_a_flipped_plain_training_batch_is_what_the_training_transform_makes_when_it_flips(domainnet):
    """The frozen-feature table's flipped inputs (a tensor flip) equal the training transform's
    own random flip (on the PIL image) when that flip is drawn, bit for bit."""
    import torchvision.transforms as T
    from PIL import Image
    split = domainnet.train_set()
    inputs = InputPipeline((0.48, 0.46, 0.41), (0.27, 0.26, 0.28), 16, ["hflip"])
    transform = inputs.train_transform()
    next(t for t in transform.transforms if isinstance(t, T.RandomHorizontalFlip)).p = 1.0  # always flip
    for flip in (False, True):
        batch, _ = next(iter(split.plain_train_batches(4, inputs, "cpu", flip)))
        expected = torch.stack([(transform if flip else inputs.train_transform(random_flip=False))(
            Image.open(path).convert("RGB")) for path in split.paths[:4]])
        assert torch.equal(batch, expected)
