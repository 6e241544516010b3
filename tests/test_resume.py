"""A run killed mid-training resumes from its last checkpoint and ends as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustbench_ft.cli.main import main

STEPS = 200


def _command(benchmark: str, results: Path) -> list[str]:
    return ["run", "--methods", "lipsum", "--dataset", benchmark, "--steps", str(STEPS), "--eval-every", "20",
            "--batch-size", "16", "--results", str(results)]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


@pytest.mark.slow
def test_sigkill_then_rerun_resumes_and_matches_an_uninterrupted_run(mini_benchmark, tmp_path, capsys):
    killed = tmp_path / "killed"
    env = {**os.environ, "ROBUSTBENCH_FT_PROGRESS": "0"}
    process = subprocess.Popen([sys.executable, "-m", "robustbench_ft.cli", *_command(mini_benchmark, killed)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        logs = list(killed.rglob("metrics.jsonl"))
        if logs and _lines(logs[0]) > STEPS // 2 + 10:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    folder = logs[0].parent
    assert not (folder / "result.json").exists() and (folder / "resume.pt").is_file()

    assert main(_command(mini_benchmark, killed)) == 0
    resumed_at = int(capsys.readouterr().err.split("resumed at step ")[1].split()[0])
    assert resumed_at >= STEPS // 2  # from its last checkpoint (an evaluation), not from step 0

    straight = tmp_path / "straight"
    assert main(_command(mini_benchmark, straight)) == 0
    twin = next(straight.rglob("result.json")).parent
    assert twin.name == folder.name
    ours, theirs = (json.loads((f / "result.json").read_text()) for f in (folder, twin))
    assert ours["records"] == theirs["records"]  # every metric of every split, exactly
    assert ours["train"]["best_step"] == theirs["train"]["best_step"]
    assert (folder / "metrics.jsonl").read_text() == (twin / "metrics.jsonl").read_text()
    assert not (folder / "resume.pt").exists()  # a finished run keeps its selected weights only
