"""Reports: golden tables from fixed records, figures written, incomplete runs skipped, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_records import record, write_run

from robustbench_ft.report.collect import collect
from robustbench_ft.report.render import write_report

GOLDEN = Path(__file__).parent / "golden"
SPLITS = {"photo": "id", "sketch": "ood", "clipart": "ood"}
METRICS = ("acc", "nll", "ece", "feature_distortion", "energy_gap")


def test_collect_schema_and_skips(fixture_results):
    collection = collect(fixture_results)
    frame = collection.frame
    assert list(frame.columns) == ["benchmark", "method", "model", "pretrained", "config", "lr", "steps",
                                   "batch_size", "shots", "selection", "alpha", "seed", "split", "role", "metric", "value",
                                   "run",
                                   "id_val_acc", "ood_val_acc", "requested", "train_steps", "compute_s", "built_on"]
    # lr varies (zero-shot's differs); lipsum.lam does not
    assert frame.groupby("method", observed=True)["config"].nunique().eq(1).all()
    assert len(frame) == (3 + 3 + 3 + 9) * 3 * 5
    assert set(frame["role"]) == {"id", "ood"} and set(frame["metric"]) == set(METRICS)
    assert frame.loc[frame["method"] == "ft", "alpha"].isna().all()
    assert sorted(frame.loc[frame["method"] == "ft+wise", "alpha"].unique()) == [0.0, 0.5, 1.0]
    reasons = sorted(why for _, why in collection.skipped)
    assert reasons == ["failed: NonFiniteLossError: nan", "incomplete (no result.json)"]


@pytest.mark.parametrize("name", ["accuracy.md", "accuracy.tex", "accuracy.csv", "uncertainty.md",
                                  "distortion.md", "records.csv", "significance.md"])
def test_golden_files(fixture_results, tmp_path, name):
    out = tmp_path / "report"
    write_report(fixture_results, out, echo=False)
    produced = out / name if name == "records.csv" else out / "toy" / name
    if os.environ.get("UPDATE_GOLDEN") == "1":  # after a deliberate format change; review the diff
        (GOLDEN / name).write_text(produced.read_text())
    expected = (GOLDEN / name).read_text()
    assert produced.read_text() == expected


def test_hand_checked_cells(fixture_results, tmp_path):
    write_report(fixture_results, tmp_path / "r", formats=["md"], echo=False)
    table = (tmp_path / "r" / "toy" / "accuracy.md").read_text()
    # FT (quality 1) photo accuracy over seeds 0,1,2: 0.57, 0.581, 0.592 -> 58.1 ± 1.1
    assert "| FT | 58.1 ± 1.1 |" in table
    # WiSE at best alpha by val = 0.5 (val 0.61 beats 0.60): marked as such
    assert "WiSE-FT (best α=0.5 by ID val)" in table
    # Lipsum (index 2) is best in every column: bold
    lipsum_row = next(line for line in table.splitlines() if line.startswith("| Lipsum-FT |"))
    assert lipsum_row.count("**") == 2 * 4  # 3 splits and the OOD mean (no baseline: no effective robustness)


def test_figures_are_written(fixture_results, tmp_path):
    paths = write_report(fixture_results, tmp_path / "r", formats=["md"], plots=True, echo=False)
    figures = [p for p in paths if p.suffix in (".png", ".pdf")]
    names = {p.stem for p in figures}
    assert names == {"robustness", "energy_gap", "distortion", "accuracy_bars"}  # no baseline for 'toy'
    assert all(p.stat().st_size > 5000 for p in figures)


def test_report_never_imports_torch(fixture_results, tmp_path):
    code = ("import sys; from robustbench_ft.report.render import write_report; from pathlib import Path; "
            f"write_report(Path({str(fixture_results)!r}), Path({str(tmp_path / 'r')!r}), plots=True, echo=False); "
            "assert 'torch' not in sys.modules, 'report imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


def _frame(rows):
    import pandas as pd
    records = []
    for method, alpha, seed, id_acc, ood_acc, gap in rows:
        for split, role, acc in (("photo", "id", id_acc), ("sketch", "ood", ood_acc)):
            records.append(("b", method, alpha, seed, split, role, "acc", acc, "r", 0.5))
            records.append(("b", method, alpha, seed, split, role, "energy_gap", gap, "r", 0.5))
    return pd.DataFrame.from_records(records, columns=["benchmark", "method", "alpha", "seed", "split", "role",
                                                       "metric", "value", "run", "id_val_acc"])


def test_wise_excess_over_the_endpoint_line_by_hand():
    from robustbench_ft.report.claims import wise_curve
    nan = float("nan")
    frame = _frame([("ft+wise", 0.0, 0, 0.80, 0.50, 0.0), ("ft+wise", 0.5, 0, 0.84, 0.50, 0.1),
                    ("ft+wise", 1.0, 0, 0.86, 0.40, 0.3), ("ft", nan, 0, 0.86, 0.40, 0.3)])
    curve = wise_curve(frame)
    # line from (80, 50) to (86, 40): at ID 84 it is 50 - 4 * 10 / 6 = 43.33; excess 6.67
    assert curve["excess"].tolist() == pytest.approx([0.0, 50 - (50 - 40 / 6), 0.0])


def test_claims_verdicts():
    from robustbench_ft.report.claims import check_claims
    nan = float("nan")
    frame = _frame([("zeroshot", nan, 0, 0.80, 0.50, 0.0), ("ft", nan, 0, 0.85, 0.40, 0.9),
                    ("lipsum", nan, 0, 0.86, 0.45, 0.1)])
    verdicts = {c.text: c.holds for c in check_claims(frame)}
    assert verdicts == {
        "FT's ID accuracy is above zero-shot's": True,
        "FT's mean OOD accuracy is below zero-shot's": True,
        "Lipsum-FT's mean OOD accuracy is above FT's": True,
        "Lipsum-FT's ID accuracy is within 2 pp of FT's": True,
        "Lipsum-FT's mean OOD energy gap is below FT's": True,
    }


def _baseline(tmp_path, text: str) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(text)
    return path


def test_effective_robustness_by_hand(tmp_path):
    """Two ID-only models: sketch follows logit(OOD) = 0.5 logit(ID), clipart logit(OOD) = logit(ID) - 1."""
    from robustbench_ft.report.robustness import expit, load_baseline
    e = lambda x: float(expit(x))  # noqa: E731
    baseline = load_baseline(_baseline(tmp_path, f"""
