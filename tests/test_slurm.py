"""Sweeps on a real Slurm (ci/slurm.sh start): job arrays, dependencies, status, relaunch, and a
job requeued mid-training that resumes from its checkpoint. Skipped where no Slurm answers; CI
starts one, so CI runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import torch
from test_launch import _metrics, _tiny_benchmark

from robustbench_ft.cli.main import main
from robustbench_ft.launch import LaunchOptions
from robustbench_ft.launch.ledger import Ledger, logs_dir
from robustbench_ft.launch.status import run_statuses
from robustbench_ft.planning.sweep import load_sweep
from robustbench_ft.report.collect import collect


def _slurm_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(state.startswith(("idle", "mixed", "allocated")) for state in out.split())


pytestmark = [pytest.mark.slurm, pytest.mark.skipif(not _slurm_up(), reason="no Slurm answers here: "
                                                    "start one with `sudo ci/slurm.sh start` (CI does)")]


def _sweep(tmp_path: Path, **extra: str) -> Path:
    """4 runs in 2 waves: FT at two learning rates, then a WiSE curve on each."""
    tiny = _tiny_benchmark(tmp_path)
    path = tmp_path / "sweep.yaml"
    path.write_text(f"""
benchmarks: [{tiny}]
methods: [ft+wise]
seeds: [0]
settings: {{steps: 12, eval_every: 4, batch_size: 32, wise.alphas: [0, 0.5, 1]}}
grid: {{lr: [1.0e-4, 3.0e-4]}}
launcher: {{name: slurm, cpus_per_task: 1, time: 10}}
""")
    return path


def test_a_sweep_runs_as_job_arrays_and_matches_the_local_launcher(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    on_slurm, on_local = tmp_path / "slurm", tmp_path / "local"
    assert main(["sweep", str(sweep), "--results", str(on_slurm), "--wait"]) == 0
    assert "| FT |" in capsys.readouterr().out  # the table, printed at the end
    latest = Ledger(on_slurm).latest()
    submissions = latest.values()
    assert len(submissions) == 4 and len({s.job for s in submissions}) == 4
    ft_array = {s.job.split("_")[0] for s in submissions if s.method == "ft"}
    assert len(ft_array) == 1  # the first wave: one array
    script = (logs_dir(on_slurm) / f"{ft_array.pop()}_submission.sh").read_text()
    assert "#SBATCH --array=0-1" in script and "#SBATCH --cpus-per-task=1" in script and "dependency" not in script
    plan = load_sweep(sweep).plan()
    for spec in (s for s in plan.specs if s.method == "ft+wise"):  # each waits for its own FT run alone
        wise = latest[spec.digest()]
        (base,) = plan.needs(spec)
        script = (logs_dir(on_slurm) / f"{wise.job.split('_')[0]}_submission.sh").read_text()
        assert f"#SBATCH --dependency=afterany:{latest[base].job}\n" in script
        state = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "State", "-j", wise.job.split("_")[0]],
                               capture_output=True, text=True).stdout
        assert state.split() == ["COMPLETED"]
    assert all(Path(s.log).is_file() for s in submissions)

    assert main(["sweep", str(sweep), "--results", str(on_local), "--launcher", "local", "--local-jobs", "2"]) == 0
    slurm_metrics, local_metrics = _metrics(on_slurm), _metrics(on_local)
    assert len(slurm_metrics) == 4 and slurm_metrics == local_metrics  # every metric, exactly

    frame = collect(on_slurm).frame
    assert frame["run"].nunique() == 4 and set(frame["method"]) == {"ft", "ft+wise"}


def _times(job: str) -> tuple[float, float]:
    """(start, end) of a job in seconds since the epoch, as Slurm's accounting says."""
    import datetime
    line = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "Start,End", "-j", job],
                          capture_output=True, text=True).stdout.split()[0]
    return tuple(datetime.datetime.fromisoformat(t).timestamp() for t in line.split("|"))


