"""Configurations stay apart in the tidy frame and tables; selection rules pick them by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_records import record, write_run

from robustbench_ft.cli.main import main
from robustbench_ft.report.collect import collect
from robustbench_ft.report.selection import selection_rule
from robustbench_ft.report.tables import build_table, to_markdown


def _splits(id_acc: float, ood_acc: float) -> dict[str, dict[str, float]]:
    return {"photo": {"acc": id_acc}, "sketch": {"acc": ood_acc}}


@pytest.fixture()
def sweep(tmp_path) -> Path:
    """FT at two learning rates on the tiny model, and on a second model; WiSE at three alphas.

    On tiny-clip, lr 1e-4 has the better ID validation (0.65 vs 0.60) but the worse ID test
    accuracy (70 vs 80), so the default rule and the oracle disagree. WiSE's best alpha by
    validation is 0.5, by ID test 1.0.
    """
    root = tmp_path / "results"
    for seed in (0, 1):
        write_run(root, "toy", "ft", seed, [record(_splits(0.70 + 0.01 * seed, 0.50), 0.65)], lr=1e-4)
        write_run(root, "toy", "ft", seed, [record(_splits(0.80 + 0.01 * seed, 0.40), 0.60)], lr=3e-4)
        write_run(root, "toy", "ft", seed, [record(_splits(0.90, 0.70), 0.90)], model="ViT-B-16",
                  pretrained="openai", lr=1e-5)
        wise = [record(_splits(0.60 + 0.1 * a, 0.5), 0.60 + 0.1 * (a == 0.5), alpha=a) for a in (0.0, 0.5, 1.0)]
        write_run(root, "toy", "ft+wise", seed, wise, {"wise": {"alphas": [0.0, 0.5, 1.0]}}, lr=1e-4)
    return root


def _table(frame, rule: str) -> str:
    return to_markdown(build_table(frame, ["acc"], 0.5, selection_rule(rule)))


def test_the_frame_keys_every_configuration(sweep):
    frame = collect(sweep).frame
    runs = frame.drop_duplicates("run")
    assert set(zip(runs["model"], runs["pretrained"])) == {("tiny-clip", "embedded"), ("ViT-B-16", "openai")}
    ft = runs[runs["method"] == "ft"]
    assert ft["config"].nunique() == 3 and sorted(ft["lr"].unique()) == [1e-5, 1e-4, 3e-4]
    assert (ft.groupby("config", observed=True)["seed"].nunique() == 2).all()
    assert "wise.alphas" not in frame.columns  # the same in every run that has it: no column


def test_default_selection_keeps_configurations_and_models_apart(sweep):
    table = _table(collect(sweep).frame, "best_id_val")
    # the better ID validation (lr 1e-4) wins on the tiny model: 70.5, never the 75.5 of a mix
    assert "| FT [tiny-clip embedded] | 70.5 ± 0.7 | 50.0 ± 0.0 | 50.0 ± 0.0 |" in table
    assert "| FT [ViT-B-16 openai] | **90.0 ± 0.0** |" in table
    assert "WiSE-FT [tiny-clip embedded] (best α=0.5 by ID val)" in table
    assert "Model selection `best_id_val`" in table
    assert "- FT [tiny-clip embedded]: lr=0.0001 (of 2 configurations)" in table


def test_oracle_selection_is_labelled_as_such(sweep):
    table = _table(collect(sweep).frame, "oracle_id_test")
    assert "| FT [tiny-clip embedded] | 80.5 ± 0.7 |" in table
    assert "WiSE-FT [tiny-clip embedded] (best α=1 by ID test, oracle)" in table
    assert "(ORACLE)" in table and "not a fair comparison" in table


def test_all_configurations_one_row_each(sweep):
    table = _table(collect(sweep).frame, "all")
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| FT")]
    assert rows == ["| FT [ViT-B-16 openai]",  # models in name order, then best ID val first
                    "| FT (lr=0.0001) [tiny-clip embedded]", "| FT (lr=0.0003) [tiny-clip embedded]"]


def test_report_selection_flag(sweep, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "--results", str(sweep), "--out", str(out), "--selection", "oracle_id_test"]) == 0
    assert "ORACLE" in (out / "toy" / "accuracy.md").read_text()
    assert main(["report", "--results", str(sweep), "--out", str(out), "--selection", "best_test"]) == 2
    assert "unknown selection rule 'best_test'; known: all, best_id_val, oracle_id_test" in capsys.readouterr().err


def test_configurations_that_differ_in_no_column_are_told_apart_by_digest(tmp_path):
    root = tmp_path / "results"
    for benchmark_digest in ("a", "b"):  # e.g. two versions of one benchmark's declaration
        write_run(root, "toy", "ft", 0, [record(_splits(0.7, 0.5), 0.6)], identity_extra=benchmark_digest)
    table = to_markdown(build_table(collect(root).frame, ["acc"], 0.5, selection_rule("all")))
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| FT")]
    assert len(rows) == 2 and all("(config " in row for row in rows) and rows[0] != rows[1]


def test_tables_mark_checkpoints_kept_on_the_id_test_split(tmp_path):
    root = tmp_path / "results"
    write_run(root, "toy", "ft", 0, [record(_splits(0.7, 0.5), 0.6)], selection="id_test")
    write_run(root, "toy", "lipsum", 0, [record(_splits(0.7, 0.5), 0.6)])
    table = _table(collect(root).frame, "best_id_val")
    assert "- ORACLE checkpoints: FT kept the checkpoint with the best ID *test* accuracy" in table
    assert "Lipsum-FT kept" not in table


def test_rows_that_fit_on_id_validation_inside_their_step_are_marked(tmp_path):
    """TPGM learns its radii and a greedy soup its ingredients on ID validation, and a best-α row
    chose α there: selected on ID validation again, they are marked, and the note says what each fitted."""
    for seed in (0, 1):
        write_run(tmp_path, "toy", "ft", seed, [record(_splits(0.8, 0.5), 0.8)])
        write_run(tmp_path, "toy", "ft+tpgm", seed, [record(_splits(0.8, 0.55), 0.81)])
        write_run(tmp_path, "toy", "ft+wise", seed, [record(_splits(0.8, 0.5 + a / 10), 0.8, alpha=a)
                                                     for a in (0.0, 0.5, 1.0)])
    table = _table(collect(tmp_path).frame, "best_id_val")
    rows = [line.split(" | ")[0].lstrip("| ") for line in table.splitlines() if line.startswith("| ")][1:]
    assert rows == ["FT", "WiSE-FT (α=0.5)", "WiSE-FT (best α=0 by ID val) ‡", "TPGM ‡"]
    note = next(line for line in table.splitlines() if line.startswith("- ‡"))
    assert "TPGM: its per-layer radii" in note and "best-α rows: the interpolation weight" in note
    assert "`best_id_val`" in note
    oracle = _table(collect(tmp_path).frame, "oracle_id_test")  # selects on other data: nothing to mark
    assert "‡" not in oracle


def test_the_ood_oracle_selects_on_the_held_out_part_and_reports_the_rest(tmp_path, capsys):
    """lr 1e-4 is best on ID validation, lr 3e-4 on the held-out OOD part: `oracle_ood_val`
    picks 3e-4, reports the OOD split without its held-out part and says it is an oracle; a
    record without held-out parts is left out and counted."""
    from robustbench_ft.records import Evaluation
    for seed in (0, 1):
        for lr, id_val, ood_val, whole, rest in ((1e-4, 0.9, 0.40, 0.50, 0.525), (3e-4, 0.8, 0.60, 0.55, 0.5375)):
            evaluation = Evaluation({"photo": {"acc": 0.8}, "sketch": {"acc": whole}}, id_val,
                                    ood_val={"sketch": {"acc": ood_val}}, ood_rest={"sketch": {"acc": rest}})
            write_run(tmp_path, "toy", "ft", seed, [evaluation], lr=lr)
    write_run(tmp_path, "toy", "ft", 0, [record(_splits(0.8, 0.9), 0.99)], lr=1e-3)  # an older record
    frame = collect(tmp_path).frame
    rule = selection_rule("oracle_ood_val")
    table = _table(rule.view(frame), "oracle_ood_val")
    rule_table = to_markdown(build_table(rule.view(frame), ["acc"], 0.5, rule))
    assert "| FT | **80.0 ± 0.0** | **53.8 ± 0.0** | **53.8 ± 0.0** |" in rule_table  # lr 3e-4, the rest of sketch
    assert "ORACLE" in rule_table and "1 runs recorded no held-out OOD part" in rule_table
    default = _table(frame, "best_id_val")
    assert "| FT | **80.0** | **90.0** | **90.0** |" in default  # lr 1e-3 by ID val, one seed
    assert "lr=0.001 (of 3 configurations)" in default and "lr=0.0003 (of 2 configurations)" in table
    assert main(["report", "--results", str(tmp_path), "--out", str(tmp_path / "r"), "--rule", "oracle_ood_val",
                 "--format", "md"]) == 0
    assert "| FT | **80.0 ± 0.0** | **53.8 ± 0.0** |" in (tmp_path / "r" / "toy" / "accuracy.md").read_text()


def test_the_ood_oracle_scores_held_out_parts_with_the_benchmarks_select_on_metric():
    """iWildCam selects on macro-F1: the oracle's held-out OOD score is macro-F1 too, not accuracy."""
    from robustbench_ft.records import Evaluation
    from robustbench_ft.records.result import RunResult
    from robustbench_ft.report.collect import frame_from_results
    evaluation = Evaluation({"id_test": {"acc": 0.8, "macro_f1": 0.5}, "ood_test": {"acc": 0.7, "macro_f1": 0.3}}, 0.45,
                            ood_val={"ood_test": {"acc": 0.9, "macro_f1": 0.2}},
                            ood_rest={"ood_test": {"acc": 0.6, "macro_f1": 0.35}})
    for select_on, expected in (("macro_f1", 0.2), ("acc", 0.9)):
        result = RunResult("r1", "c1", "iwildcam", {}, {"method": "ft", "seed": 0}, "id_test", ["ood_test"],
                           [evaluation], metrics={"primary": ["macro_f1", "acc"], "select_on": select_on})
        frame = frame_from_results([result])
        assert set(frame["ood_val_acc"]) == {expected} and set(frame["id_val_acc"]) == {0.45}
