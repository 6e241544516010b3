"""`list`, `data check` and the one-user tools: `pretrain-tiny`, `model-card`, `samples`, `testbed`,
`bench`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCALE_READING = """### How to read it
Every tree is made by `robustbench-ft data fake` at the published counts (DomainNet cleaned:
414,075 images over the five domains the paper uses, both parts; ImageNet: 1,429,556 over train
and the five test sets), each image a hard link to one of three generated 500 x 375 JPEGs per
class and split. What each part measures and how: robustbench_ft/tools/bench/scale/ (a module
per part, its docstring says). Targets: `data check` and `--dry-run` on DomainNet under 30 s and
2 GiB; a run's start without its model's compute under 60 s; the harness's input pipeline at
least 0.9 x a bare decode-and-transform loop; a 1,000-run sweep's planning, dry run, status and
report under 5 s each.
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("list", help="methods and benchmarks").set_defaults(func=cmd_list)

    data = sub.add_parser("data", help="check a benchmark's data layout")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="every declared file present, no stray class folder, counts")
    check.add_argument("--dataset", required=True, help="benchmark name or YAML path")
    check.add_argument("--data-root", help="where the data lives (else $ROBUSTBENCH_DATA, else the YAML)")
    check.add_argument("--deep", action="store_true", help="also decode every image")
    check.set_defaults(func=cmd_data_check)
    fake = data_sub.add_parser("fake", help="a benchmark's tree with its real layout, split files and classes, "
                                            "generated at the published counts (or a fraction), to rehearse on")
    fake.add_argument("--like", required=True, help="domainnet, imagenet, or a benchmark YAML (family folder)")
    fake.add_argument("--out", required=True, type=Path, help="the data root to write; the benchmark's folder goes "
                                                            "under it (then --data-root OUT)")
    fake.add_argument("--fraction", type=float, default=1.0, help="of the published counts (at least one image a "
                                                                  "class and split)")
    fake.add_argument("--per-class", type=int, help="folder benchmarks: images per class and split (default 20)")
    fake.add_argument("--classes", type=Path, help="class folder names in label order, one per line (DomainNet's "
                                                   "real names; default: class_000 ...)")
    fake.add_argument("--sources-per-class", type=int, default=3, help="generated JPEGs each image links to, per "
                                                                       "class and split style")
    fake.set_defaults(func=cmd_data_fake)

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

    testbed = sub.add_parser("testbed", help="train the ID-only models whose line effective robustness is "
                                             "measured from (the embedded world's testbed)")
    testbed.add_argument("--dataset", default="embedded", help="an in-memory benchmark (the embedded world)")
    testbed.add_argument("--out", type=Path, default=None, help="the testbed YAML (default: into the package, "
                                                                 "presets/testbeds/<dataset>.yaml)")
    testbed.add_argument("--from-imagenet-testbed", type=Path, metavar="DIR",
                         help="instead: ImageNet's per-shift lines from a checkout of "
                              "modestyachts/imagenet-testbed-website (its results.csv and model_types.py)")
    testbed.set_defaults(func=cmd_testbed)

    bench = sub.add_parser("bench", help="performance ratios measured in one run; rewrites docs/performance.md")
    bench.add_argument("--quick", action="store_true", help="the tiny model and reports only (no ViT-B-16, no demo)")
    bench.add_argument("--no-demo", action="store_true", help="leave out the README default's wall time and memory")
    bench.add_argument("--rounds", type=int, default=12, help="alternated rounds per ratio (ViT-B-16: a third)")
    bench.add_argument("--write", metavar="FILE", default="docs/performance.md",
                       help="the document whose section to rewrite with the table (empty: print only)")
    bench.add_argument("--scale", action="store_true", help="the full-size rehearsal on generated trees instead "
                                                            "(its own section of the document)")
    bench.add_argument("--scale-dir", type=Path, help="--scale: where the generated trees are made and kept "
                                                      "(default: a temporary folder)")
    bench.add_argument("--scale-parts", help="--scale: a comma list of its measurements (default: all of "
                                             "commands, startup, pipeline, probe, bookkeeping, waves)")
    bench.add_argument("--gpu", action="store_true", help="the GPU check on a CUDA machine instead (its own section)")
    bench.set_defaults(func=cmd_bench)


