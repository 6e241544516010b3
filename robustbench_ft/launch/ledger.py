"""Which job was given which run: results/_launch/submissions.jsonl, one line per run submitted.

`status` joins it with the run folders and the scheduler; a relaunch reads it to leave alone the
runs whose job is still queued or running. Only the launching process appends, one whole line per
write, so the file stays readable however many launches it has seen.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.config import benchmark_key
from ..core.spec import RunSpec
from ..records.layout import ResultsTree

LEDGER = "submissions.jsonl"


@dataclass(frozen=True)
class Submission:
    run: str                # the run's digest
    benchmark: str
    method: str
    seed: int
    launcher: str           # inline | local | slurm
    job: str                # the scheduler's job id ("1234_5" for an array task), or "" inline
    log: str | None         # the job's stdout; stderr sits beside it (.err)
    submitted: float

    @classmethod
    def of(cls, spec: RunSpec, launcher: str, job: str, log: str | None) -> "Submission":
        return cls(spec.digest(), benchmark_key(spec.benchmark), spec.method, spec.seed, launcher,
                   job, log, round(time.time(), 3))


def logs_dir(results_root: Path) -> Path:
    """Where submitit keeps the jobs' stdout, stderr and pickles (records.layout names the folder)."""
    return ResultsTree(results_root).logs_dir


class Ledger:
    def __init__(self, results_root: Path) -> None:
        self.path = ResultsTree(results_root).launch_dir / LEDGER

    def append(self, submissions: list[Submission]) -> None:
        if not submissions:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write("".join(json.dumps(asdict(s)) + "\n" for s in submissions))

    def latest(self) -> dict[str, Submission]:
        """The last submission of every run (a torn last line, from a killed launcher, is ignored)."""
        if not self.path.is_file():
            return {}
        out: dict[str, Submission] = {}
        for line in self.path.read_text().splitlines():
            try:
                entry = Submission(**json.loads(line))
            except (ValueError, TypeError):
                continue
            out[entry.run] = entry
        return out
