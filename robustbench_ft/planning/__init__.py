"""From a request to runs: a grid or a sweep YAML becomes a Plan of specs with dependency edges
and waves (plan.py, sweep.py); estimate.py says what a plan costs before anything runs."""
