"""The launch layer without a scheduler: plans with waves, sweep files, launcher options, the
ledger and `status`, the local launcher, and DDP over 2 gloo processes."""

from __future__ import annotations

from collections import Counter

import json
from pathlib import Path

import pytest
import yaml

from robustbench_ft.cli.main import main
from robustbench_ft.core.config import ConfigError
from robustbench_ft.launch import LaunchOptions
from robustbench_ft.launch.ledger import Ledger, Submission
from robustbench_ft.launch.slurm import expand_array_ids
from robustbench_ft.launch.status import format_statuses, run_statuses
from robustbench_ft.planning import plan_grid
from robustbench_ft.planning.sweep import load_sweep
from robustbench_ft.records import ResultsTree, RunResult

BUDGET = {"steps": 10, "batch_size": 32, "eval_every": 5}


def test_a_plan_has_edges_and_waves_in_dependency_order():
    plan = plan_grid(["lpft+wise", "ft", "zeroshot"], [0, 1], "embedded", BUDGET)
    waves = [[s.method for s in wave] for wave in plan.waves()]
    assert waves == [["lp", "ft", "zeroshot"] * 2, ["lpft"] * 2, ["lpft+wise"] * 2]
    by = {(s.method, s.seed): s.digest() for s in plan.specs}
    assert (by["lp", 0], by["lpft", 0]) in plan.edges and (by["lpft", 1], by["lpft+wise", 1]) in plan.edges
    assert len(plan.edges) == 4


def test_a_relaunch_plan_drops_finished_runs_but_keeps_edges_to_them():
    plan = plan_grid(["lpft"], [0], "embedded", BUDGET)
    lp, lpft = plan.specs
    left = plan.without(lambda s: s.method == "lp")
    assert [s.method for s in left.specs] == ["lpft"]
    assert left.needs(lpft) == [lp.digest()]  # a launcher can still wait on LP's queued job
    assert [[s.method for s in w] for w in left.waves()] == [["lpft"]]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_a_sweep_is_the_product_of_its_grid_and_each_value_reaches_the_methods_that_have_it(tmp_path):
    sweep = load_sweep(_write(tmp_path, """
benchmarks: [embedded]
methods: [ft, lipsum]
seeds: [0, 1]
settings: {steps: 10, batch_size: 32}
grid: {lr: [1.0e-4, 3.0e-4], lipsum.lam: [0.5, 1, 2]}
"""))
    plan = sweep.plan()
    lipsum = [s for s in plan.specs if s.method == "lipsum"]
    ft = [s for s in plan.specs if s.method == "ft"]
    assert len(lipsum) == 2 * 2 * 3 and len(ft) == 2 * 2  # FT does not multiply by lipsum.lam
    assert {(s.lr, s.hparams_of("lipsum")["lam"]) for s in lipsum} == \
        {(lr, lam) for lr in (1e-4, 3e-4) for lam in (0.5, 1.0, 2.0)}
    assert {s.eval_every for s in plan.specs} == {2}  # steps without eval_every: five evaluations
    assert len(list(sweep.points("ft"))) == 2 and len(list(sweep.points("lipsum+wise"))) == 6


def test_each_method_multiplies_only_by_its_own_grid_keys(tmp_path):
    """Six 3-value keys of other methods would make 729 points per run if the product were global."""
    keys = ["lipsum.lam", "l2sp.alpha", "kd.weight", "carft.weight", "ema.decay", "kd.temperature"]
    grid = ", ".join(f"{k}: [0.5, 0.9, 1.0]" for k in keys)
    sweep = load_sweep(_write(tmp_path, f"methods: [ft, lipsum, l2sp, kd, carft, ema]\ngrid: {{{grid}}}\n"))
    assert [len(list(sweep.points(m))) for m in sweep.methods] == [1, 3, 3, 9, 3, 3]
    assert len(sweep.plan().specs) == 1 + 3 + 3 + 9 + 3 + 3


