"""The records layer: one owner of the run-folder format. Every unreadable file is named in one
line by each command that meets it and the rest still report; the result schema round-trips; the
run lock stays fresh while its owner lives and is taken over once it is dead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustbench_ft.cli import main
from robustbench_ft.records import ResultsTree, RunResult, RunState
from robustbench_ft.records import lock as lock_module

GARBAGE = b"\x00\x9f{not: [json"


def _folders(results: Path) -> dict[tuple[str, int], Path]:
    """(method, seed) -> run folder, from the records the grid wrote."""
    out = {}
    for folder in ResultsTree(results).runs():
        result = folder.read_result()
        out[result.method, result.seed] = folder.path
    return out


def _one_line_each(text: str, *paths: Path) -> None:
    for path in paths:
        lines = [line for line in text.splitlines() if str(path) in line]
        assert lines, f"{path} is not named in:\n{text}"


def test_every_unreadable_file_is_named_by_every_command_that_meets_it(mini_benchmark, tmp_path, capsys):
    results = tmp_path / "results"
    grid = ["run", "--methods", "zeroshot,ft", "--seeds", "0,1,2", "--dataset", mini_benchmark, "--results", str(results)]
    assert main(grid) == 0
    capsys.readouterr()
    runs = _folders(results)
    torn_result = runs["zeroshot", 0] / "result.json"
    torn_result.write_bytes(torn_result.read_bytes()[:100])
    torn_error = runs["ft", 0] / "error.json"  # a failed run whose error record was cut short
    (runs["ft", 0] / "result.json").unlink()
    torn_error.write_bytes(b'{"reason": "NonFiniteLossEr')
    bad_spec = runs["zeroshot", 1] / "spec.yaml"
    bad_spec.write_bytes(GARBAGE)
    torn_log = runs["ft", 1] / "metrics.jsonl"
    torn_log.write_text(torn_log.read_text() + '{"step": 5, "lo')
    bad_resume = runs["ft", 2] / "resume.pt"  # an interrupted run whose resume state is garbage
    (runs["ft", 2] / "result.json").unlink()
    bad_resume.write_bytes(GARBAGE)
    bad_lock = runs["zeroshot", 2] / "run.lock"  # an interrupted run whose dead owner left a torn lock
    (runs["zeroshot", 2] / "result.json").unlink()
    bad_lock.write_bytes(GARBAGE)
    os.utime(bad_lock, (time.time() - 3600, time.time() - 3600))

    # report: the torn result, the torn error and the torn log are named; the rest report
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "report"), "--plots"]) == 0
    out, err = capsys.readouterr()
    _one_line_each(err, torn_result, torn_error, torn_log)
    assert "Traceback" not in err
    table = (tmp_path / "report" / "mini" / "accuracy.md").read_text()
    assert "Zero-shot" in table and "FT" in table  # zero-shot seed 1, FT seeds 1 (the log is not the record)

    # status: the torn result (corrupt), the torn error (failed) and the torn lock (judged by age)
    assert main(["status", "--results", str(results)]) == 1
    out, err = capsys.readouterr()
    _one_line_each(out + err, torn_result, torn_error, bad_lock)
    states = {line.split()[0] for line in out.splitlines()[1:-1]}
    assert states == {"done", "corrupt", "failed", "interrupted"}

    # migrate: the unreadable spec is named and its folder kept; nothing else moves
    assert main(["migrate", "--results", str(results)]) == 1
    out, err = capsys.readouterr()
    _one_line_each(err, bad_spec)
    assert bad_spec.read_bytes() == GARBAGE

    # the same grid again: the torn result is computed again, the stale torn lock taken over, the
    # failed run retried; the garbage resume state fails its run alone, named with what to do
    assert main(grid) == 1
    out, err = capsys.readouterr()
    _one_line_each(err, torn_result, bad_lock, bad_resume, bad_spec)
    assert "delete it to train the run from step 0" in err and "Traceback" not in err
    seen = {key: ResultsTree(results).run(*Path(folder).parts[-3:]).inspect().state for key, folder in runs.items()}
    assert seen == {("zeroshot", 0): RunState.DONE, ("ft", 0): RunState.DONE, ("zeroshot", 1): RunState.DONE,
                    ("ft", 1): RunState.DONE, ("ft", 2): RunState.FAILED, ("zeroshot", 2): RunState.DONE}

    # a dry run reads every folder's state and names nothing it cannot read as done
    assert main([*grid, "--dry-run"]) == 0
    out, _ = capsys.readouterr()
    assert "1 of 6 runs to do" in out


def test_a_result_record_round_trips_and_a_malformed_one_is_named(tmp_path, mini_benchmark):
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.engine.execute import execute
    from robustbench_ft.planning import make_spec
    spec = make_spec("ft", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0, {"steps": 2})
    result = execute(spec, tmp_path)
    folder = ResultsTree(tmp_path).of(spec)
    written = json.loads(folder.result_file.read_text())
    assert RunResult.from_json(written) == result and result.to_json() == written
    assert list(written) == ["schema", "run", "config", "benchmark", "identity", "spec", "id_split", "ood_splits",
                             "train", "records", "bad_images", "seconds", "processes", "built_on", "metrics"]
    assert written["metrics"] == {"primary": ["acc"], "select_on": "acc"} and result.select_on == "acc"
    folder.result_file.write_text(json.dumps({**written, "records": [{"splits": {"photo": 3}}]}))
    with pytest.raises(Exception, match=r"result.json: unreadable \(not a result record: "):
        folder.read_result()
    assert folder.inspect().state is RunState.CORRUPT and not folder.is_done()


def test_the_tree_lists_run_folders_only(tmp_path):
    tree = ResultsTree(tmp_path)
    for path in ("embedded/ft/abc", "embedded/lipsum/def", "_artifacts/key/eval-1/x", "_launch/logs/a/b"):
        (tmp_path / path).mkdir(parents=True)
    (tmp_path / "embedded" / "notes.txt").write_text("a stray file")
    assert [(f.benchmark, f.method, f.digest) for f in tree.runs()] == [("embedded", "ft", "abc"),
                                                                         ("embedded", "lipsum", "def")]
    assert all(f.inspect().state is RunState.NEW for f in tree.runs())


HOLDER = """
import sys, time
from pathlib import Path
from robustbench_ft.records import lock
lock.HEARTBEAT_SECONDS = 0.1
with lock.RunLock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_live_owner_keeps_its_lock_fresh_past_the_stale_age_and_a_dead_one_loses_it(tmp_path, monkeypatch):
    path = tmp_path / "run" / "run.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        # judged as another host would (pids mean nothing there): by the lock's age alone
        monkeypatch.setattr(lock_module, "this_host", lambda: "another-host")
        monkeypatch.setattr(lock_module, "STALE_SECONDS", 0.5)
        time.sleep(1.5)  # three stale ages, the owner busy with something else than saving state
        assert lock_module.read_lock(path).holder["pid"] == holder.pid
        with pytest.raises(lock_module.RunBusyError, match=f"pid {holder.pid}"):
            with lock_module.RunLock(path):
                pass
    finally:
        holder.kill()
        holder.wait()
    time.sleep(1.0)  # no heartbeat any more
    assert lock_module.read_lock(path).holder is None
    with lock_module.RunLock(path) as taken:
        assert json.loads(path.read_text())["pid"] == taken.owner["pid"] == os.getpid()
    assert not path.exists()


