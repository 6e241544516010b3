"""Fine-tuning methods: one small module each, registered in METHODS (see base.py)."""

from .base import METHODS, Batch, Method, RunContext, build_method

__all__ = ["METHODS", "Batch", "Method", "RunContext", "build_method"]
