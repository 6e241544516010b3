"""Fine-tuning methods: one small module each, registered in METHODS (see base.py).

Importing this package registers every shipped method (catalogue.py), declaring each one's
hyper-parameters to the core as it does. A method sees its run only through the RunContext
protocol (context.py).
"""

from . import catalogue  # noqa: F401  (registers every method)
from .base import METHODS, Batch, Method, build_method, method_class
from .context import RunContext

__all__ = ["METHODS", "Batch", "Method", "RunContext", "build_method", "method_class"]
