"""Results written under spec version 1 still report, and migrate to today's names unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from robustbench_ft.cli.main import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.planning import plan_grid
from robustbench_ft.records import ResultsTree
from robustbench_ft.records.migrate import migrate_results
from robustbench_ft.report.collect import collect
from robustbench_ft.report.render import write_report

FIXTURE = Path(__file__).parent / "fixtures" / "results-v1"
METHODS = ["zeroshot", "lp", "ft", "lpft", "lipsum", "wise", "lipsum+wise", "lpft+wise"]
# The same runs in today's words: version 1's (and 2's) `lp` is `lp-zs`, and LP-FT says it built on it.
TODAY = ["zeroshot", "lp-zs", "ft", "lpft", "lipsum", "wise", "lipsum+wise", "lpft+wise"]
TODAY_HPARAMS = {"hparams": {"lpft": {"probe": "lp-zs"}}}
KEY = ["method", "alpha", "split", "metric"]


@pytest.fixture()
def v1_results(tmp_path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("README.md"))
    return root


def _values(root: Path):
    frame = collect(root).frame
    return frame[[*KEY, "value", "id_val_acc"]].astype({"method": str, "split": str, "metric": str}) \
        .sort_values(KEY).reset_index(drop=True)


def test_schema_1_folders_still_report(v1_results, tmp_path, capsys):
    frame = collect(v1_results).frame
    assert set(frame["method"]) == {"zeroshot", "lp", "ft", "lpft", "lipsum", "ft+wise", "lipsum+wise", "lpft+wise"}
    assert all(c.startswith("v1-") for c in frame["config"].unique())
    ft = next((v1_results / "embedded" / "ft").iterdir())
    photo = json.loads((ft / "result.json").read_text())["records"][0]["splits"]["photo"]["acc"]
    assert frame.loc[(frame["method"] == "ft") & (frame["split"] == "photo") & (frame["metric"] == "acc"),
                     "value"].tolist() == [photo]
    write_report(v1_results, tmp_path / "report", formats=["md"], echo=False)
    assert "8 runs under" in capsys.readouterr().err  # and how to migrate them
    table = (tmp_path / "report" / "embedded" / "accuracy.md").read_text()
    assert f"| FT | {100 * photo:.1f} |" in table and "| Lipsum-FT + WiSE (α=0.5) |" in table


def test_migration_renames_to_todays_digests_and_changes_no_number(v1_results):
    before = _values(v1_results)
    before["method"] = before["method"].replace({"lp": "lp-zs"})  # renamed, every number kept
    before = before.sort_values(KEY).reset_index(drop=True)
    outcome = migrate_results(v1_results)
    assert len(outcome.moved) == 8 and outcome.not_migrated == []
    specs = list(plan_grid(TODAY, [0], "embedded", load_benchmark("embedded").train_defaults, TODAY_HPARAMS).specs)
    assert len(specs) == 8
    assert {ResultsTree(v1_results).of(s).path for s in specs} == {new for _, new in outcome.moved}
    assert all(ResultsTree(v1_results).of(s).is_done() for s in specs)
    assert _values(v1_results).equals(before)
    for old, new in outcome.moved:
        result = json.loads((new / "result.json").read_text())
        assert result["schema"] == 2 and result["migrated_from"]["run"] == old.name
        assert result["run"] == new.name and "spec_version: 4" in (new / "spec.yaml").read_text()
        assert not old.exists()
    assert migrate_results(v1_results).moved == []  # idempotent


def test_run_migrates_then_reuses_every_finished_run(v1_results, capsys):
    assert main(["run", "--methods", ",".join(TODAY), "--set", "lpft.probe=lp-zs", "--results", str(v1_results)]) == 0
    captured = capsys.readouterr()
    assert "migrated 8 run folders to spec version 4" in captured.err
    assert "| Lipsum-FT |" in captured.out
    trained = [p for p in v1_results.rglob("*") if p.name in ("metrics.jsonl", "checkpoint.pt")]
    assert trained == []  # nothing was recomputed


def test_a_folder_that_cannot_be_migrated_is_listed_and_kept(v1_results, capsys):
    lpft = next((v1_results / "embedded" / "lpft").iterdir())
    spec_file = lpft / "spec.yaml"
    spec_file.write_text(spec_file.read_text().replace("lp_lr: 0.001", "lp_lr: 0.01"))
    outcome = migrate_results(v1_results)
    assert [folder for folder, _ in outcome.not_migrated] == [lpft]
    assert "lp_lr=0.01 differs from the lp-zs run that version 4 derives (lr=0.001)" in outcome.not_migrated[0][1]
    assert lpft.is_dir() and "lp_lr: 0.01" in spec_file.read_text()
    assert main(["migrate", "--results", str(v1_results)]) == 1
    assert f"not migrated {lpft}" in capsys.readouterr().err


def test_a_folder_being_computed_is_left_to_its_owner(v1_results):
    """Migration takes each folder's run lock: one a live process holds is listed, not moved."""
    ft = next((v1_results / "embedded" / "ft").iterdir())
    with ResultsTree(v1_results).run("embedded", "ft", ft.name).lock():
        outcome = migrate_results(v1_results)
        assert [folder for folder, _ in outcome.not_migrated] == [ft]
        assert "is being computed by pid" in outcome.not_migrated[0][1]
        assert ft.is_dir() and len(outcome.moved) == len(list(v1_results.glob("*/*/*"))) - 1
    again = migrate_results(v1_results)  # once it is free, it moves like the others
    assert not again.not_migrated and [old for old, _ in again.moved] == [ft]
    assert not list(v1_results.rglob("run.lock"))


