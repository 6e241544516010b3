"""`robustbench-ft`: a thin face over the library, one call per verb.

    run            plan methods x seeds on a benchmark, launch them, print the table
    sweep          plan and launch a sweep YAML (inline, local processes or Slurm job arrays)
    status         where each run of a sweep stands, with the scheduler's job states
    list           methods (labels, references, hyper-parameters) and benchmarks
    report         tables (md, tex, csv) and figures from a results folder
    migrate        rename and rewrite run folders of an older spec version
    data check     a benchmark's data layout: files present, no stray folders, counts
    export         a run's weights as an open_clip checkpoint (and its classifier head)
    pretrain-tiny  re-create the shipped tiny CLIP
    model-card     measure the tiny CLIP's zero-shot accuracy and write its card numbers
    samples        a grid of sample images per domain of the embedded world
    bench          performance ratios in one run, written to docs/performance.md
"""

from __future__ import annotations

import argparse
import sys

from ..core.config import ConfigError
from ..core.errors import ModelLoadError
from ..core.registry import UnknownNameError
from . import experiments, results, tools


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robustbench-ft", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for verbs in (experiments, results, tools):
        verbs.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UnknownNameError, ModelLoadError, FileNotFoundError) as err:
        print(f"robustbench-ft: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