def cmd_list(args: argparse.Namespace) -> int:
    from ..core.config import preset_names
    from ..core.method_info import method_info
    from ..data.benchmark import load_benchmark
    from ..methods import METHODS, method_class

    print("methods:")
    for name in sorted(METHODS.names(), key=lambda n: method_info(n).rank):
        info, cls = method_info(name), method_class(name)
        description = info.description or (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:10s} {info.label}: {description}")
        if info.reference:
            print(f"  {'':10s} reference: {info.reference}")
        for declared in cls.hparams:
            print(f"  {'':10s} {name}.{declared.describe()}: {declared.help}")
    print("  (compose a post-hoc method onto a fine-tuned one: lipsum+wise, lpft+wise; a modifier onto a trained "
          "one: lipsum+ema, lipsum+ema+wise)")
    print("benchmarks:")
    for name in preset_names("benchmarks"):
        print(f"  {name:10s} {load_benchmark(name).describe()}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from ..data.benchmark import load_benchmark
    from ..data.file_benchmark import FileBenchmark
    benchmark = load_benchmark(args.dataset, data_root=args.data_root)
    report = benchmark.check(deep=args.deep)
    root = getattr(benchmark, "root", None) if report.usable or report.counts else None
    print(f"{benchmark.name}: data at {root}" if root else f"{benchmark.name}:")
    for split, count in report.counts.items():
        print(f"  {split:24s} {count:>9,} images")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    if report.usable and isinstance(benchmark, FileBenchmark):
        from ..core.spec import RunSpec
        from ..planning.estimate import cache_line
        model = benchmark.train_defaults.get("model", RunSpec.__dataclass_fields__["model"].default)
        print(cache_line(benchmark, model, "<results>/_artifacts") + f" ({model}: the benchmark's model)")
    print("usable" if report.usable else "NOT usable")
    return 0 if report.usable else 1


def cmd_data_fake(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError
    from ..tools.fakedata import write_fake
    from ..tools.fakedata.base import FakeOptions
    names = None
    if args.classes is not None:
        if not args.classes.is_file():
            raise ConfigError(f"--classes {args.classes} does not exist (expected class folder names, one per line)")
        names = [line.strip() for line in args.classes.read_text().splitlines() if line.strip()]
    tree = write_fake(args.like, args.out, FakeOptions(args.fraction, args.per_class, names, args.sources_per_class))
    print(f"{tree.root}: generated ({sum(tree.counts.values()):,} images linking to {tree.sources:,} new JPEGs, "
          f"{tree.seconds:.0f} s)")
    for split, count in tree.counts.items():
        print(f"  {split:24s} {count:>9,} images")
    for note in tree.notes:
        print(f"note: {note}")
    print(f"check it: robustbench-ft data check --dataset {args.like} --data-root {args.out}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from ..tools.pretrain_tiny import PretrainConfig, pretrain
    pretrain(PretrainConfig(steps=args.steps, seed=args.seed), Path(args.out) if args.out else None)
    return 0


def cmd_model_card(args: argparse.Namespace) -> int:
    from ..tools.model_card import measure_card
    card = measure_card(args.dataset, write=not args.dry_run)
    for split, acc in card["zeroshot_test_accuracy"].items():
        print(f"{split:10s} {100 * acc:5.1f}")
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from ..tools.samples import sample_grid
    print(sample_grid(Path(args.out), per_domain=args.per_domain, scale=args.scale))
    return 0


def cmd_testbed(args: argparse.Namespace) -> int:
    from ..core.config import presets_dir
    if args.from_imagenet_testbed is not None:
        from ..tools.imagenet_testbed import write_imagenet_baseline
        print(write_imagenet_baseline(args.from_imagenet_testbed, args.out or presets_dir("testbeds") / "imagenet.yaml"))
        return 0
    from ..tools.testbed import write_testbed
    out = args.out or presets_dir("testbeds") / f"{args.dataset}.yaml"
    print(write_testbed(out, dataset=args.dataset))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ..tools.bench import machine, run_bench, table
    from ..tools.bench.doc import measured, write_performance, write_section
    if args.gpu:
        import torch

        from ..core.config import ConfigError
        from ..tools.bench.gpu import gpu_rows
        if not torch.cuda.is_available():
            raise ConfigError("bench --gpu needs a CUDA device and there is none here; docs/performance.md's GPU "
                              "section says the harness has never run on one")
        text = table(gpu_rows())
        print(f"\n{machine()}\n\n{text}")
        if args.write:
            write_section(Path(args.write), "gpu", measured("GPU check", "robustbench-ft bench --gpu", machine(),
                                                           text, []))
        return 0
    if args.scale:
        import tempfile

        from ..tools.bench.scale import PARTS, scale_rows
        parts = tuple(p.strip() for p in args.scale_parts.split(",") if p.strip()) if args.scale_parts else PARTS
        with tempfile.TemporaryDirectory() as scratch:
            rows, missing = scale_rows(args.scale_dir or Path(scratch), parts)
        text = table(rows)
        print(f"\n{machine()}\n\n{text}")
        if args.write:
            command = "robustbench-ft bench --scale" + (f" --scale-parts {','.join(parts)}" if args.scale_parts else "")
            write_section(Path(args.write), "scale", measured("Full-size rehearsal on generated data", command,
                                                              machine(), text, missing, SCALE_READING))
            print(f"wrote {args.write}", file=sys.stderr)
        return 0
    rows, missing = run_bench(quick=args.quick, demo=not args.no_demo, rounds=args.rounds)
    text = table(rows)
    print(f"\n{machine()}\n\n{text}")
    if args.write:  # "" prints only
        command = ("robustbench-ft bench" + (" --quick" if args.quick else "") + (" --no-demo" if args.no_demo else "")
                   + (f" --rounds {args.rounds}" if args.rounds != 12 else ""))
        write_performance(Path(args.write), text, machine(), command, missing)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0
