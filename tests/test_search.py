"""Random search with an equal budget per method (planning/search.py, a sweep's `search:` block)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from robustbench_ft.cli.main import main
from robustbench_ft.core.config import ConfigError
from robustbench_ft.planning.search import Choice, Search, Times, Uniform, parse_space
from robustbench_ft.planning.sweep import load_sweep


def _sweep(tmp_path: Path, text: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return load_sweep(path)


SEARCH = """
methods: [zeroshot, lp, ft, lipsum, lipsum+wise, l2sp]
seeds: [0, 1]
search: {trials: 5, seed: 3, over: [lr, "*"]}
"""


def _configs(plan, method):
    return {s.config_digest() for s in plan.specs if s.method == method}


def test_every_method_gets_the_same_number_of_draws_and_trial_zero_is_the_untuned_recipe(tmp_path):
    sweep = _sweep(tmp_path, SEARCH)
    plan = sweep.plan()
    for method in ("ft", "lipsum", "lipsum+wise", "l2sp"):
        assert len(_configs(plan, method)) == 5, method
    assert len(_configs(plan, "zeroshot")) == len(_configs(plan, "lp")) == 1  # they train nothing
    plain = _sweep(tmp_path, "methods: [ft, lipsum, l2sp]\nseeds: [0, 1]\n").plan()
    for method in ("ft", "lipsum", "l2sp"):  # trial 0 is the run a plain request makes, by name
        assert _configs(plain, method) <= _configs(plan, method)
    lrs = {m: sorted(s.lr for s in plan.specs if s.method == m and s.seed == 0) for m in ("ft", "lipsum", "l2sp")}
    assert lrs["ft"] == lrs["lipsum"] == lrs["l2sp"]  # common random numbers for a shared field
    assert len(set(lrs["ft"])) == 5 and all(3e-4 / 4 <= lr <= 3e-4 * 4 for lr in lrs["ft"])
    assert {s.hparams_of("l2sp")["alpha"] for s in plan.specs if s.method == "l2sp"} <= {0.001, 0.01, 0.1}


def test_a_post_hoc_method_builds_on_the_very_runs_its_base_drew(tmp_path):
    plan = _sweep(tmp_path, SEARCH).plan()
    lipsum = {s.digest() for s in plan.specs if s.method == "lipsum"}
    bases = {d for s in plan.specs if s.method == "lipsum+wise" for d in plan.needs(s)}
    assert bases == lipsum and len(lipsum) == 5 * 2


def test_draws_are_reproducible_and_do_not_depend_on_the_other_methods(tmp_path):
    first = _sweep(tmp_path, SEARCH).plan()
    alone = _sweep(tmp_path, SEARCH.replace("[zeroshot, lp, ft, lipsum, lipsum+wise, l2sp]", "[l2sp]")).plan()
    assert _configs(first, "l2sp") == _configs(alone, "l2sp")
    other_seed = _sweep(tmp_path, SEARCH.replace("seed: 3", "seed: 4")).plan()
    assert len(_configs(other_seed, "l2sp")) == 5 and _configs(other_seed, "l2sp") != _configs(first, "l2sp")
    spec = next(s for s in first.specs if s.method == "l2sp" and "hparams" in s.identity())
    assert "trial" not in str(spec.identity()) and "search" not in str(spec.identity())


def test_a_search_beside_a_grid_draws_only_the_keys_the_grid_leaves_free(tmp_path):
    sweep = _sweep(tmp_path, """
methods: [lipsum]
grid: {lipsum.lam: [0.5, 2.0]}
search: {trials: 3, over: [lr, lipsum.lam, weight_decay], spaces: {weight_decay: [0.0, 0.05]}}
""")
    with pytest.raises(ConfigError, match="both searched and fixed"):
        sweep.plan()
    sweep = _sweep(tmp_path, """
methods: [lipsum]
grid: {lipsum.lam: [0.5, 2.0]}
search: {trials: 3, over: [lr, "lipsum.*", weight_decay], spaces: {weight_decay: [0.0, 0.05]}}
""")
    points = list(sweep.points("lipsum", "embedded", {"lr": 3e-4, "weight_decay": 0.1}))
    assert len(points) == 6 and [p["lipsum.lam"] for p in points] == [0.5] * 3 + [2.0] * 3
    assert all(p.get("weight_decay", 0.1) in (0.0, 0.05, 0.1) for p in points)
    assert points[0] == {"lipsum.lam": 0.5} and points[3] == {"lipsum.lam": 2.0}


def test_spaces_draw_what_they_say():
    rng = random.Random(0)
    assert {Choice((1, 2)).draw(rng, None) for _ in range(50)} == {1, 2}
    draws = [Uniform(1e-4, 1e-2, log=True).draw(rng, None) for _ in range(2000)]
    below = sum(d < 1e-3 for d in draws) / len(draws)  # log-uniform: half below the geometric middle
    assert all(1e-4 <= d <= 1e-2 for d in draws) and 0.45 < below < 0.55
    assert Times(Choice((0.5, 2.0))).draw(random.Random(1), 375) in (188, 750)  # integers stay integers
    assert parse_space({"times": {"log_uniform": [0.5, 2]}}, "x") == Times(Uniform(0.5, 2.0, log=True))
    assert Search(trials=3).value("lr", Uniform(0.1, 1.0), 0, "embedded", 0.3) == 0.3


@pytest.mark.parametrize("block, message", [
    ("{trials: 0}", "search.trials must be an integer >= 1"),
    ("{trials: 2, over: [momentum]}", "neither METHOD.KEY"),
    ("{trials: 2, over: [lipsum.lamda]}", "has no hyper-parameter 'lamda'"),
    ("{trials: 2, over: [lipsum.num_texts]}", "declares no search space"),
    ("{trials: 2, spaces: {lr: {log_uniform: [0, 1]}}}", "0 < lo < hi"),
    ("{trials: 2, budget: 3}", "unknown search keys ['budget']"),
])
def test_a_bad_search_block_is_one_clear_line(tmp_path, capsys, block, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"methods: [ft, lipsum]\nsearch: {block}\n")
    assert main(["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_dry_run_states_each_methods_tuning_budget(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text("methods: [zeroshot, ft, lipsum, ft+soup]\nsearch: {trials: 3, over: [lr, \"*\"]}\n")
    assert main(["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r")]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    # the soup's ingredients at 0.5 and 2 times each trial's lr are FT runs outside FT's budget
    assert line == ("configurations per method (its tuning budget): ft 3 (+6 only built on), ft+soup 3, "
                    "lipsum 3, zeroshot 1")


def test_the_budget_line_names_runs_at_seeds_only_built_on():
    """Model Stock's second runs are FT at seed + 1000: FT's configuration, not FT's seeds."""
    from robustbench_ft.planning.estimate import budget_line
    from robustbench_ft.planning.plan import plan_grid
    line = budget_line(plan_grid(["ft", "ft+modelstock"], [0, 1], "embedded", {"steps": 10}))
    assert "ft 1 (+2 runs at other seeds only built on)" in line and "ft+modelstock 1" in line
