"""One computer per run: run.lock, created exclusively, kept fresh by a heartbeat while its owner lives.

The lock file holds its owner's host, pid and start time. While the owner holds it, a daemon
thread touches the file every HEARTBEAT_SECONDS, whatever the run is doing (training, a large
linear probe, TPGM, a first zero-shot pass over ImageNet), so its age says whether the owner lives.
Another process judges a lock dead, and takes it over, when its owner ran on the same host and
its pid is gone, or, on another host (where pids mean nothing), when it was not refreshed for
STALE_SECONDS. The cross-host rule relies on the hosts' clocks agreeing to within that margin.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.log import log

HEARTBEAT_SECONDS = 60.0
STALE_SECONDS = 600.0  # ten missed heartbeats: the owner on another host is dead


class RunBusyError(RuntimeError):
    """Another live process is computing this run."""


def this_host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class LockReading:
    holder: dict[str, Any] | None  # the live owner, or None (no lock, or a dead owner's)
    problem: str | None = None     # the lock file could not be read: judged by its age alone


def read_lock(path: Path) -> LockReading:
    """Who holds the lock at `path`, if a live process does. A lock whose content cannot be read
    (being written, or torn) is judged by its age alone."""
    try:
        content = path.read_bytes()
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return LockReading(None)
    except OSError as err:
        return LockReading(None, f"{path}: unreadable ({type(err).__name__}: {err}); the lock is ignored")
    try:
        held = json.loads(content.decode("utf-8"))
        if not isinstance(held, dict):
            raise ValueError(f"expected an object, got {type(held).__name__}")
        problem = None
    except ValueError as err:  # UnicodeDecodeError too
        held = {}
        why = str(err).splitlines()[0][:120] if content else "empty"
        problem = (f"{path}: unreadable ({type(err).__name__}: {why}); judged by its age "
                   f"({age:.0f} s since it was written or refreshed)")
    return LockReading(None if _stale(held, age) else held, problem)


def _stale(held: dict[str, Any], age: float) -> bool:
    if held.get("host") == this_host() and isinstance(held.get("pid"), int):
        try:
            os.kill(held["pid"], 0)  # PermissionError: alive, another user's
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    return age > STALE_SECONDS


class RunLock:
    """`with RunLock(path):` holds the run while computing it; raises RunBusyError when a live
    process holds it, and takes over the lock of a dead one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.owner = {"host": this_host(), "pid": os.getpid(), "since": time.time()}
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                reading = read_lock(self.path)
                held = reading.holder
                if held is not None:
                    who = (f"pid {held.get('pid')} on {held.get('host')}" if held else
                           "a process whose lock cannot be read yet (being written, or torn)")
                    raise RunBusyError(f"{self.path.parent} is being computed by {who}; skipped here "
                                       f"(remove {self.path} if no such process exists)") from None
                aside = self.path.with_name(f".{self.path.name}.stale.{this_host()}.{os.getpid()}")
                try:
                    os.replace(self.path, aside)
                except FileNotFoundError:
                    continue  # another taker moved it first: race for O_EXCL
                moved = read_lock(aside).holder
                if moved is not None:  # another taker's new, live lock was here by now: put it back
                    try:
                        os.link(aside, self.path)
                    except FileExistsError:
                        pass
                    aside.unlink(missing_ok=True)
                    raise RunBusyError(f"{self.path.parent} is being computed by pid {moved.get('pid')} on "
                                       f"{moved.get('host')}; skipped here") from None
                if reading.problem:
                    log(f"{reading.problem}: taken over")
                aside.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.owner))
            break
        self._heartbeat = threading.Thread(target=self._beat, name=f"heartbeat {self.path}", daemon=True)
        self._heartbeat.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                os.utime(self.path)
            except OSError:
                continue  # moved by its owner (relocate) or a passing file-system error: next beat

    def relocate(self, folder: Path) -> None:
        """The run folder was renamed (a migration) with the lock inside: follow it."""
        self.path = Path(folder) / self.path.name

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        try:
            mine = json.loads(self.path.read_text()).get("pid") == self.owner["pid"]
        except (OSError, ValueError):
            mine = False
        if mine:
            self.path.unlink(missing_ok=True)
