"""Crash-safe records, one computer per run, and many processes writing into one tree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from robustbench_ft.records import ResultsTree
from robustbench_ft.records.layout import LOCK
from robustbench_ft.report.collect import collect

ENV = {**os.environ, "ROBUSTBENCH_FT_PROGRESS": "0"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "robustbench_ft.cli", *args]


def test_a_process_killed_while_writing_leaves_the_old_record(tmp_path):
    target = tmp_path / "result.json"
    target.write_text('{"old": true}')
    writer = subprocess.Popen([sys.executable, "-c", (
        "import time, sys; from robustbench_ft.core.atomic import atomic_write; "
        f"atomic_write({str(target)!r}, lambda f: (f.write(b'{{\"new\": tr'), f.flush(), print('writing', flush=True), "
        "time.sleep(60)))")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"  # between write and rename
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert json.loads(target.read_text()) == {"old": True}


def test_a_torn_record_is_listed_as_corrupt_and_the_rest_still_report(tmp_path, mini_benchmark, capsys):
    from robustbench_ft.cli.main import main
    results = tmp_path / "results"
    assert main(["run", "--methods", "zeroshot", "--seeds", "0,1", "--dataset", mini_benchmark,
                 "--results", str(results)]) == 0
    torn = sorted(results.rglob("result.json"))[0]
    torn.write_text(torn.read_text()[: len(torn.read_text()) // 2])
    collection = collect(results)
    assert [why.split(" (")[0] for _, why in collection.skipped] == [f"{torn}: unreadable"]
    assert collection.frame["seed"].nunique() == 1
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "r"), "--format", "md"]) == 0
    assert f"skipped {torn.parent}: {torn}: unreadable (JSONDecodeError: " in capsys.readouterr().err


@pytest.mark.slow
def test_eight_processes_write_into_one_tree(tmp_path, mini_benchmark):
    results = tmp_path / "results"
    runs = [subprocess.Popen(_cli("run", "--methods", "ft", "--seeds", str(seed), "--steps", "3",
                                  "--dataset", mini_benchmark, "--results", str(results)),
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for seed in range(8)]
    for run in runs:
        assert run.wait(timeout=600) == 0, run.stderr.read()[-2000:]
    collection = collect(results)
    assert collection.skipped == [] and sorted(collection.frame["seed"].unique()) == list(range(8))
    assert list(results.rglob("*.tmp")) == [] and list(results.rglob(LOCK)) == []
    assert len(list((results / "_artifacts").glob("*/*.pt"))) == 2 + 6  # one intact set, however many built it


@pytest.mark.slow
def test_two_processes_never_both_train_one_run(tmp_path, mini_benchmark):
    results = tmp_path / "results"
    command = _cli("run", "--methods", "lipsum", "--steps", "600", "--batch-size", "16",
                   "--dataset", mini_benchmark, "--results", str(results))
    first = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(results.rglob("metrics.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600)
    assert first.wait(timeout=600) == 0
    assert second.returncode == 1 and "is being computed by pid" in second.stderr
    log = next(results.rglob("metrics.jsonl")).read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == list(range(1, 601))  # one writer


def test_a_lock_whose_owner_died_is_taken_over(tmp_path, mini_benchmark):
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.engine.execute import execute
    from robustbench_ft.planning import make_spec
    spec = make_spec("zeroshot", load_benchmark(mini_benchmark).train_defaults, mini_benchmark)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = ResultsTree(tmp_path).of(spec).path
    folder.mkdir(parents=True)
    import socket
    (folder / LOCK).write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout)}))
    assert execute(spec, tmp_path).evaluations
    (folder / "result.json").unlink()
    (folder / LOCK).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    with pytest.raises(Exception, match="is being computed by pid"):
        execute(spec, tmp_path)
