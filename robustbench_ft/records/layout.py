"""The results tree on disk: where a run's files live, what state a run folder is in, and reading
its small files with errors that name them. The only module that knows these names.

    <results>/<benchmark>/<method>/<digest>/    one run (RunFolder)
        spec.yaml      the RunSpec with its spec_version, written first
        metrics.jsonl  one JSON line per training step (runlog.py)
        resume.pt      the trainer's state while a run trains, removed when it is done (checkpoints.py)
        checkpoint.pt  the selected weights as a state_dict (checkpoints.py)
        result.json    the final record (result.py), written atomically: its presence means done
        error.json     why the last attempt failed, removed when a later attempt succeeds
        run.lock       who computes the run now (lock.py)
        tensorboard/, wandb/   live logs where `--log` asks for them (engine/loggers.py)
    <results>/_artifacts/<key>/                 zero-shot artifacts a sweep shares (engine/artifacts.py)
    <results>/_launch/                          the launchers' ledger and job logs (launch/ledger.py)
        requested.jsonl   which (benchmark, method, configuration) a run or sweep asked for (requests.py)
    <results>/_superseded/<benchmark>/<method>/<digest>/   an old folder whose migration found today's
                                                folder of the same run there already (migrate.py)

A run only ever writes inside its own folder, so a failing run cannot damage another's results.
Torch-free: the weights files are read and written by checkpoints.py beside it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..core.atomic import atomic_write_text
from ..core.config import ConfigError, benchmark_key
from .lock import RunLock, read_lock
from .result import RunResult
from .runlog import MetricsLog, MetricsReading, read_metrics

SPEC = "spec.yaml"
METRICS = "metrics.jsonl"
RESUME = "resume.pt"
CHECKPOINT = "checkpoint.pt"
RESULT = "result.json"
ERROR = "error.json"
LOCK = "run.lock"
TENSORBOARD = "tensorboard"
ARTIFACTS = "_artifacts"
LAUNCH = "_launch"
REQUESTS = "requested.jsonl"
SUPERSEDED = "_superseded"
RESERVED_PREFIX = "_"  # top-level folders that hold no benchmark's runs


class UnreadableFileError(ConfigError):
    """A file of the results tree exists but cannot be read; the message names it and says why."""

    def __init__(self, path: Path, why: str, advice: str = "") -> None:
        super().__init__(f"{path}: unreadable ({why})" + (f"; {advice}" if advice else ""))
        self.path, self.why = Path(path), why


class RunState(str, Enum):
    DONE = "done"                # result.json holds a readable record
    CORRUPT = "corrupt"          # result.json is there but cannot be read
    FAILED = "failed"            # error.json says why the last attempt failed
    RUNNING = "running"          # a live process holds run.lock
    INTERRUPTED = "interrupted"  # an attempt started (spec.yaml) and ended without a result or an error
    NEW = "new"                  # nothing was written yet


@dataclass(frozen=True)
class Inspection:
    """A run folder's state, the reason behind it, and every unreadable file met on the way."""

    state: RunState
    reason: str = ""                 # one line: a failure's reason, or the unreadable file behind the state
    problems: tuple[str, ...] = ()   # every other unreadable file met, its path in full, one line each
    result: RunResult | None = None  # the record, when the run is done


@dataclass(frozen=True)
class ErrorRecord:
    reason: str
    details: str = ""


def _why(err: Exception) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0][:300]


