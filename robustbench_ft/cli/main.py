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
from pathlib import Path

from ..core.config import ConfigError
from ..core.errors import ModelLoadError
from ..core.registry import UnknownNameError

DEFAULT_RESULTS = Path("results")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _hparam_settings(settings: list[str]) -> dict[str, dict[str, object]]:
    """['lipsum.lam=2', 'wise.alphas=[0, 1]'] -> {'lipsum': {'lam': 2}, 'wise': {'alphas': [0, 1]}}."""
    import yaml
    out: dict[str, dict[str, object]] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        part, dot, name = key.strip().partition(".")
        if not (sep and dot and part and name):
            raise ConfigError(f"--set expects METHOD.KEY=VALUE (e.g. lipsum.lam=2), got {setting!r}")
        try:
            out.setdefault(part, {})[name] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {setting!r}: the value is not valid YAML ({err})") from err
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from ..data.benchmark import load_benchmark
    from ..planning.plan import plan_grid

    bench = load_benchmark(args.dataset, data_root=args.data_root, workers=args.workers, templates=args.templates)
    bench.check_available()  # missing data fails here, in seconds, before any model loads
    options = _launch_options(args, {})
    if not args.dry_run:
        _migrate(args.results)
    plan = plan_grid(_csv(args.methods), _seeds(args.seeds), args.dataset, bench.train_defaults,
                     _run_overrides(args))
    _check_models(plan)
    if args.dry_run:
        from ..planning.estimate import print_plan
        print_plan(list(plan.specs), bench, args.results)
        _print_waves(plan, Path(args.results))
        return 0
    return _launch(plan, options, args.results, f"robustbench-ft status --results {args.results}")


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..data.benchmark import load_benchmark
    from ..planning.sweep import load_sweep

    sweep = load_sweep(args.file)
    options = _launch_options(args, sweep.launcher, where=f"{args.file}: launcher")
    for name in sweep.benchmarks:
        load_benchmark(name, data_root=args.data_root).check_available()
    plan = sweep.plan(args.data_root)
    _check_models(plan)
    if args.dry_run:
        from ..planning.estimate import print_plan
        for name in sweep.benchmarks:
            specs = [s for s in plan.specs if s.benchmark == name]
            print(f"\n{name}: {len(specs)} runs")
            print_plan(specs, load_benchmark(name, data_root=args.data_root), args.results)
        _print_waves(plan, Path(args.results))
        return 0
    _migrate(args.results)
    return _launch(plan, options, args.results, f"robustbench-ft status {args.file} --results {args.results}")


def cmd_status(args: argparse.Namespace) -> int:
    from ..launch.status import format_statuses, run_statuses
    specs = None
    if args.sweep:
        from ..planning.sweep import load_sweep
        specs = list(load_sweep(args.sweep).plan(args.data_root).specs)
    elif not Path(args.results).is_dir():
        raise FileNotFoundError(f"results folder {args.results} does not exist")
    statuses = run_statuses(Path(args.results), specs)
    print(format_statuses(statuses))
    return 1 if any(s.state in ("failed", "interrupted") for s in statuses) else 0


def _check_models(plan) -> None:
    from ..models.loading import check_model_name
    for model in {spec.model for spec in plan.specs}:
        check_model_name(model)  # a typo fails now, not in every run


def _print_waves(plan, results: Path) -> None:
    """The stages a launcher submits in order, and how many of each are still to do."""
    from ..records import legacy as records
    for index, wave in enumerate(plan.waves()):
        todo = sum(not records.is_done(results, s) for s in wave)
        print(f"wave {index}: {len(wave)} runs, {todo} to do ({', '.join(sorted({s.method for s in wave}))})")


