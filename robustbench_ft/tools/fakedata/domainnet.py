"""DomainNet's tree: `<root>/<domain>/<class>/<file>.jpg` and the split files `<domain>_train.txt`,
`<domain>_test.txt` ('<domain>/<class>/<file>.jpg <label>' per line), for every domain the
benchmark tests on, at the cleaned version's published counts (data/domainnet.py) times the
fraction. The 345 class names are not shipped with any installed package: without `--classes
FILE` (the real folder names in label order, one per line) the classes are `class_000` ...
`class_344`. Quickdraw, which the paper's splits leave out, is left out too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.config import ConfigError
from ...data.domainnet import PUBLISHED
from .base import FAKERS, FakeOptions, FakeTree, Linker, scaled, spread

CLASSES = 345


@FAKERS.register("domainnet")
def write(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    names = options.class_names or [f"class_{i:03d}" for i in range(CLASSES)]
    if len(names) != CLASSES or len(set(names)) != CLASSES:
        raise ConfigError(f"--classes: DomainNet has {CLASSES} distinct class folder names, got {len(names)} "
                          f"({len(set(names))} distinct)")
    tree = FakeTree(root)
    if options.class_names is None:
        tree.notes.append(f"class names: class_000 ... class_{CLASSES - 1} (give --classes FILE for the real ones)")
    domains = list(dict.fromkeys([config["id_split"], *config["ood_splits"]]))
    unknown = [d for d in domains if d not in PUBLISHED]
    if unknown:
        raise ConfigError(f"{source}: no published DomainNet counts for {unknown}; known: {sorted(PUBLISHED)}")
    for domain in domains:
        for part, published in zip(("train", "test"), PUBLISHED[domain]):
            lines = []
            for label, count in enumerate(spread(scaled(published, options.fraction), CLASSES)):
                folder = root / domain / names[label]
                folder.mkdir(parents=True, exist_ok=True)
                for index in range(count):
                    relative = f"{domain}/{names[label]}/{domain}_{part}_{label:03d}_{index:06d}.jpg"
                    linker.link(domain, label, index, root / relative)
                    lines.append(f"{relative} {label}\n")
            (root / f"{domain}_{part}.txt").write_text("".join(lines))
            tree.counts[f"{domain}_{part}"] = len(lines)
    return tree
