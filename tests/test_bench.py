"""The benchmark command's parts: ratio arithmetic, a training-step round on the mini benchmark,
the JPEG world of the file measurements. No timing is asserted (docs/performance.md holds those)."""

from __future__ import annotations

import pytest

from robustbench_ft.tools.bench.timing import alternate, ratio, spread


def test_ratio_is_the_median_of_per_round_ratios_with_its_range():
    times = {"lipsum": [1.2, 3.0, 1.4], "ft": [1.0, 2.0, 1.0]}
    r = ratio(times, "lipsum", "ft")
    assert (r.median, r.low, r.high, r.rounds) == (pytest.approx(1.4), pytest.approx(1.2), pytest.approx(1.5), 3)
    assert spread([3.0, 1.0, 2.0, 4.0]).median == 3.0  # the upper middle of an even count


def test_alternate_runs_every_variant_once_per_round_in_turn_after_warm_up():
    calls = []
    times = alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=2, warmup=1)
    assert calls == ["a", "b"] * 3 and all(len(v) == 2 for v in times.values())


def test_a_step_round_measures_every_variant_and_restores_the_precomputed_features(mini_benchmark):
    from robustbench_ft.methods.frozen_features import FrozenFeatures
    from robustbench_ft.tools.bench.training import step_ratios
    out = step_ratios(mini_benchmark, "tiny-clip", "embedded", 8, ["ft", "lipsum"], rounds=1, every_step=True)
    assert set(out) == {"lipsum", "trainer vs bare loop", "ft step (s)", "floor"}
    assert out["floor"].median > 1 and out["ft step (s)"].median > 0
    assert FrozenFeatures.precompute


def test_the_jpeg_world_is_a_folder_benchmark_of_the_embedded_images(tmp_path):
    from robustbench_ft.data.benchmark import load_benchmark
    from robustbench_ft.tools.bench.files import jpeg_world
    path, images = jpeg_world(tmp_path, {"train": 2, "test": 1}, size=48)
    benchmark = load_benchmark(path)
    assert images == 6 * 12 and len(benchmark.test_set("sketch")) == 12
    assert len(benchmark.train_set()) + len(benchmark.val_set()) == 24
    x, _ = next(iter(benchmark.test_set("photo").eval_batches(4, _inputs(), "cpu")))
    assert x.shape == (4, 3, 32, 32)


def _inputs():
    from robustbench_ft.models.inputs import InputPipeline
    return InputPipeline((0.5,) * 3, (0.25,) * 3, 32)


def test_the_gpu_check_runs_its_code_path_on_the_cpu():
    """`bench --gpu` measures ViT-B/16 bf16 on a CUDA device; the same code, here on the CPU with
    the tiny CLIP under bf16 autocast: every row, and the regulariser exactly 0 at the start."""
    from robustbench_ft.tools.bench.gpu import gpu_rows
    rows = gpu_rows("tiny-clip", "embedded", batch=8, rounds=1, precision="bf16")
    values = {row.measure: row for row in rows}
    for name in ("bare model", "FT", "Lipsum-FT"):
        assert float(values[f"{name}: training images/s"].value) > 0
    assert float(values["evaluation images/s"].value) > 0
    zero = values["Lipsum-FT's regulariser at the starting weights"]
    assert zero.met is True and float(zero.value) == 0.0


def test_the_demo_peak_is_that_of_the_measured_command_alone():
    """A fresh parent reads the peak: a 300 MB command reads ~0.3 GiB, not the bench's own peak."""
    import json
    import subprocess
    import sys

    from robustbench_ft.tools.bench.demo import _PEAK
    big = bytearray(600_000_000)  # the bench process's own memory must not count
    out = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-c", "x = bytearray(300_000_000)"],
                         capture_output=True, text=True, check=True).stdout
    del big
    assert 0.27 < json.loads(out) / 2 ** 20 < 0.5


def test_a_section_of_the_performance_document_is_rewritten_alone(tmp_path):
    from robustbench_ft.tools.bench.doc import write_section
    doc = tmp_path / "performance.md"
    write_section(doc, "gpu", "## GPU check\n\nnot yet")
    write_section(doc, "ratios", "## Ratios\n\n| a |")
    write_section(doc, "scale", "## Scale\n\nfirst")
    write_section(doc, "scale", "## Scale\n\nsecond")
    text = doc.read_text()
    assert text.startswith("# Performance\n") and "first" not in text and "second" in text
    assert text.index("## Ratios") < text.index("## Scale") < text.index("## GPU check")  # the sections' order


def test_strace_lines_are_counted_by_where_they_point(tmp_path):
    from robustbench_ft.tools.bench.scale.startup import count_calls
    data, results = tmp_path / "data", tmp_path / "results"
    trace = tmp_path / "trace.txt"
    trace.write_text(
        f'123 openat(AT_FDCWD, "{data}/real/cat/a.jpg", O_RDONLY) = 3\n'
        f'123 newfstatat(AT_FDCWD, "{data}/real/cat", {{st_mode=S_IFDIR}}, 0) = 0\n'
        f'124 openat(AT_FDCWD, "{results}/_artifacts/k/head.pt", O_RDONLY) = 4\n'
        f'124 openat(AT_FDCWD, "/usr/lib/python3/os.py", O_RDONLY) = 5\n'
        "124 +++ exited with 0 +++\n")
    assert count_calls(trace, data, results) == {"images": 1, "data tree, not images": 1, "results folder": 1,
                                                 "elsewhere": 1}


def test_the_bookkeeping_records_are_finished_runs_of_the_plan(tmp_path):
    from robustbench_ft.launch.status import run_statuses
    from robustbench_ft.planning import plan_grid
    from robustbench_ft.tools.bench.scale.bookkeeping import finished
    plan = plan_grid(["ft", "wise"], [0, 1], "embedded", {"steps": 4})
    finished(tmp_path, list(plan.specs))
    assert {s.state for s in run_statuses(tmp_path, list(plan.specs))} == {"done"}


def test_the_probe_measurement_runs_in_a_child_of_its_own():
    from robustbench_ft.tools.bench.scale.probe import _measure
    chunked, whole = _measure(3000, whole=False), _measure(3000, whole=True)
    assert chunked["seconds"] > 0 and chunked["peak_gib"] > 0 and whole["peak_gib"] > 0