def test_a_dependent_run_waits_for_its_own_dependency_not_the_slowest_of_its_wave(tmp_path):
    """One FT run is slow: the WiSE curve of the fast one starts once the fast one ends, while the
    slow one still trains (before, a wave's array waited for every run of the earlier wave)."""
    tiny = _tiny_benchmark(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"""
benchmarks: [{tiny}]
methods: [ft+wise]
settings: {{eval_every: 10, batch_size: 32, wise.alphas: [0, 1]}}
grid: {{steps: [10, 1500]}}
launcher: {{name: slurm, cpus_per_task: 1, time: 10}}
""")
    results = tmp_path / "results"
    assert main(["sweep", str(sweep), "--results", str(results), "--wait"]) == 0
    latest, plan = Ledger(results).latest(), load_sweep(sweep).plan()
    ft = {s.steps: latest[s.digest()].job for s in plan.specs if s.method == "ft"}
    wise = {s.steps: latest[s.digest()].job for s in plan.specs if s.method == "ft+wise"}
    fast_end, slow_end = _times(ft[10])[1], _times(ft[1500])[1]
    assert _times(wise[10])[0] < slow_end  # it did not wait for the slow run
    assert _times(wise[10])[0] >= fast_end and _times(wise[1500])[0] >= slow_end  # it waited for its own


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_failed_job_shows_in_status_and_a_relaunch_resubmits_it_alone(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    results = tmp_path / "results"
    plan = load_sweep(sweep).plan()
    broken = next(s for s in plan.specs if s.method == "ft" and s.lr == 3e-4)
    folder = results / "embedded-tiny" / "ft" / broken.digest()
    folder.mkdir(parents=True)
    (folder / "resume.pt").write_bytes(b"not a checkpoint")  # the run fails at its start

    assert main(["sweep", str(sweep), "--results", str(results), "--wait", "--runs-per-job", "2"]) == 1
    capsys.readouterr()
    packed = list(Ledger(results).latest().values())
    assert len(packed) == 4 and len({s.job for s in packed}) == 2  # 2 runs per job: one job a wave
    assert main(["status", str(sweep), "--results", str(results)]) == 1
    table = capsys.readouterr().out
    line = next(row for row in table.splitlines() if broken.digest() in row)
    assert line.startswith("failed") and "resume.pt: unreadable (UnpicklingError: " in line
    assert "delete it to train the run from step 0" in line
    log = line.split("(log: ")[1].rstrip(")")
    assert "resume.pt: unreadable" in Path(log).read_text() + Path(log).with_suffix(".err").read_text()
    states = {s.run: s.state for s in run_statuses(results, list(plan.specs))}
    assert sorted(states.values()) == ["done", "done", "failed", "failed"]  # its WiSE curve was skipped
    assert table.splitlines()[-1] == "total: 2 done, 2 failed (4 runs)"

    (folder / "resume.pt").unlink()  # what the error says to do
    before = len(Ledger(results).path.read_text().splitlines())
    assert main(["sweep", str(sweep), "--results", str(results), "--wait"]) == 0
    resubmitted = [json.loads(x)["run"] for x in Ledger(results).path.read_text().splitlines()[before:]]
    assert sorted(resubmitted) == sorted(s.digest() for s in plan.specs if s.lr == 3e-4)
    assert {s.state for s in run_statuses(results, list(plan.specs))} == {"done"}


INTERRUPTIONS = {
    # an operator's requeue: Slurm kills the job (SIGTERM, then SIGKILL) and queues it again
    "scontrol requeue": lambda job: [["scontrol", "requeue", job]],
    # a preemption, as submitit's own test helper sends it: the job's Checkpointable requeues itself.
    # Slurm delivers each signal to every process of the job, asynchronously: a SIGTERM still on its
    # way when USR2 starts the handler's `scontrol requeue` kills that scontrol (seen in CI), so the
    # warning comes first and the requeue signal a moment later, as in a real preemption
    "preempted": lambda job: [["scancel", job, "--signal", "SIGTERM"], ["sleep", "2"],
                              ["scancel", job, "--signal", "USR2"]],
}


@pytest.mark.parametrize("interruption", list(INTERRUPTIONS))
def test_a_job_requeued_mid_training_resumes_and_matches_an_uninterrupted_run(tmp_path, interruption):
    from robustbench_ft.launch.slurm import SlurmLauncher
    tiny = _tiny_benchmark(tmp_path)
    command = ["run", "--methods", "ft", "--dataset", tiny, "--steps", "240", "--batch-size", "32",
               "--eval-every", "80", "--lr", "1e-4", "--checkpoint-every", "10"]
    requeued = tmp_path / "requeued"
    assert main([*command, "--results", str(requeued), "--launcher", "slurm", "--cpus-per-task", "1"]) == 0
    (submission,) = Ledger(requeued).latest().values()
    metrics = requeued / "embedded-tiny" / "ft" / submission.run / "metrics.jsonl"
    _wait_until(lambda: metrics.is_file() and len(metrics.read_text().splitlines()) >= 60, 300, "step 60")
    for command_line in INTERRUPTIONS[interruption](submission.job):
        subprocess.run(command_line, check=True)
    _wait_until(lambda: "PENDING" in subprocess.run(["squeue", "-h", "-j", submission.job, "-o", "%T"],
                                                    capture_output=True, text=True).stdout, 60, "the requeue")
    SlurmLauncher(LaunchOptions(), requeued).wait([submission], poll_seconds=1)
    log = Path(submission.log).read_text() + Path(submission.log).with_suffix(".err").read_text()
    assert log.count("Starting with JobEnvironment") == 2  # the job ran twice
    resumed_at = int(log.split("resumed at step ")[1].split()[0])
    # from the last complete save: step 60, or 50 when the signal cut the save of step 60 short
    # (the atomic write then leaves step 50's state, as it should)
    assert 50 <= resumed_at < 240

    straight = tmp_path / "straight"
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the job ran (--cpus-per-task 1)
    try:
        assert main([*command, "--results", str(straight)]) == 0
    finally:
        torch.set_num_threads(torch_threads)
    ours, theirs = _metrics(requeued), _metrics(straight)
    assert list(ours) == list(theirs) == [submission.run] and ours == theirs  # every metric, exactly
    folder = metrics.parent
    twin = straight / "embedded-tiny" / "ft" / submission.run
    assert metrics.read_text() == (twin / "metrics.jsonl").read_text()
    assert not (folder / "resume.pt").exists()


def test_a_two_task_slurm_job_trains_with_ddp_and_matches_one_process(tmp_path):
    tiny = _tiny_benchmark(tmp_path)
    command = ["run", "--methods", "lipsum", "--dataset", tiny, "--steps", "8", "--batch-size", "32",
               "--eval-every", "4"]
    assert main([*command, "--results", str(tmp_path / "one")]) == 0
    assert main([*command, "--results", str(tmp_path / "two"), "--launcher", "slurm", "--tasks-per-job", "2",
                 "--cpus-per-task", "1", "--wait"]) == 0
    (submission,) = Ledger(tmp_path / "two").latest().values()
    assert Path(submission.log.replace("_0_log.out", "_1_log.out")).is_file()  # srun started rank 1
    one, two = _metrics(tmp_path / "one"), _metrics(tmp_path / "two")
    assert set(one) == set(two) == {submission.run}
    for a, b in zip(one[submission.run], two[submission.run]):
        for split, metrics in a["splits"].items():
            for name, value in metrics.items():
                assert b["splits"][split][name] == pytest.approx(value, abs=1e-4), (split, name)
    result = json.loads(next((tmp_path / "two").glob("*/*/*/result.json")).read_text())
    assert result["processes"] == 2
