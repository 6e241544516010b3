"""A real open_clip architecture (ViT-S-32, random init) on a generated DomainNet tree, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import open_clip
import pytest
import torch
from fake_trees import make_domainnet

from robustbench_ft.cli.main import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.metrics import accuracy

pytestmark = pytest.mark.slow
RUN = ["--dataset", "domainnet", "--model", "ViT-S-32", "--pretrained", "none", "--templates", "simple",
       "--steps", "2", "--batch-size", "4", "--workers", "2"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("real")
    make_domainnet(root / "data", train_per_class=4)
    results = root / "results"
    assert main(["run", "--methods", "zeroshot,ft,wise", "--data-root", str(root / "data"),
                 "--results", str(results), *RUN]) == 0
    return root / "data", results


def test_zeroshot_ft_and_wise_run_and_report(sweep, tmp_path):
    data, results = sweep
    runs = {json.loads(p.read_text())["spec"]["method"]: json.loads(p.read_text())
            for p in results.rglob("result.json")}
    assert set(runs) == {"zeroshot", "ft", "ft+wise"}
    assert set(runs["ft"]["records"][0]["splits"]) == {"real", "painting", "clipart", "infograph", "sketch"}
    assert runs["ft"]["identity"]["pretrained"] is None and runs["ft"]["spec"]["workers"] == 2
    assert "data_root" not in runs["ft"]["identity"]  # where the data lives is not what the run is
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "report"), "--format", "md"]) == 0
    table = (tmp_path / "report" / "domainnet" / "accuracy.md").read_text()
    assert "| Zero-shot |" in table and "| FT |" in table and "WiSE-FT (α=0.5)" in table


def test_evaluation_from_the_cache_equals_evaluation_from_the_files(sweep):
    import dataclasses

    import robustbench_ft.engine.workbench as wb
    from robustbench_ft.engine.artifacts import ArtifactStore
    from robustbench_ft.engine.evaluate import evaluate
    from robustbench_ft.planning import make_spec
    data, results = sweep
    spec = make_spec("zeroshot", load_benchmark("domainnet").train_defaults, "domainnet", 0,
                     {"model": "ViT-S-32", "pretrained": None, "templates": "simple", "data_root": str(data),
                      "workers": 0})
    bench = wb.workbench_for(spec, results)
    assert len(list(bench.store.folder.glob("eval-*/images.npy"))) == 6  # val and 5 test splits, built by the runs
    decoding = dataclasses.replace(bench, store=ArtifactStore(None))
    assert evaluate(bench.zeroshot, bench) == evaluate(bench.zeroshot, decoding)  # every metric, exactly


SECOND_PROCESS = """
import sys
from pathlib import Path
import robustbench_ft.engine.workbench as wb
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.planning import make_spec
calls = {"head": 0, "texts": 0, "images": 0}
def counting(name, fn):
    def wrapped(*a, **k):
        calls[name] += 1
        return fn(*a, **k)
    return wrapped
wb.zeroshot_head = counting("head", wb.zeroshot_head)
wb.encode_texts = counting("texts", wb.encode_texts)
wb.Workbench.predict = counting("images", wb.Workbench.predict)
data, results = sys.argv[1], Path(sys.argv[2])
spec = make_spec("zeroshot", load_benchmark("domainnet").train_defaults, "domainnet", 0,
                 {"model": "ViT-S-32", "pretrained": None, "templates": "simple", "data_root": data, "workers": 0})
bench = wb.workbench_for(spec, results)
for split in bench.benchmark.test_splits:
    bench.zeroshot_outputs(split)
print(calls, bench.store.made)
assert calls == {"head": 0, "texts": 0, "images": 0} and bench.store.made == [], calls
"""


def test_a_second_process_reads_the_zero_shot_artifacts(sweep):
    data, results = sweep
    assert len(list((results / "_artifacts").glob("*/*.pt"))) == 2 + 5  # head, energy texts, 5 splits
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS, str(data), str(results)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_exported_checkpoint_loads_into_open_clip_with_the_runs_accuracy(sweep, tmp_path):
    data, results = sweep
    run_dir = next((results / "domainnet" / "ft").iterdir())
    assert main(["export", str(run_dir), "--out", str(tmp_path / "ft.pt")]) == 0
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-S-32", pretrained=str(tmp_path / "ft.pt"))
    head = torch.load(tmp_path / "ft.head.pt", weights_only=True)
    split = load_benchmark("domainnet", data_root=str(data), workers=0).test_set("painting")
    from PIL import Image
    images = torch.stack([preprocess(Image.open(p).convert("RGB")) for p in split.paths])
    with torch.no_grad():
        features = torch.nn.functional.normalize(model.eval().encode_image(images), dim=-1)
    logits = head["logit_scale"] * features @ head["head"].T
    recorded = json.loads((run_dir / "result.json").read_text())["records"][0]["splits"]["painting"]["acc"]
    assert accuracy(logits, split.labels) == pytest.approx(recorded, abs=1e-9)
