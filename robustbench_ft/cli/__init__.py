"""`robustbench-ft`: the command line, a thin face over the library (one library call per verb)."""

from .main import main

__all__ = ["main"]