def test_a_taker_that_moved_a_live_lock_aside_puts_it_back(tmp_path, monkeypatch):
    """Two processes take over the same dead lock: the one whose rename catches the other's new,
    live lock gives it back and skips the run, so only one computes it."""
    path = tmp_path / "run" / "run.lock"
    path.parent.mkdir()
    path.write_text(json.dumps({"host": "gone", "pid": 1, "since": 0}))
    os.utime(path, (0, 0))  # a dead owner on another host: stale
    live = {"host": lock_module.this_host(), "pid": os.getpid(), "since": time.time()}
    real_replace = os.replace

    def replace_after_the_other_taker(src, dst):
        Path(src).write_text(json.dumps(live))  # the other taker took it over first
        os.utime(src)
        monkeypatch.setattr(lock_module.os, "replace", real_replace)
        real_replace(src, dst)

    monkeypatch.setattr(lock_module.os, "replace", replace_after_the_other_taker)
    with pytest.raises(lock_module.RunBusyError):
        with lock_module.RunLock(path):
            pass
    assert json.loads(path.read_text()) == live and not list(path.parent.glob(".run.lock.stale*"))


def test_a_step_log_with_bytes_that_are_no_text_is_cut_back_as_bytes(tmp_path):
    from robustbench_ft.records import MetricsLog
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 1}\n\xff\xfe torn\n{"step": 3}\n')
    MetricsLog(path).truncate(1)
    assert path.read_bytes() == b'{"step": 1}\n'


def test_a_finished_run_is_never_restarted_or_skipped(tmp_path, mini_benchmark):
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.engine.execute import execute
    from robustbench_ft.launch.job import run_pack
    from robustbench_ft.planning import make_spec
    wise = make_spec("wise", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0, {"steps": 2})
    execute(wise.replace(method="ft", hparams={}), tmp_path)
    execute(wise, tmp_path)
    folder = ResultsTree(tmp_path).of(wise)
    before = {p.name: p.read_bytes() for p in folder.path.iterdir()}
    ResultsTree(tmp_path).of(wise.replace(method="ft", hparams={})).result_file.unlink()  # its base lost
    assert run_pack([wise], tmp_path) == {wise.digest(): "done"}
    assert {p.name: p.read_bytes() for p in folder.path.iterdir()} == before
    with pytest.raises(FileExistsError):
        folder.start(wise.to_record())