def _launch(plan, options, results: Path, follow: str) -> int:
    """Launch `plan`; when the launcher blocks or --wait, print the table and the failures."""
    from ..launch import launch
    from ..launch.status import run_statuses
    launched = launch(plan, options, Path(results))
    jobs = len({s.job for s in launched.submitted})
    where = "run here" if options.launcher == "inline" else f"submitted ({options.launcher}, {jobs} jobs)"
    print(f"{len(plan)} runs: {launched.already_done} done already, {len(launched.still_queued)} still queued, "
          f"{len(launched.submitted)} {where}", file=sys.stderr)
    if not launched.launcher.blocks and not options.wait:
        print(f"follow the sweep with: {follow}\nresubmit what failed or is missing by running the same "
              f"command again; tables: robustbench-ft report --results {results}", file=sys.stderr)
        return 0
    launched.launcher.wait(launched.submitted)
    _print_table(plan, Path(results))
    statuses = run_statuses(Path(results), list(plan.specs))
    failed = [s for s in statuses if s.state != "done"]
    for s in failed:
        print(f"{s.state.upper()} {s.method} seed {s.seed} ({s.run}): {s.reason}"
              + (f" (log: {s.log})" if s.log else ""), file=sys.stderr)
    return 1 if failed else 0


def _print_table(plan, results: Path) -> None:
    from ..records import legacy as records
    from ..report.collect import frame_from_results
    from ..report.tables import build_table, to_markdown
    done = [records.read_result(results, s) for s in plan.specs if records.is_done(results, s)]
    frame = frame_from_results(done)
    for benchmark in sorted(frame["benchmark"].unique()) if len(frame) else []:
        part = frame[frame["benchmark"] == benchmark]
        seeds = sorted(int(x) for x in part["seed"].unique())
        print(f"\n{benchmark}: accuracy (%), mean ± std over seeds {seeds}\n")
        print(to_markdown(build_table(part, ["acc"])))


def _launch_options(args: argparse.Namespace, block: dict, where: str = "launcher"):
    """The YAML `launcher:` block, then the flags on top."""
    from ..launch import LaunchOptions
    options = LaunchOptions().updated(block, where)
    flags = {"launcher": args.launcher, "wait": True if args.wait else None, "runs_per_job": args.runs_per_job,
             "workers": args.local_jobs, "gpus_per_job": args.gpus_per_job, "tasks_per_job": args.tasks_per_job,
             "time": args.time, "max_requeues": args.max_requeues, "partition": args.partition,
             "account": args.account, "qos": args.qos, "cpus_per_task": args.cpus_per_task, "mem_gb": args.mem_gb,
             "array_parallelism": args.array_parallelism, "constraint": args.constraint}
    if args.sbatch:
        flags["sbatch"] = {**options.sbatch, **_key_values(args.sbatch, "--sbatch")}
    return options.updated(flags, "flags")


def _key_values(settings: list[str], flag: str) -> dict[str, str]:
    out = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE (e.g. exclusive= or mail-type=END), got {setting!r}")
        out[key.strip()] = value
    return out


def _add_launch_flags(parser: argparse.ArgumentParser) -> None:
    from ..launch import LAUNCHERS
    group = parser.add_argument_group("launching (see docs/clusters.md)")
    group.add_argument("--launcher", choices=LAUNCHERS.names(), help="where runs execute (default: inline)")
    group.add_argument("--wait", action="store_true", help="slurm: block until the sweep ends, then print the table")
    group.add_argument("--runs-per-job", type=int, help="runs packed into one job (short runs)")
    group.add_argument("--local-jobs", type=int, help="local: jobs at once (default 2)")
    group.add_argument("--gpus-per-job", type=int, help="GPUs per job; DDP over them when more than 1")
    group.add_argument("--tasks-per-job", type=int, help="processes per job (default: the GPUs, at least 1)")
    group.add_argument("--time", type=int, help="slurm: minutes per job before it checkpoints and requeues (default 60)")
    group.add_argument("--max-requeues", type=int, help="slurm: time-outs a job may requeue after (default 20)")
    group.add_argument("--partition")
    group.add_argument("--account")
    group.add_argument("--qos")
    group.add_argument("--cpus-per-task", type=int)
    group.add_argument("--mem-gb", type=float)
    group.add_argument("--array-parallelism", type=int, help="array tasks running at once")
    group.add_argument("--constraint")
    group.add_argument("--sbatch", action="append", metavar="KEY=VALUE", help="any other sbatch option (repeatable)")


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in _csv(text)]
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds expects distinct integers, got {text!r}")
    return seeds


