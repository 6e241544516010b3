"""Tuning budgets: what each row was chosen among and cost, and only requested configurations
compete (records/requests.py, report/budget.py)."""

from __future__ import annotations

import json
from pathlib import Path

from fake_records import record, write_run

from robustbench_ft.launch import session
from robustbench_ft.launch.options import LaunchOptions
from robustbench_ft.planning import plan_grid
from robustbench_ft.records.requests import Request, RequestLog
from robustbench_ft.report.budget import budget_notes
from robustbench_ft.report.collect import collect
from robustbench_ft.report.selection import selection_rule
from robustbench_ft.report.tables import build_table, entries, to_markdown


def _acc(value: float) -> dict:
    return {"photo": {"acc": value}, "sketch": {"acc": value - 0.2}}


def _soup_folder(root: Path) -> dict[str, str]:
    """FT at three lrs (the 6e-4 one best on validation, but only a soup's ingredient), a soup on
    all three and Lipsum-FT; two seeds. Returns {label: config digest}."""
    configs: dict[str, str] = {}
    for seed in (0, 1):
        ingredients = []
        for lr, val in ((1.5e-4, 0.70), (3e-4, 0.72), (6e-4, 0.80)):
            ingredients.append(write_run(root, "toy", "ft", seed, [record(_acc(val), val)], train_steps=375,
                                         seconds=60.0, lr=lr, ood=("sketch",)))
        write_run(root, "toy", "ft+soup", seed, [record(_acc(0.75), 0.75)], seconds=30.0,
                  built_on=tuple(ingredients), ood=("sketch",))
        write_run(root, "toy", "lipsum", seed, [record(_acc(0.74), 0.74)], train_steps=375, seconds=90.0,
                  hparams={"lipsum": {"lam": 1.0}}, ood=("sketch",))
    frame = collect(root).frame
    for (method, lr), part in frame.groupby(["method", "lr"], observed=True):
        configs[f"{method}@{lr:g}"] = str(part["config"].iloc[0])
    return configs


def _request(root: Path, configs: dict[str, str], labels: list[str]) -> None:
    RequestLog(root).append(Request("toy", label.split("@")[0], configs[label], "sweep test") for label in labels)


def test_a_method_is_chosen_only_among_its_requested_configurations(tmp_path):
    configs = _soup_folder(tmp_path)
    rule = selection_rule()
    unrestricted = {e.choice.method: e.choice for e in entries(collect(tmp_path).frame, rule)}
    assert unrestricted["ft"].config == configs["ft@0.0006"] and unrestricted["ft"].among == 3
    _request(tmp_path, configs, ["ft@0.00015", "ft@0.0003", "ft+soup@0.0003", "lipsum@0.0003"])
    frame = collect(tmp_path).frame
    assert frame.loc[frame["config"] == configs["ft@0.0006"], "requested"].eq(False).all()
    chosen = {e.choice.method: e.choice for e in entries(frame, rule)}
    assert chosen["ft"].config == configs["ft@0.0003"]  # 6e-4 scored best but was only an ingredient
    assert (chosen["ft"].among, chosen["ft"].built_only) == (2, 1)
    table = to_markdown(build_table(frame, ["acc"], rule=rule))
    assert "FT: 1 more configurations in the results were not requested for it" in table


def test_budgets_count_configurations_and_every_run_built_on_once_per_seed(tmp_path):
    configs = _soup_folder(tmp_path)
    _request(tmp_path, configs, ["ft@0.00015", "ft@0.0003", "ft+soup@0.0003", "lipsum@0.0003"])
    frame = collect(tmp_path).frame
    labelled = [(e.label, e.choice) for e in entries(frame, selection_rule())]
    notes = budget_notes(labelled, frame)
    # per seed: FT 2 x 375 steps, 2 x 60 s; the soup 3 ingredients x 375 steps, 3 x 60 + 30 s;
    # Lipsum-FT 375 steps, 90 s
    assert "FT: 2 configurations, 750 steps, 2.0 min" in notes[0]
    assert "Model soup ‡: 1 configuration, 1,125 steps, 3.5 min" in notes[0]
    assert "Lipsum-FT: 1 configuration, 375 steps, 1.5 min" in notes[0]
    assert notes[1].startswith("WARNING: unequal tuning budgets") and "2 (FT)" in notes[1]
    assert notes[2].startswith("WARNING: unequal training budgets") and "Model soup ‡ 1,125" in notes[2]


def test_equal_budgets_raise_no_warning(tmp_path):
    for method in ("ft", "lipsum"):
        for seed in (0, 1):
            for lr in (1e-4, 3e-4):
                write_run(tmp_path, "toy", method, seed, [record(_acc(0.7), 0.7)], train_steps=100,
                          seconds=10.0, lr=lr, ood=("sketch",))
    frame = collect(tmp_path).frame
    notes = budget_notes([(e.label, e.choice) for e in entries(frame, selection_rule())], frame)
    assert len(notes) == 1 and "FT: 2 configurations, 200 steps, 0.3 min" in notes[0]


def test_a_launch_logs_what_was_requested_not_what_it_builds_on(tmp_path, monkeypatch):
    plan = plan_grid(["ft+soup", "lpft"], [0], "embedded", {"steps": 10})
    assert {s.method for s in plan.specs} == {"ft", "ft+soup", "lp", "lpft"}
    monkeypatch.setattr(session, "launch", lambda plan, options, root: None)
    session.launch_plan(plan, LaunchOptions(), tmp_path, "sweep mine")
    lines = [json.loads(line) for line in (tmp_path / "_launch" / "requested.jsonl").read_text().splitlines()]
    assert sorted(line["method"] for line in lines) == ["ft+soup", "lpft"]
    assert {line["source"] for line in lines} == {"sweep mine"} and {line["seed"] for line in lines} == {0}
    (tmp_path / "_launch" / "requested.jsonl").open("a").write('{"method": "ft", "conf')  # a torn line
    assert len(RequestLog(tmp_path).requested()) == 2


