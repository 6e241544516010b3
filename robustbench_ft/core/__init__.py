"""The torch-free bottom layer: presets and errors, hyper-parameter declarations, the run spec and
its identity, method cards and how a run's spec is composed from presets and overrides.

Nothing here imports torch or any other layer of the package (docs/architecture.md); the report,
the records layout and the planner build on it, and a results folder can be read on a laptop.
"""
