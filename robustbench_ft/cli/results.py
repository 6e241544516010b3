"""`report`, `migrate` and `export`: what is done with a results folder once runs are in it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.config import ConfigError
from .flags import csv

DEFAULT_RESULTS = Path("results")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="tables and figures from a results folder")
    report.add_argument("--results", default=str(DEFAULT_RESULTS))
    report.add_argument("--out", default="report")
    report.add_argument("--format", default="md,tex,csv",
                        help="comma list of md, tex, csv (a file per table) and html (one page, figures inlined)")
    report.add_argument("--plots", action="store_true")
    report.add_argument("--screenshot", metavar="PNG", help="with --format html: a headless Chromium's picture of the page")
    report.add_argument("--alpha", type=float, default=0.5, help="WiSE alpha shown in the tables")
    report.add_argument("--rule", help="the rule that picks each method's configuration and WiSE alpha: "
                                       "best_id_val (default), oracle_id_test, oracle_ood_val, all")
    report.add_argument("--baseline", type=Path, help="effective robustness against this YAML: accuracies of "
                                                      "ID-only models (points:) or per-split lines (fits:); default: "
                                                      "the benchmark's shipped testbed, if any")
    report.add_argument("--requested-by", metavar="SOURCE", help="choose each row among the configurations this "
                                                                   "request asked for ('sweep NAME' or 'run'), not "
                                                                   "every request made into the folder")
    report.add_argument("--selection", dest="old_rule", help=argparse.SUPPRESS)  # the spelling before --rule
    report.set_defaults(func=cmd_report)

    migrate = sub.add_parser("migrate", help="rename and rewrite run folders of an older spec version")
    migrate.add_argument("--results", default=str(DEFAULT_RESULTS))
    migrate.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")
    migrate.set_defaults(func=cmd_migrate)

    export = sub.add_parser("export", help="a run's selected weights as an open_clip checkpoint, and its head")
    export.add_argument("run_dir", help="results/<benchmark>/<method>/<run>")
    export.add_argument("--out", required=True, help="checkpoint file to write (the head goes beside it)")
    export.set_defaults(func=cmd_export)


def cmd_report(args: argparse.Namespace) -> int:
    from ..report.render import write_report
    from ..report.selection import DEFAULT_SELECTION
    rule = args.rule
    if args.old_rule is not None:
        print("note: `report --selection` is now `report --rule` (it picks each method's configuration; "
              "`run --selection` picks the checkpoint a run keeps)", file=sys.stderr)
        rule = rule or args.old_rule
    formats = csv(args.format)
    if args.screenshot and "html" not in formats:
        raise ConfigError("--screenshot takes a picture of the HTML page: add html to --format")
    written = write_report(Path(args.results), Path(args.out), formats=formats, plots=args.plots, alpha=args.alpha,
                           echo=False, selection=rule or DEFAULT_SELECTION, baseline=args.baseline,
                           requested_by=args.requested_by)
    if args.screenshot:
        from ..report.browser import screenshot
        written.append(screenshot(Path(args.out) / "report.html", Path(args.screenshot)))
    print(f"wrote {len(written)} files under {args.out}:", file=sys.stderr)
    for path in written:
        print(f"  {path}", file=sys.stderr)
    for table in (p for p in written if p.name == "accuracy.md"):
        print(f"\n{table.parent.name}: accuracy (%), mean ± std over seeds\n\n{table.read_text()}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    import robustbench_ft.methods  # noqa: F401  (their declarations: what an old spec's keys mean)

    from ..records.migrate import migrate_results
    from .experiments import print_migration
    if not Path(args.results).is_dir():
        raise FileNotFoundError(f"results folder {args.results} does not exist")
    outcome = migrate_results(Path(args.results), dry_run=args.dry_run)
    print_migration(outcome, "would migrate" if args.dry_run else "migrated")
    return 1 if outcome.not_migrated else 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..tools.export import export_run
    weights, head = export_run(Path(args.run_dir), Path(args.out))
    print(f"wrote {weights} (open_clip checkpoint: tuned image tower, original text tower) and {head} (head)")
    return 0