description: two hand-made models
points:
  - {{name: a, id: 0.5, ood: {{sketch: 0.5, clipart: {e(-1)}}}}}
  - {{name: b, id: {e(1)}, ood: {{sketch: {e(0.5)}, clipart: 0.5}}}}
"""))
    assert baseline.fitted and baseline.lines["sketch"].slope == pytest.approx(0.5)
    assert (baseline.lines["clipart"].slope, baseline.lines["clipart"].intercept) == pytest.approx((1.0, -1.0))
    # at ID logit 2 the lines expect sketch expit(1) and clipart expit(1): a mean OOD of 0.8 is 0.8 - expit(1) above
    assert float(baseline.effective(e(2), 0.8)) == pytest.approx(0.8 - e(1))
    assert float(baseline.effective(e(1), (e(0.5) + 0.5) / 2)) == pytest.approx(0.0, abs=1e-12)
    assert baseline.points[1] == ("b", pytest.approx(e(1)), pytest.approx((e(0.5) + 0.5) / 2))
    assert "fitted to 2 ID-only models" in baseline.describe() and "Taori" in baseline.describe()


def test_published_lines_are_used_as_given_and_a_missing_split_means_no_column(tmp_path):
    from robustbench_ft.report.robustness import baseline_for, expit
    path = _baseline(tmp_path, "source: a paper, table 9\nfits: {sketch: {slope: 2.0, intercept: 0.0}}\n")
    baseline, why = baseline_for("toy", ["sketch"], path)
    assert why == "" and not baseline.fitted and float(baseline.predict(expit(0.25))) == pytest.approx(float(expit(0.5)))
    assert "lines as given: a paper, table 9" in baseline.describe()
    none, why = baseline_for("toy", ["sketch", "clipart"], path)
    assert none is None and "no line for the OOD splits ['clipart']" in why
    none, why = baseline_for("toy", ["sketch"])
    assert none is None and "no baseline of ID-only models for 'toy'" in why
    other = _baseline(tmp_path, "benchmark: domainnet\nfits: {sketch: {slope: 2.0, intercept: 0.0}}\n")
    none, why = baseline_for("toy", ["sketch"], other)
    assert none is None and "is for 'domainnet', not 'toy'" in why


def test_the_report_measures_effective_robustness_only_against_a_baseline(fixture_results, tmp_path, capsys):
    from robustbench_ft.cli.main import main
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "a"), "--format", "md"]) == 0
    plain = (tmp_path / "a" / "toy" / "accuracy.md").read_text()
    assert "Eff. rob." not in plain and "No effective-robustness column" in plain
    path = _baseline(tmp_path, "fits: {sketch: {slope: 1.0, intercept: 0.0}, clipart: {slope: 1.0, intercept: -0.5}}\n")
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "b"), "--format", "md",
                 "--baseline", str(path), "--plots"]) == 0
    assert (tmp_path / "b" / "toy" / "figures" / "effective_robustness.png").stat().st_size > 5000
    table = (tmp_path / "b" / "toy" / "accuracy.md").read_text()
    assert table.splitlines()[0].endswith("| OOD mean | Eff. rob. |") and "lines as given" in table
    bad = _baseline(tmp_path, "points: [{name: a, id: 0.5}]\n")
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "c"), "--baseline", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "baseline.yaml: not a baseline" in err and "Traceback" not in err


def test_the_shipped_embedded_testbed_has_a_rising_line():
    """The embedded world's ID-only CNNs (robustbench-ft testbed): more ID accuracy, more OOD accuracy."""
    from robustbench_ft.report.robustness import baseline_for
    baseline, why = baseline_for("embedded", ["sketch", "painting", "clipart", "quickdraw", "infograph"])
    assert why == "" and len(baseline.points) >= 8
    assert float(baseline.predict(0.8)) > float(baseline.predict(0.5))


