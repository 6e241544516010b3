"""`run`, `sweep` and `status`: plan runs, check what they need, launch them, say where they stand."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.compose import with_eval_every
from ..core.config import ConfigError, benchmark_budget
from ..core.method_info import train_keys
from ..core.spec import RunSpec
from ..launch.options import LaunchOptions
from .flags import add_field_flags, csv, field_values, hparam_settings, key_values, seeds

if TYPE_CHECKING:
    from ..planning import Plan

# The verbs import the planner, launchers and engine when they run: building the parser (and any
# other verb, `report` say) does not import torch.

DEFAULT_RESULTS = Path("results")
SPEC_FLAGS = train_keys()  # every RunSpec field but benchmark, method, seed and hparams
LAUNCH_FLAGS = [f.name for f in fields(LaunchOptions) if f.name != "sbatch"]  # --sbatch: KEY=VALUE pairs
LAUNCH = "launch_"  # the launch flags' namespace (LaunchOptions.workers is not RunSpec.workers)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run methods x seeds on a benchmark and print the table")
    run.add_argument("--methods", default="zeroshot,ft,lpft,lipsum,wise")
    run.add_argument("--dataset", default="embedded", help="benchmark name or YAML path")
    run.add_argument("--seeds", default="0")
    add_field_flags(run.add_argument_group("run settings (RunSpec fields; default: the presets')"), RunSpec,
                    SPEC_FLAGS)
    run.add_argument("--set", action="append", metavar="METHOD.KEY=VALUE",
                     help="a method hyper-parameter, e.g. --set lipsum.lam=2 (repeatable; see `list`)")
    run.add_argument("--dry-run", action="store_true", help="print the planned runs and their cost, run nothing")
    run.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    _add_launch_flags(run)
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser("sweep", help="plan and launch a sweep YAML (benchmarks x methods x seeds x grid)")
    sweep.add_argument("file", help="sweep YAML (examples under sweeps/)")
    sweep.add_argument("--data-root", help="where the benchmarks' data lives (else $ROBUSTBENCH_DATA, else their YAML)")
    sweep.add_argument("--dry-run", action="store_true", help="print the planned runs, their cost and waves")
    sweep.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    _add_launch_flags(sweep)
    sweep.set_defaults(func=cmd_sweep)

    status = sub.add_parser("status", help="each run: done, running, pending, failed (why, log) or not submitted")
    status.add_argument("sweep", nargs="?", help="a sweep YAML: list its runs, submitted or not")
    status.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    status.add_argument("--data-root", help="as given to the sweep")
    status.set_defaults(func=cmd_status)


def _add_launch_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("launching (LaunchOptions fields; see docs/clusters.md)")
    add_field_flags(group, LaunchOptions, LAUNCH_FLAGS, prefix=LAUNCH)
    group.add_argument("--sbatch", action="append", metavar="KEY=VALUE",
                       help="slurm: any other sbatch option (repeatable)")


def cmd_run(args: argparse.Namespace) -> int:
    from ..planning import plan_grid
    options = _launch_options(args, {})
    overrides = _spec_overrides(args)
    plan = plan_grid(csv(args.methods), seeds(args.seeds), args.dataset, benchmark_budget(args.dataset), overrides)
    return _dry_run_or_launch(args, plan, options, f"robustbench-ft status --results {args.results}")


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..planning.sweep import load_sweep
    sweep = load_sweep(args.file)
    options = _launch_options(args, sweep.launcher, where=f"{args.file}: launcher")
    plan = sweep.plan(args.data_root)
    return _dry_run_or_launch(args, plan, options, f"robustbench-ft status {args.file} --results {args.results}",
                              source=f"sweep {sweep.name}")


def cmd_status(args: argparse.Namespace) -> int:
    from ..launch.status import format_statuses, run_statuses
    from ..planning.sweep import load_sweep
    specs = None
    if args.sweep:
        specs = list(load_sweep(args.sweep).plan(args.data_root).specs)
    elif not Path(args.results).is_dir():
        raise FileNotFoundError(f"results folder {args.results} does not exist")
    statuses = run_statuses(Path(args.results), specs)
    for problem in sorted({p for s in statuses for p in s.problems}):
        print(problem, file=sys.stderr)
    print(format_statuses(statuses))
    return 1 if any(s.state in ("failed", "interrupted", "corrupt") for s in statuses) else 0


def _dry_run_or_launch(args: argparse.Namespace, plan: Plan, options: LaunchOptions, follow: str,
                       source: str = "run") -> int:
    from ..engine.preflight import check_runnable
    check_runnable(plan.specs)  # data, model names, loggers: one line now, not a failure in every run
    if args.dry_run:
        from ..planning.estimate import describe_plan
        print(describe_plan(plan, Path(args.results)))
        return 0
    from ..launch.session import launch_plan
    migration, launched = launch_plan(plan, options, Path(args.results), source)
    print_migration(migration)
    jobs = len({s.job for s in launched.submitted})
    where = "run here" if options.launcher == "inline" else f"submitted ({options.launcher}, {jobs} jobs)"
    print(f"{len(plan)} runs: {launched.already_done} done already, {len(launched.still_queued)} still queued, "
          f"{len(launched.submitted)} {where}", file=sys.stderr)
    if not launched.launcher.blocks and not options.wait:
        print(f"follow the sweep with: {follow}\nresubmit what failed or is missing by running the same "
              f"command again; tables: robustbench-ft report --results {args.results}", file=sys.stderr)
        return 0
    launched.launcher.wait(launched.submitted)
    _print_table(plan, Path(args.results))
    from ..launch.status import run_statuses
    failed = [s for s in run_statuses(Path(args.results), list(plan.specs)) if s.state != "done"]
    for s in failed:
        print(f"{s.state.upper()} {s.method} seed {s.seed} ({s.run}): {s.reason}"
              + (f" (log: {s.log})" if s.log else ""), file=sys.stderr)
    return 1 if failed else 0


def print_migration(migration, verb: str = "migrated") -> None:
    from ..core.identity import SPEC_VERSION
    for old, new in migration.moved:
        print(f"{verb} {old} -> {new.name}", file=sys.stderr)
    for folder, why in migration.not_migrated:
        print(f"not migrated {folder}: {why}", file=sys.stderr)
    for folder, aside, same in migration.superseded:
        print(f"superseded {folder}: the same run as {same}; kept at {aside}", file=sys.stderr)
    if migration.moved:
        print(f"{verb} {len(migration.moved)} run folders to spec version {SPEC_VERSION}", file=sys.stderr)


def _print_table(plan: Plan, results: Path) -> None:
    from ..records.layout import ResultsTree
    from ..report.collect import frame_from_results
    from ..report.tables import build_table, to_markdown
    tree = ResultsTree(results)
    done = [seen.result for seen in (tree.of(s).inspect() for s in plan.specs) if seen.result is not None]
    frame = frame_from_results(done, {(s.method, s.config_digest(), s.seed) for s in plan.requested_specs()})
    for benchmark in sorted(frame["benchmark"].unique()) if len(frame) else []:
        part = frame[frame["benchmark"] == benchmark]
        run_seeds = sorted(int(x) for x in part.loc[part["requested"].astype(bool), "seed"].unique())
        print(f"\n{benchmark}: accuracy (%), mean ± std over seeds {run_seeds}\n")
        print(to_markdown(build_table(part, ["acc"])))


def _launch_options(args: argparse.Namespace, block: dict, where: str = "launcher") -> LaunchOptions:
    """The YAML `launcher:` block, then the flags on top."""
    options = LaunchOptions().updated(block, where)
    flags = field_values(args, LAUNCH_FLAGS, prefix=LAUNCH)
    if flags.get("wait") is False:
        flags.pop("wait")  # --no-wait: the default
    if args.sbatch:
        flags["sbatch"] = {**options.sbatch, **key_values(args.sbatch, "--sbatch")}
    options = options.updated(flags, "flags")
    from ..launch import LAUNCHERS
    LAUNCHERS.get(options.launcher)  # an unknown launcher is one line listing the known ones
    return options


def _spec_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The spec fields that `run`'s flags set, on top of the benchmark's and methods' presets."""
    overrides: dict[str, object] = field_values(args, SPEC_FLAGS)
    if args.model and args.pretrained is None:
        raise ConfigError("--model needs --pretrained: an open_clip tag, a local weights file, "
                          "or 'none' for random initialisation")
    overrides = with_eval_every(overrides)
    if args.set:
        overrides["hparams"] = hparam_settings(args.set)
    return overrides