def test_a_training_field_does_not_multiply_or_rename_a_method_that_trains_nothing(tmp_path):
    """A sweep over lr and steps runs zero-shot and Kumar's probe once each, under the names they
    have without the sweep; FT, LP-FT and WiSE multiply, and LP-FT builds on that one probe."""
    sweep = load_sweep(_write(tmp_path, """
methods: [zeroshot, lp, ft, lpft, ft+wise]
grid: {lr: [1.0e-4, 3.0e-4], steps: [10, 20]}
"""))
    plan = sweep.plan()
    count = Counter(s.method for s in plan.specs)
    assert count == {"zeroshot": 1, "lp": 1, "ft": 4, "lpft": 4, "ft+wise": 4}
    plain = {s.method: s for s in load_sweep(_write(tmp_path, "methods: [zeroshot, lp]\n")).plan().specs}
    for spec in plan.specs:
        if spec.method in plain:
            assert spec.digest() == plain[spec.method].digest() and "lr" not in spec.identity()
    lp = next(s for s in plan.specs if s.method == "lp")
    assert {plan.needs(s)[0] for s in plan.specs if s.method == "lpft"} == {lp.digest()}


@pytest.mark.parametrize("text, message", [
    ("methods: [ft]\ngrid: {lr: 1.0e-4}", "grid.lr must be a non-empty list"),
    ("methods: [ft]\nseed: [0]", "unknown keys ['seed']"),
    ("methods: []", "methods must be a non-empty list"),
    ("methods: [ft]\nseeds: [0, x]", "seeds must be a list of integers"),
    ("methods: [ft]\nlauncher: {nme: slurm}", "unknown launcher options ['nme']"),
    ("methods: [ft]\nlauncher: {time: soon}", "time must be int"),
    ("methods: [ft, lipsum]\ngrid: {lipsun.lam: [1, 2]}", "'lipsun.lam' is a hyper-parameter of 'lipsun', which none of the methods"),
    ("methods: [lipsum]\ngrid: {lipsum.lamda: [1, 2]}", "unknown hyper-parameter"),
])
def test_a_bad_sweep_file_is_one_clear_line(tmp_path, capsys, text, message):
    path = _write(tmp_path, text)
    assert main(["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_launcher_options_layer_yaml_then_flags():
    options = LaunchOptions().updated({"name": "slurm", "partition": "gpu", "time": 120, "gpus_per_job": 2,
                                       "sbatch": {"exclusive": ""}}, "yaml")
    assert (options.launcher, options.partition, options.time, options.tasks) == ("slurm", "gpu", 120, 2)
    options = options.updated({"time": 30, "partition": None}, "flags")
    assert (options.time, options.partition, dict(options.sbatch)) == (30, "gpu", {"exclusive": ""})
    with pytest.raises(ConfigError, match="runs_per_job must be at least 1"):
        options.updated({"runs_per_job": 0}, "flags")


def test_sbatch_array_ids_expand():
    assert expand_array_ids("12_[0-2,5%2]") == ["12_0", "12_1", "12_2", "12_5"]
    assert expand_array_ids("12_3") == ["12_3"] and expand_array_ids("7") == ["7"]


def test_status_joins_folders_ledger_and_scheduler(tmp_path, monkeypatch):
    plan = plan_grid(["ft"], [0, 1, 2, 3, 4], "embedded", BUDGET)
    done, failed, pending, killed, never = plan.specs
    for spec in (done, failed, killed):
        ResultsTree(tmp_path).of(spec).start(spec.to_record())
    ResultsTree(tmp_path).of(done).write_result(RunResult(
        run=done.digest(), config=done.config_digest(), benchmark="embedded", identity=done.identity(),
        spec=done.to_dict(), id_split="photo", ood_splits=[], evaluations=[]))
    ResultsTree(tmp_path).of(failed).write_error("NonFiniteLossError: non-finite loss nan\nmore", "")
    Ledger(tmp_path).append([Submission.of(s, "slurm", job, f"/logs/{job}_0_log.out")
                             for s, job in ((done, "5_0"), (failed, "5_1"), (pending, "5_2"), (killed, "5_3"))])
    scheduler = {"5_0": "COMPLETED", "5_1": "FAILED", "5_2": "PENDING", "5_3": "OUT_OF_MEMORY"}
    monkeypatch.setattr("robustbench_ft.launch.slurm.SlurmLauncher.states", classmethod(lambda cls, jobs: scheduler))
    statuses = run_statuses(tmp_path, list(plan.specs))
    assert [s.state for s in statuses] == ["done", "failed", "pending", "failed", "not submitted"]
    assert statuses[1].reason == "NonFiniteLossError: non-finite loss nan" and statuses[1].log == "/logs/5_1_0_log.out"
    assert statuses[3].reason == "job 5_3 ended OUT_OF_MEMORY without a result"
    table = format_statuses(statuses)
    assert "(log: /logs/5_1_0_log.out)" in table
    assert table.splitlines()[-1] == "total: 1 done, 1 pending, 2 failed, 1 not submitted (5 runs)"
    # without a sweep: every run the folder and the ledger know (the never-submitted one is unknown)
    assert len(run_statuses(tmp_path)) == 4


def test_rank_and_world_size_come_from_torchrun_or_default_to_one_process(monkeypatch):
    from robustbench_ft.engine.distributed import SINGLE, DistEnv, read_env
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SUBMITIT_EXECUTOR", "SLURM_JOB_ID", "SUBMITIT_LOCAL_JOB_ID"):
        monkeypatch.delenv(name, raising=False)
    assert read_env() == SINGLE
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    env = read_env()
    assert env == DistEnv(3, 4, 1) and env.active and not env.is_main and env.shard() == (3, 4)


def test_the_shards_of_all_ranks_are_exactly_the_one_process_batch():
    import torch

    from robustbench_ft.data.benchmark import ImageSet
    from robustbench_ft.models.inputs import InputPipeline
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8)
    data = ImageSet(images, torch.arange(40))
    inputs = InputPipeline((0.5,) * 3, (0.25,) * 3, 8, augment=["hflip"])

    def stream(shard):
        batches = data.train_batches(12, torch.Generator().manual_seed(7), inputs, skip=2, shard=shard)
        return [next(batches) for _ in range(5)]

    whole = stream((0, 1))
    parts = [stream((rank, 3)) for rank in range(3)]
    for step, (x, y) in enumerate(whole):
        assert torch.equal(torch.cat([p[step][0] for p in parts]), x)
        assert torch.equal(torch.cat([p[step][1] for p in parts]), y)


def _tiny_benchmark(tmp_path: Path) -> str:
    """The embedded world, fewer images: a YAML path usable wherever a benchmark name is."""
    from robustbench_ft.core.config import presets_dir
    config = yaml.safe_load((presets_dir("benchmarks") / "embedded.yaml").read_text())
    config.update(name="embedded-tiny", per_class={"train": 16, "val": 4, "test": 6})
    path = tmp_path / "embedded-tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _metrics(results: Path) -> dict[str, list]:
    out = {}
    for path in results.glob("*/*/*/result.json"):
        result = json.loads(path.read_text())
        out[result["run"]] = result["records"]
    return out


@pytest.mark.slow
def test_ddp_over_two_gloo_processes_matches_one_process_with_the_same_global_batch(tmp_path):
    bench = _tiny_benchmark(tmp_path)
    command = ["run", "--methods", "ft,lipsum,flyp", "--dataset", bench, "--steps", "8", "--batch-size", "32",
               "--eval-every", "4"]
    assert main([*command, "--results", str(tmp_path / "one")]) == 0
    assert main([*command, "--results", str(tmp_path / "two"), "--launcher", "local", "--tasks-per-job", "2"]) == 0
    one, two = _metrics(tmp_path / "one"), _metrics(tmp_path / "two")
    assert set(one) == set(two) and len(one) == 3
    for run in one:
        for a, b in zip(one[run], two[run]):
            for split, metrics in a["splits"].items():
                for name, value in metrics.items():
                    assert b["splits"][split][name] == pytest.approx(value, abs=1e-4), (run, split, name)
    for result in (tmp_path / "two").glob("*/*/*/result.json"):
        assert json.loads(result.read_text())["processes"] == 2
        twin = tmp_path / "one" / result.parent.relative_to(tmp_path / "two")
        theirs, ours = ([json.loads(x) for x in (f / "metrics.jsonl").read_text().splitlines()]
                        for f in (twin, result.parent))
        assert len(ours) == len(theirs) == 8  # rank 0 alone logs, the global batch's mean loss
        for a, b in zip(theirs, ours):
            assert b["loss"] == pytest.approx(a["loss"], abs=1e-4) and b.get("val_acc") == a.get("val_acc")
    logs = (tmp_path / "two" / "_launch" / "logs")
    assert len(list(logs.glob("*_1_log.out"))) == 3  # rank 1 of each job ran (and wrote no records)


def test_a_sweep_dry_run_lists_runs_and_waves_and_runs_nothing(tmp_path, capsys):
    path = _write(tmp_path, "methods: [lpft]\nseeds: [0, 1]\nsettings: {steps: 10}\ngrid: {lr: [1.0e-4, 3.0e-4]}\n")
    assert main(["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "6 of 6 runs to do" in out  # LP-FT brings its LP run, one per seed: the probe reads no lr
    assert "wave 0: 2 runs, 2 to do (lp)" in out and "wave 1: 4 runs, 4 to do (lpft)" in out
    assert not (tmp_path / "r").exists()


def test_slurm_resources_reach_submitit_under_its_names(tmp_path):
    from robustbench_ft.launch.slurm import SlurmLauncher
    options = LaunchOptions().updated({"name": "slurm", "partition": "gpu", "account": "lab", "qos": "high",
                                       "time": 240, "gpus_per_job": 4, "cpus_per_task": 8, "mem_gb": 64,
                                       "array_parallelism": 16, "constraint": "h100",
                                       "sbatch": {"exclusive": "", "mail-type": "END"}}, "yaml")
    params = SlurmLauncher(options, tmp_path).parameters()
    assert params == {"timeout_min": 240, "tasks_per_node": 4, "nodes": 1, "gpus_per_node": 4, "cpus_per_task": 8,
                      "mem_gb": 64.0, "slurm_partition": "gpu", "slurm_account": "lab", "slurm_qos": "high",
                      "slurm_constraint": "h100", "slurm_array_parallelism": 16,
                      "slurm_additional_parameters": {"exclusive": "", "mail-type": "END"}}
    import submitit
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="slurm")
    executor.update_parameters(**params)  # submitit refuses a name it does not know
    sbatch = executor._executor._make_submission_file_text("true", "uid")  # the script sbatch would get
    for line in ("--partition=gpu", "--account=lab", "--qos=high", "--time=240", "--gpus-per-node=4",
                 "--ntasks-per-node=4", "--cpus-per-task=8", "--mem=64GB", "--constraint=h100", "--exclusive",
                 "--mail-type=END"):
        assert f"#SBATCH {line}" in sbatch, line


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_sweep_plans_and_names_a_known_launcher(path):
    sweep = load_sweep(path)
    plan = sweep.plan()
    assert len(plan) >= 4 and plan.waves()
    LaunchOptions().updated(sweep.launcher, str(path))


@pytest.mark.parametrize("argv, message", [
    (["--sbatch", "=END"], "--sbatch expects KEY=VALUE"),
    (["--launcher", "slurm", "--runs-per-job", "0"], "runs_per_job must be at least 1"),
    (["--methods", "ema", "--set", "ema.decay=1.5"], "ema.decay must lie in [0, 1], got 1.5"),
])
def test_bad_launch_flags_and_values_are_one_line_before_anything_runs(tmp_path, capsys, argv, message):
    assert main(["run", "--dry-run", "--results", str(tmp_path / "r"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