def test_paired_gap_interval_by_hand():
    import pandas as pd

    from robustbench_ft.report.significance import paired_gap
    gap = paired_gap(pd.Series([1.0, 2.0, 3.0]))
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    assert (gap.mean, gap.low, gap.high) == pytest.approx((2.0, 2.0 - 2.484138, 2.0 + 2.484138), abs=1e-6)
    assert gap.real is False and paired_gap(pd.Series([1.0, 1.2, 0.9])).real is True
    assert paired_gap(pd.Series([1.5])).real is None


def test_significance_pairs_seeds(fixture_results, tmp_path):
    write_report(fixture_results, tmp_path / "r", formats=["md"], echo=False)
    table = (tmp_path / "r" / "toy" / "significance.md").read_text()
    # every fixture method has the same seed slope, so Lipsum - FT is exactly 7 points at each seed
    assert "| Lipsum-FT | FT | +7.0 [+7.0, +7.0] | yes | +7.0 [+7.0, +7.0] | yes |" in table
    assert "| FT | FT |" not in table and "| Zero-shot | zero-shot |" not in table


def test_published_numbers_beside_measured(tmp_path):
    root = tmp_path / "results"
    splits = ("real", "painting", "clipart", "infograph", "sketch")
    for seed, real in enumerate((0.82, 0.83, 0.84)):
        accs = {"real": real, "painting": 0.66, "clipart": 0.65, "infograph": 0.44, "sketch": 0.57}
        write_run(root, "domainnet", "zeroshot", seed, [record({s: {"acc": accs[s]} for s in splits}, 0.8)],
                  id_split="real", ood=splits[1:], model="ViT-B-16", pretrained="openai")
        write_run(root, "domainnet", "lipsum", seed, [record({"real": {"acc": 0.9}, "painting": {"acc": 0.6}}, 0.9)],
                  id_split="real", ood=("painting",), model="ViT-B-16", pretrained="openai")
    write_report(root, tmp_path / "r", formats=["md"], echo=False)
    produced = tmp_path / "r" / "domainnet" / "reference.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        (GOLDEN / "reference.md").write_text(produced.read_text())
    table = produced.read_text()
    assert table == (GOLDEN / "reference.md").read_text()
    # zero-shot real: 83.00 ± 1.00 measured vs 82.46 published: +0.54, inside 83 ± 2
    assert "| Zero-shot | real | 83.00 ± 1.00 | 82.46 | +0.54 | yes |" in table
    assert "| Lipsum-FT | real | 90.00 ± 0.00 | 88.90 | +1.10 | no |" in table  # no spread at all
    assert "| Lipsum-FT | clipart | – | 68.08 | – | – |" in table  # a split the runs did not test
    # the paper's OOD mean over its 4 OOD splits: (66.69 + 65.57 + 43.77 + 56.98) / 4 = 58.2525
    assert "| Zero-shot | OOD mean | 58.00 ± 0.00 | 58.25 | -0.25 | no |" in table


