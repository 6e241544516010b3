"""`robustbench-ft bench --scale`: the harness at full size, on generated trees (`data fake`).

Each part measures what a first real sweep meets, against a stated target, and returns table
rows: the fake trees themselves (trees.py), `data check` and `run --dry-run` (commands.py), a
run's start up to its first training step and its file-system calls (startup.py), the training
input pipeline and the evaluation cache (pipeline.py), the linear probe at ImageNet's size
(probe.py), a 1,000-run sweep's bookkeeping (bookkeeping.py) and the waves on a real Slurm
(waves.py). The trees are kept in `--scale-dir` between runs (a few minutes to make).
"""

from __future__ import annotations

from pathlib import Path

PARTS = ("commands", "startup", "pipeline", "probe", "bookkeeping", "waves")


def scale_rows(folder: Path, parts: tuple[str, ...] = PARTS) -> tuple[list, list[str]]:
    """(rows, what was not measured and why)."""
    from ....core.config import ConfigError
    from . import bookkeeping, commands, pipeline, probe, startup, trees, waves
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ConfigError(f"--scale-parts: unknown {unknown}; known: {', '.join(PARTS)}")
    rows, missing = [], []
    domainnet, imagenet, made = trees.full_size_trees(Path(folder), with_imagenet="commands" in parts)
    rows += made
    measures = {"commands": lambda: commands.rows(domainnet, imagenet),
                "startup": lambda: startup.rows(domainnet),
                "pipeline": lambda: pipeline.rows(domainnet),
                "probe": probe.rows,
                "bookkeeping": lambda: bookkeeping.rows(domainnet, Path(folder)),
                "waves": waves.rows}
    for part in PARTS:
        if part not in parts:
            missing.append(f"{part} (left out with --scale-parts)")
            continue
        found, absent = measures[part]()
        rows += found
        missing += absent
    return rows, missing