def _read_json(path: Path) -> Any:
    """A JSON file's content; a missing file raises FileNotFoundError, any other failure
    UnreadableFileError naming the file."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise UnreadableFileError(path, _why(err)) from err


@dataclass(frozen=True)
class RunFolder:
    """One run's folder, `<results>/<benchmark>/<method>/<digest>/`, and every file in it."""

    path: Path

    @property
    def digest(self) -> str:
        return self.path.name

    @property
    def method(self) -> str:
        return self.path.parent.name

    @property
    def benchmark(self) -> str:
        return self.path.parent.parent.name

    spec_file = property(lambda self: self.path / SPEC)
    metrics_file = property(lambda self: self.path / METRICS)
    resume_file = property(lambda self: self.path / RESUME)
    checkpoint_file = property(lambda self: self.path / CHECKPOINT)
    result_file = property(lambda self: self.path / RESULT)
    error_file = property(lambda self: self.path / ERROR)
    lock_file = property(lambda self: self.path / LOCK)
    tensorboard_dir = property(lambda self: self.path / TENSORBOARD)  # `--log tensorboard` writes its events here
    wandb_parent = property(lambda self: self.path)  # `--log wandb`: W&B makes its `wandb/` folder under this

    # --- reading -------------------------------------------------------------------------------
    def read_result(self) -> RunResult:
        """The finished record; FileNotFoundError when there is none, UnreadableFileError when it
        cannot be read or is not a result record."""
        data = _read_json(self.result_file)
        try:
            return RunResult.from_json(data)
        except (KeyError, TypeError, ValueError) as err:
            raise UnreadableFileError(self.result_file, f"not a result record: {_why(err)}") from err

    def is_done(self) -> bool:
        """True when result.json holds a readable record (a corrupt one is computed again)."""
        try:
            self.read_result()
        except (FileNotFoundError, UnreadableFileError):
            return False
        return True

    def read_error(self) -> ErrorRecord:
        data = _read_json(self.error_file)
        if not isinstance(data, dict) or not isinstance(data.get("reason"), str):
            raise UnreadableFileError(self.error_file, "not an error record (no 'reason')")
        return ErrorRecord(data["reason"], str(data.get("details", "")))

    def read_spec(self) -> dict[str, Any]:
        """spec.yaml as written (with its spec_version); UnreadableFileError when it is not a mapping."""
        try:
            data = yaml.safe_load(self.spec_file.read_bytes())
        except FileNotFoundError:
            raise
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise UnreadableFileError(self.spec_file, _why(err)) from err
        if not isinstance(data, dict):
            raise UnreadableFileError(self.spec_file, f"expected a mapping, got {type(data).__name__}")
        return data

    def read_metrics(self) -> MetricsReading:
        return read_metrics(self.metrics_file)

    def has_resume_state(self) -> bool:
        return self.resume_file.is_file()

    def inspect(self) -> Inspection:
        """The folder's state; each unreadable file met is named in `problems`, one line each."""
        problems: list[str] = []
        if self.result_file.exists():
            try:
                return Inspection(RunState.DONE, result=self.read_result())
            except UnreadableFileError as err:
                return Inspection(RunState.CORRUPT, str(err))
            except FileNotFoundError:  # removed meanwhile: judged by what else is there
                pass
        if self.error_file.exists():
            try:
                reason = self.read_error().reason
            except UnreadableFileError as err:
                reason = str(err)
            except FileNotFoundError:
                reason = "error.json removed while it was read"
            return Inspection(RunState.FAILED, (reason.splitlines() or [""])[0][:300], tuple(problems))
        lock = read_lock(self.lock_file)
        if lock.problem:
            problems.append(lock.problem)
        if lock.holder is not None:
            return Inspection(RunState.RUNNING, f"pid {lock.holder.get('pid')} on {lock.holder.get('host')}",
                              tuple(problems))
        if self.spec_file.exists() or self.resume_file.exists() or self.metrics_file.exists():
            return Inspection(RunState.INTERRUPTED, "started, neither finished nor failed", tuple(problems))
        return Inspection(RunState.NEW, "", tuple(problems))

    # --- writing -------------------------------------------------------------------------------
    def start(self, spec_record: dict[str, Any]) -> None:
        """A new attempt: spec.yaml written; a run with a resume state keeps its log and weights,
        any other starts clean (a stale log, weights or unreadable result removed)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.is_done():
            raise FileExistsError(f"{self.result_file} holds a finished record: a new attempt would erase it")
        stale = [self.error_file, self.result_file]  # a result.json here cannot be read: it is no record
        if not self.has_resume_state():
            stale += [self.metrics_file, self.checkpoint_file]
        for path in stale:
            path.unlink(missing_ok=True)
        self.write_spec(spec_record)

    def write_spec(self, spec_record: dict[str, Any]) -> None:
        atomic_write_text(self.spec_file, yaml.safe_dump(spec_record, sort_keys=True))

    def write_result(self, result: RunResult) -> None:
        """The final record, atomically; a failure recorded by an earlier attempt goes."""
        atomic_write_text(self.result_file, json.dumps(result.to_json(), indent=1) + "\n")
        self.error_file.unlink(missing_ok=True)

    def write_error(self, reason: str, details: str) -> None:
        atomic_write_text(self.error_file, json.dumps({"reason": reason, "details": details}, indent=1) + "\n")

    def finish(self) -> None:
        """A finished run keeps its selected weights only: the resume state goes."""
        self.resume_file.unlink(missing_ok=True)

    def metrics_log(self) -> MetricsLog:
        return MetricsLog(self.metrics_file)

    def lock(self) -> RunLock:
        """Held while computing the run: no second process trains it (lock.py)."""
        return RunLock(self.lock_file)


@dataclass(frozen=True)
class ResultsTree:
    """A results folder: its runs, the zero-shot artifacts it shares and the launchers' files."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def run(self, benchmark: str, method: str, digest: str) -> RunFolder:
        return RunFolder(self.root / benchmark / method / digest)

    def of(self, spec: Any) -> RunFolder:
        """The folder of a RunSpec: its benchmark's key, its method, its digest."""
        return self.run(benchmark_key(spec.benchmark), spec.method, spec.digest())

    def runs(self) -> Iterator[RunFolder]:
        """Every run folder, in name order: the third level below the root, outside `_*` folders."""
        for benchmark in _subfolders(self.root):
            if benchmark.name.startswith(RESERVED_PREFIX):
                continue
            for method in _subfolders(benchmark):
                for run in _subfolders(method):
                    yield RunFolder(run)

    def artifacts(self, key: str) -> Path:
        """The folder of one (model, weights, benchmark, templates)'s zero-shot artifacts."""
        return self.root / ARTIFACTS / key

    @property
    def launch_dir(self) -> Path:
        return self.root / LAUNCH

    @property
    def logs_dir(self) -> Path:
        return self.launch_dir / "logs"

    @property
    def requests_file(self) -> Path:
        return self.launch_dir / REQUESTS

    def superseded(self, folder: RunFolder) -> RunFolder:
        """Where a run folder goes when another folder holds the same run (kept, never reported)."""
        return RunFolder(self.root / SUPERSEDED / folder.path.relative_to(self.root))


def _subfolders(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
