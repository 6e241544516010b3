"""Small helpers shared across modules: atomic file writes and timestamped logging."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def log(message: str) -> None:
    """Progress messages go to stderr so stdout stays clean for tables."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