def test_a_folder_made_before_the_log_keeps_its_runs_requested_and_sources_can_be_told_apart(tmp_path, monkeypatch):
    configs = _soup_folder(tmp_path)  # FT at three lrs, made without a log
    monkeypatch.setattr(session, "launch", lambda plan, options, root: None)
    session.launch_plan(plan_grid(["ft"], [0], "embedded", {"steps": 10}), LaunchOptions(), tmp_path, "sweep new")
    frame = collect(tmp_path).frame
    assert frame.loc[frame["method"] == "ft", "requested"].all()  # the earlier runs were not disowned
    lines = [json.loads(line) for line in (tmp_path / "_launch" / "requested.jsonl").read_text().splitlines()]
    assert sum(line["source"] == "before the log" for line in lines) == 2 * len(configs)  # a line per seed
    only_new = collect(tmp_path, requested_by="sweep new").frame
    assert not only_new.loc[only_new["method"] == "ft", "requested"].any()  # the new request named another run


def test_the_table_a_run_prints_counts_only_what_it_requested(tmp_path):
    from robustbench_ft.records import ResultsTree
    from robustbench_ft.report.collect import frame_from_results
    configs = _soup_folder(tmp_path)
    results = [folder.inspect().result for folder in ResultsTree(tmp_path).runs()]
    frame = frame_from_results(results, {("ft", configs["ft@0.0003"], 0), ("ft+soup", configs["ft+soup@0.0003"], 0)})
    chosen = {e.choice.method: e.choice for e in entries(frame, selection_rule())}
    assert (chosen["ft"].among, chosen["ft"].built_only) == (1, 2)


def test_a_source_that_made_no_request_is_one_clear_line(tmp_path, capsys):
    from robustbench_ft.cli.main import main
    _soup_folder(tmp_path)
    args = ["report", "--results", str(tmp_path), "--out", str(tmp_path / "r"), "--requested-by", "sweep typo"]
    assert main(args) == 2  # no log at all
    assert "requested.jsonl does not exist" in capsys.readouterr().err
    RequestLog(tmp_path).append([Request("toy", "ft", "abc", "sweep real")])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no request came from 'sweep typo'; the sources logged are 'sweep real'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_requested_configuration_counts_only_its_requested_seeds(tmp_path):
    """Model Stock's second run is its base method's run at another seed: the same configuration,
    which the method's row must not take as one more seed of its own."""
    from robustbench_ft.records.requests import Request, is_requested
    requested = {("ft", "c1", 0), ("ft", "c1", 1), ("lp", "c2", None)}
    assert is_requested(requested, "ft", "c1", 1) and not is_requested(requested, "ft", "c1", 1000)
    assert is_requested(requested, "lp", "c2", 1000)  # an old line without a seed: every seed
    assert is_requested(None, "ft", "c9", 5)
    plan = plan_grid(["ft+modelstock"], [0], "embedded", {"steps": 10})
    assert sorted((s.method, s.seed) for s in plan.specs) == [("ft", 0), ("ft", 1000), ("ft+modelstock", 0)]
    log = RequestLog(tmp_path)
    log.append([Request("embedded", s.method, s.config_digest(), "run", s.seed) for s in plan.specs
                if s.method == "ft" and s.seed == 0])
    assert log.requested() == {("ft", plan.specs[0].config_digest(), 0)}


def test_a_log_from_before_seeds_keeps_the_seeds_it_covered_and_no_later_ones(tmp_path, monkeypatch):
    """A seedless line meant every seed of its configuration; a launch rewrites it into the seeds
    finished then, so Model Stock's second runs, made later, do not join the base method's row."""
    configs = _soup_folder(tmp_path)  # FT at three lrs, seeds 0 and 1, made without a log
    log = RequestLog(tmp_path)
    log.append([Request("embedded", "ft", configs["ft@0.0003"], "sweep old"), Request("embedded", "lp", "c3", "run")])
    assert ("ft", configs["ft@0.0003"], None) in log.requested()
    monkeypatch.setattr(session, "launch", lambda plan, options, root: None)
    session.launch_plan(plan_grid(["ft+modelstock"], [0], "embedded", {"steps": 10}), LaunchOptions(), tmp_path, "sweep new")
    requested = log.requested("sweep old")
    assert requested == {("ft", configs["ft@0.0003"], 0), ("ft", configs["ft@0.0003"], 1)}  # what it covered
    assert ("lp", "c3", None) in log.requested()  # nothing finished: still every seed


def test_a_row_that_builds_on_other_seeds_pays_for_them_per_seed_of_its_own():
    """Model Stock at seed 0 merges FT at seeds 0 and 1000: its cost per seed is two FT runs."""
    from types import SimpleNamespace

    from robustbench_ft.report.budget import budget_of
    costs = {"ft0": (0, 375.0, 60.0, ()), "ft1000": (1000, 375.0, 60.0, ()),
             "ms0": (0, 0.0, 5.0, ("ft0", "ft1000")), "ft1": (1, 375.0, 60.0, ()),
             "ft1001": (1001, 375.0, 60.0, ()), "ms1": (1, 0.0, 5.0, ("ft1", "ft1001"))}
    stock = budget_of(SimpleNamespace(runs=("ms0", "ms1"), among=1), costs)
    assert (stock.train_steps, stock.compute_s) == (750.0, 125.0)
    assert budget_of(SimpleNamespace(runs=("ft0", "ft1"), among=1), costs).train_steps == 375.0
