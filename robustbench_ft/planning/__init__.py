"""From a request to runs: a grid or a sweep YAML becomes a Plan of specs with dependency edges
and waves (plan.py, sweep.py); estimate.py says what a plan costs before anything runs."""

from ..core.compose import canonical_method, make_spec, sibling_spec, with_eval_every
from .plan import Plan, build_plan, plan_grid

__all__ = ["Plan", "build_plan", "canonical_method", "make_spec", "plan_grid", "sibling_spec", "with_eval_every"]
