"""The records layer: the only code that knows a results folder's layout (layout.py), a run's
states, its result schema (result.py), its lock (lock.py) and its step log (runlog.py); the torch
files live in checkpoints.py, which this package does not import, so reading records needs no torch.
Migrations of folders written by older versions: migrate.py.
"""

from .layout import ErrorRecord, Inspection, ResultsTree, RunFolder, RunState, UnreadableFileError
from .lock import RunBusyError, RunLock
from .result import Evaluation, RunResult, TrainRecord
from .runlog import MetricsLog, MetricsReading

__all__ = ["ErrorRecord", "Evaluation", "Inspection", "MetricsLog", "MetricsReading", "ResultsTree", "RunBusyError",
           "RunFolder", "RunLock", "RunResult", "RunState", "TrainRecord", "UnreadableFileError"]