def test_version_3_folders_keep_their_meaning(tmp_path):
    """Version 3's L2-SP decayed its encoder (today: `decay_backbone: true`); its zero-shot run at a
    non-default lr is today's one zero-shot run (a second such folder is moved aside, not reported
    twice); the request log follows the renamed configurations."""
    from robustbench_ft.core.spec import RunSpec
    from robustbench_ft.records import ResultsTree
    tree = ResultsTree(tmp_path)
    old = {"l2sp": {"benchmark": "embedded", "method": "l2sp", "hparams": {"l2sp": {"alpha": 0.1}}},
           "zs-a": {"benchmark": "embedded", "method": "zeroshot", "lr": 1e-3},
           "zs-b": {"benchmark": "embedded", "method": "zeroshot", "lr": 1e-4}}
    for name, spec in old.items():
        folder = tree.run("embedded", spec["method"], name)
        folder.start({"spec_version": 3, **spec})
    dry = migrate_results(tmp_path, dry_run=True)  # a dry run sees the collision too
    assert sorted(p.name for p, _ in dry.moved) == ["l2sp", "zs-a"] and [p.name for p, _, _ in dry.superseded] == ["zs-b"]
    outcome = migrate_results(tmp_path)
    moved = {old.name: new for old, new in outcome.moved}
    l2sp = RunSpec(benchmark="embedded", method="l2sp", hparams={"alpha": 0.1, "decay_backbone": True})
    assert moved["l2sp"] == tree.of(l2sp).path and "decay_backbone: true" in (moved["l2sp"] / "spec.yaml").read_text()
    zeroshot = tree.of(RunSpec(benchmark="embedded", method="zeroshot", steps=375, eval_every=75)).path
    assert moved["zs-a"] == zeroshot and outcome.not_migrated == []
    [(old_b, aside, same)] = outcome.superseded
    assert old_b.name == "zs-b" and same == zeroshot and aside == tmp_path / "_superseded" / "embedded" / "zeroshot" / "zs-b"
    assert aside.is_dir() and [f.path.name for f in tree.runs() if f.method == "zeroshot"] == [zeroshot.name]


def test_the_request_log_follows_migrated_configurations(v1_results):
    from robustbench_ft.records.requests import Request, RequestLog
    from robustbench_ft.report.collect import collect
    before = collect(v1_results).frame.drop_duplicates("run")
    RequestLog(v1_results).append(Request("embedded", m, c, "run") for m, c in zip(before["method"], before["config"]))
    migrate_results(v1_results)
    after = collect(v1_results).frame
    assert after["requested"].all() and not after["config"].str.startswith("v1-").any()
    assert RequestLog(v1_results).requested() == {(m, c, None) for m, c in zip(after["method"], after["config"])}
