"""Timestamped progress lines on stderr, so stdout stays clean for tables."""

from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    """Progress messages go to stderr so stdout stays clean for tables."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