def test_training_curves_from_the_runs_logs(fixture_results, tmp_path):
    from robustbench_ft.report.curves import load_curves
    from robustbench_ft.report.selection import selection_rule
    from robustbench_ft.report.tables import entries, selected_frame
    for seed, folder in enumerate(sorted((fixture_results / "toy" / "lipsum").iterdir())):
        lines = [{"step": s, "lr": 0.1 * s, "loss": 1.0 + seed, "ce": 0.5, "lipsum": 0.5 + seed} for s in (1, 2)]
        lines[-1]["val_acc"] = 0.6 + 0.1 * seed
        (folder / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    collection = collect(fixture_results)
    selected = selected_frame(entries(collection.frame, selection_rule()))
    curves, problems = load_curves(selected, collection.folders)
    assert problems == []
    assert set(curves["entry"]) == {"Lipsum-FT"}  # the only runs with logs
    assert set(curves["quantity"]) == {"lr", "loss", "ce", "lipsum", "val_acc"}
    val = curves[curves["quantity"] == "val_acc"]
    assert sorted(val["value"]) == pytest.approx([0.6, 0.7, 0.8]) and set(val["step"]) == {2}
    paths = write_report(fixture_results, tmp_path / "r", formats=["md"], plots=True, echo=False)
    curve_png = [p for p in paths if p.name == "training_curves.png"]
    assert curve_png and curve_png[0].stat().st_size > 10_000


def test_a_malformed_published_numbers_file_is_one_clear_error(tmp_path):
    from robustbench_ft.core.config import ConfigError
    from robustbench_ft.report.reference import published_numbers
    assert published_numbers()  # the shipped file reads
    bad = tmp_path / "published.yaml"
    bad.write_text("published:\n  - {source: x, method: ft, benchmark: domainnet}\n")
    with pytest.raises(ConfigError, match="each entry needs source, method, benchmark, model, pretrained and splits"):
        published_numbers(bad)
    bad.write_text("entries: []\n")
    with pytest.raises(ConfigError, match="expected `published:` with a list of entries"):
        published_numbers(bad)


def test_records_csv_reads_back_as_the_frame_pandas_would_write():
    """Arrow writes records.csv; read back, it is the text pandas' own writer gives, value for value
    (NaN alphas, categories, a settings column of JSON lists with commas and missing entries)."""
    import io

    import pandas as pd

    from robustbench_ft.report.collect import tidy_csv
    frame = pd.DataFrame({"method": pd.Categorical(["ft", "lipsum", "ft"]), "alpha": [float("nan"), 0.5, 0.1],
                          "lipsum.pool": [None, '["a, b", "c"]', 'say "x"'], "seed": [0, 1, 2],
                          "value": [0.1, 1 / 3, 2.5e-9]})
    ours = pd.read_csv(io.BytesIO(tidy_csv(frame)))
    pandas = pd.read_csv(io.StringIO(frame.to_csv(index=False)))
    pd.testing.assert_frame_equal(ours, pandas)
    assert ours.loc[1, "lipsum.pool"] == '["a, b", "c"]' and ours.loc[2, "value"] == 2.5e-9