def _run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The spec fields that `run`'s flags set, on top of the benchmark's and methods' presets."""
    from ..planning.plan import with_eval_every
    flags = {"steps": args.steps, "lr": args.lr, "weight_decay": args.weight_decay, "batch_size": args.batch_size,
             "eval_every": args.eval_every,
             "model": args.model, "pretrained": args.pretrained, "templates": args.templates,
             "data_root": args.data_root, "workers": args.workers, "selection": args.selection,
             "checkpoint_every": args.checkpoint_every, "log": args.log, "compile": args.compile or None}
    overrides: dict[str, object] = {k: v for k, v in flags.items() if v is not None}
    if args.model and args.pretrained is None:
        raise ConfigError("--model needs --pretrained: an open_clip tag, a local weights file, "
                          "or 'none' for random initialisation")
    if str(overrides.get("pretrained", "")).lower() == "none":
        overrides["pretrained"] = None
    overrides = with_eval_every(overrides)
    if args.set:
        overrides["hparams"] = _hparam_settings(args.set)
    return overrides


def _migrate(results: Path, dry_run: bool = False) -> int:
    """Bring older run folders under `results` to today's spec version; says what it did."""
    from ..core.identity import SPEC_VERSION
    from ..records.migrate import migrate_results
    if not Path(results).is_dir():
        return 0
    outcome = migrate_results(Path(results), dry_run=dry_run)
    verb = "would migrate" if dry_run else "migrated"
    for old, new in outcome.moved:
        print(f"{verb} {old} -> {new.name}", file=sys.stderr)
    for folder, why in outcome.not_migrated:
        print(f"not migrated {folder}: {why}", file=sys.stderr)
    if outcome.moved:
        print(f"{verb} {len(outcome.moved)} run folders to spec version {SPEC_VERSION}", file=sys.stderr)
    return 1 if outcome.not_migrated else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    if not Path(args.results).is_dir():
        raise FileNotFoundError(f"results folder {args.results} does not exist")
    return _migrate(args.results, args.dry_run)


def cmd_data_check(args: argparse.Namespace) -> int:
    from ..data.benchmark import load_benchmark
    bench = load_benchmark(args.dataset, data_root=args.data_root)
    report = bench.check(deep=args.deep)
    root = getattr(bench, "root", None) if report.usable or report.counts else None
    print(f"{bench.name}: data at {root}" if root else f"{bench.name}:")
    for split, count in report.counts.items():
        print(f"  {split:24s} {count:>9,} images")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print("usable" if report.usable else "NOT usable")
    return 0 if report.usable else 1


