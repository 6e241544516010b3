"""Shared fixtures: a miniature copy of the embedded benchmark so trainer tests take seconds; a
passed test's temporary folder is removed at once, so the suite's disk use stays that of its
largest test (checkpoints of real architectures are hundreds of MB), not the sum of all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("ROBUSTBENCH_FT_PROGRESS", "0")
# torch.compile's kernel cache would otherwise collect in the machine's /tmp run after run
_INDUCTOR_CACHE = None if "TORCHINDUCTOR_CACHE_DIR" in os.environ else \
    Path(os.environ.get("TMPDIR", "/tmp")) / f"robustbench-ft-inductor-{os.getpid()}"
if _INDUCTOR_CACHE is not None:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(_INDUCTOR_CACHE)
# ... but its precompiled headers (~300 MB) go to <tmp>/torchinductor_<user>/ whatever that says:
# removed at the end when this run created them
try:
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    _HEADERS = Path(default_cache_dir()) / "precompiled_headers"
except ImportError:  # a torch that keeps them elsewhere
    _HEADERS = None
_HEADERS_WERE_THERE = _HEADERS is None or _HEADERS.exists()

from robustbench_ft.core.config import presets_dir  # noqa: E402


@pytest.fixture(scope="session")
def mini_benchmark(tmp_path_factory) -> str:
    """embedded.yaml with 2-4 images per class: a YAML path usable wherever a name is."""
    config = yaml.safe_load((presets_dir("benchmarks") / "embedded.yaml").read_text())
    config["name"] = "mini"
    config["per_class"] = {"train": 4, "val": 2, "test": 2}
    config["train"] = {"steps": 4, "batch_size": 16, "lr": 3e-4, "weight_decay": 0.1, "eval_every": 2}
    path = Path(tmp_path_factory.mktemp("benchmark")) / "mini.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture()
def fixture_results(tmp_path) -> Path:
    """A results folder of fixed records (fake_records.write_fixture_runs)."""
    from fake_records import write_fixture_runs
    write_fixture_runs(tmp_path / "results")
    return tmp_path / "results"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"outcome_{report.when}", report.outcome)
    return report


@pytest.fixture(autouse=True)
def _free_the_disk_after_a_pass(request):
    """Delete the test's tmp_path when it passed (failed tests keep theirs for a look)."""
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if folder is not None and getattr(request.node, "outcome_call", None) == "passed":
        shutil.rmtree(folder, ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):
    if _INDUCTOR_CACHE is not None:
        shutil.rmtree(_INDUCTOR_CACHE, ignore_errors=True)
    if not _HEADERS_WERE_THERE:
        shutil.rmtree(_HEADERS, ignore_errors=True)