def cmd_export(args: argparse.Namespace) -> int:
    from ..tools.export import export_run
    weights, head = export_run(Path(args.run_dir), Path(args.out))
    print(f"wrote {weights} (open_clip checkpoint: tuned image tower, original text tower) and {head} (head)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ..core.config import preset_names
    from ..core.method_info import method_info
    from ..methods import catalogue  # noqa: F401  (registers every method)
    from ..methods.base import METHODS, method_class

    print("methods:")
    for name in sorted(METHODS.names(), key=lambda n: method_info(n).rank):
        info, cls = method_info(name), method_class(name)
        description = info.description or (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:10s} {info.label}: {description}")
        if info.reference:
            print(f"  {'':10s} reference: {info.reference}")
        for declared in cls.hparams:
            print(f"  {'':10s} {name}.{declared.describe()}: {declared.help}")
    print("  (compose a post-hoc method onto a fine-tuned one: lipsum+wise, lpft+wise)")
    print("benchmarks:")
    from ..data.benchmark import load_benchmark
    for name in preset_names("benchmarks"):
        b = load_benchmark(name)
        print(f"  {name:10s} {b.describe()}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from ..tools.pretrain_tiny import PretrainConfig, pretrain
    config = PretrainConfig(steps=args.steps, seed=args.seed)
    pretrain(config, Path(args.out) if args.out else None)
    return 0


def cmd_model_card(args: argparse.Namespace) -> int:
    from ..tools.model_card import measure_card
    card = measure_card(args.dataset, write=not args.dry_run)
    for split, acc in card["zeroshot_test_accuracy"].items():
        print(f"{split:10s} {100 * acc:5.1f}")
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from ..tools.samples import sample_grid
    path = sample_grid(Path(args.out), per_domain=args.per_domain, scale=args.scale)
    print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..report.render import write_report
    formats = _csv(args.format)
    if args.screenshot and "html" not in formats:
        raise ConfigError("--screenshot takes a picture of the HTML page: add html to --format")
    written = write_report(Path(args.results), Path(args.out), formats=formats,
                           plots=args.plots, alpha=args.alpha, echo=False, selection=args.selection)
    if args.screenshot:
        from ..report.browser import screenshot
        written.append(screenshot(Path(args.out) / "report.html", Path(args.screenshot)))
    print(f"wrote {len(written)} files under {args.out}:", file=sys.stderr)
    for path in written:
        print(f"  {path}", file=sys.stderr)
    for table in (p for p in written if p.name == "accuracy.md"):
        print(f"\n{table.parent.name}: accuracy (%), mean ± std over seeds\n\n{table.read_text()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ..tools.bench import machine, run_bench, table
    from ..tools.bench.doc import write_performance
    rows, missing = run_bench(quick=args.quick, demo=not args.no_demo, rounds=args.rounds)
    text = table(rows)
    print(f"\n{machine()}\n\n{text}")
    if args.write:  # "" prints only
        command = ("robustbench-ft bench" + (" --quick" if args.quick else "") + (" --no-demo" if args.no_demo else "")
                   + (f" --rounds {args.rounds}" if args.rounds != 12 else ""))
        write_performance(Path(args.write), text, machine(), command, missing)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robustbench-ft", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run methods x seeds on a benchmark and print the table")
    run.add_argument("--methods", default="zeroshot,ft,lpft,lipsum,wise")
    run.add_argument("--dataset", default="embedded", help="benchmark name or YAML path")
    run.add_argument("--seeds", default="0")
    run.add_argument("--steps", type=int)
    run.add_argument("--lr", type=float)
    run.add_argument("--weight-decay", type=float,
                     help="AdamW weight decay (presets: 0.1; the Lipsum-FT code's default is 0)")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--eval-every", type=int)
    run.add_argument("--model", help="open_clip model name (default: the benchmark's / tiny-clip)")
    run.add_argument("--pretrained", help="tag or local weights file for --model ('none': random init)")
    run.add_argument("--templates", help="prompt templates: openai, simple or a file (default: the benchmark's)")
    run.add_argument("--data-root", help="where the benchmark's data lives (else $ROBUSTBENCH_DATA, else its YAML)")
    run.add_argument("--workers", type=int, help="DataLoader processes per run (default: CPUs - 1, at most 8)")
    run.add_argument("--selection", choices=["best_id_val", "id_test", "last"],
                     help="which checkpoint a run keeps (id_test: the paper code's oracle, marked in reports)")
    run.add_argument("--compile", action="store_true", help="torch.compile the trained model (GPU speed; "
                     "not part of a run's identity)")
    run.add_argument("--log", metavar="NAMES", help="live training logs beside metrics.jsonl: tensorboard, "
                     "wandb (offline unless WANDB_MODE says otherwise), comma-separated; optional packages")
    run.add_argument("--checkpoint-every", type=int,
                     help="save the resume state every N steps (default: at each evaluation and every 10 min)")
    run.add_argument("--dry-run", action="store_true", help="print the planned runs and their cost, run nothing")
    run.add_argument("--set", action="append", metavar="METHOD.KEY=VALUE",
                     help="a method hyper-parameter, e.g. --set lipsum.lam=2 (repeatable; see `list`)")
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
    stat = sub.add_parser("status", help="each run: done, running, pending, failed (why, log) or not submitted")
    stat.add_argument("sweep", nargs="?", help="a sweep YAML: list its runs, submitted or not")
    stat.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    stat.add_argument("--data-root", help="as given to the sweep")
    stat.set_defaults(func=cmd_status)
    sub.add_parser("list", help="methods and benchmarks").set_defaults(func=cmd_list)
    rep = sub.add_parser("report", help="tables and figures from a results folder")
    rep.add_argument("--results", default=str(DEFAULT_RESULTS))
    rep.add_argument("--out", default="report")
    rep.add_argument("--format", default="md,tex,csv",
                     help="comma list of md, tex, csv (a file per table) and html (one page, figures inlined)")
    rep.add_argument("--plots", action="store_true")
    rep.add_argument("--screenshot", metavar="PNG", help="with --format html: a headless Chromium's picture of the page")
    rep.add_argument("--alpha", type=float, default=0.5, help="WiSE alpha shown in the tables")
    rep.add_argument("--selection", default="best_id_val",
                     help="model selection rule: best_id_val (default), oracle_id_test, all")
    rep.set_defaults(func=cmd_report)
    data = sub.add_parser("data", help="check a benchmark's data layout")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="every declared file present, no stray class folder, counts")
    check.add_argument("--dataset", required=True, help="benchmark name or YAML path")
    check.add_argument("--data-root", help="where the data lives (else $ROBUSTBENCH_DATA, else the YAML)")
    check.add_argument("--deep", action="store_true", help="also decode every image")
    check.set_defaults(func=cmd_data_check)
    export = sub.add_parser("export", help="a run's selected weights as an open_clip checkpoint, and its head")
    export.add_argument("run_dir", help="results/<benchmark>/<method>/<run>")
    export.add_argument("--out", required=True, help="checkpoint file to write (the head goes beside it)")
    export.set_defaults(func=cmd_export)
    mig = sub.add_parser("migrate", help="rename and rewrite run folders of an older spec version")
    mig.add_argument("--results", default=str(DEFAULT_RESULTS))
    mig.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")
    mig.set_defaults(func=cmd_migrate)
    pre = sub.add_parser("pretrain-tiny", help="re-create the shipped tiny CLIP")
    pre.add_argument("--steps", type=int, default=4000)
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--out", help="folder for the weights (default: into the package)")
    pre.set_defaults(func=cmd_pretrain)
    card = sub.add_parser("model-card", help="zero-shot accuracy of the tiny CLIP per domain")
    card.add_argument("--dataset", default="embedded")
    card.add_argument("--dry-run", action="store_true", help="print, do not write the card file")
    card.set_defaults(func=cmd_model_card)
    samples = sub.add_parser("samples", help="sample image grid of the embedded world")
    samples.add_argument("--out", default="docs/samples.png")
    samples.add_argument("--per-domain", type=int, default=12)
    samples.add_argument("--scale", type=int, default=3)
    samples.set_defaults(func=cmd_samples)
    bench = sub.add_parser("bench", help="performance ratios measured in one run; rewrites docs/performance.md")
    bench.add_argument("--quick", action="store_true", help="the tiny model and reports only (no ViT-B-16, no demo)")
    bench.add_argument("--no-demo", action="store_true", help="leave out the README default's wall time and memory")
    bench.add_argument("--rounds", type=int, default=12, help="alternated rounds per ratio (ViT-B-16: a third)")
    bench.add_argument("--write", metavar="FILE", default="docs/performance.md",
                       help="the document to rewrite with the table (empty: print only)")
    bench.set_defaults(func=cmd_bench)
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
