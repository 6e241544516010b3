"""WILDS trees in their release layouts: iWildCam v2.0 and FMoW v1.1 (data/wilds.py reads them).

Each split has the published count times the fraction (or `per_class` images a class), classes
spread evenly. The metadata has every column WILDS' own dataset classes read, so `wilds` itself
loads a generated tree (tests/test_wilds.py checks the harness's splits against it):
- iWildCam: metadata.csv (split, filename, y, location_remapped, sequence_remapped, datetime),
  categories.csv (y, category_id, name: `class_000` ..., the real names are not installed with any
  package), images under train/; ID splits and OOD splits come from different camera locations.
- FMoW: rgb_metadata.csv (split, category, country_code, timestamp), country_code_mapping.csv
  (alpha-3, region), images/rgb_img_<row>.png; rows are dated so WILDS' time split puts them in
  their split, with a few rows that belong to no split (release 'seq' rows, and train rows of the
  OOD years) between them, so a reader that numbers images by split position instead of metadata
  row reads the wrong files; one country the mapping lacks makes the 'Other' region.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ...data.wilds import FMOW_CATEGORIES, SPLITS, FMoW, IWildCam
from .base import FAKERS, FakeOptions, FakeTree, Linker, scaled, spread

RELEASE = "RELEASE_v{}.txt"
ID_SPLITS = ("train", "id_val", "id_test")
# (country, region); the last country is missing from the mapping: WILDS calls its region 'Other'
COUNTRIES = (("USA", "Americas"), ("FRA", "Europe"), ("CHN", "Asia"), ("NGA", "Africa"), ("AUS", "Oceania"),
             ("XKX", None))
# two years per split, both inside its window of WILDS' time split
YEARS = {"train": (2009, 2010), "id_val": (2010, 2011), "id_test": (2011, 2012), "ood_val": (2013, 2015),
         "ood_test": (2016, 2017)}


def _counts(split: str, published: dict[str, int], classes: int, options: FakeOptions) -> list[int]:
    if options.per_class:
        return [options.per_class] * classes
    return spread(scaled(published[split], options.fraction), classes)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@FAKERS.register("iwildcam")
def write_iwildcam(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    tree = FakeTree(root)
    classes = IWildCam.class_count
    (root / "train").mkdir(parents=True, exist_ok=True)
    rows = []
    for split in SPLITS:
        locations = range(10) if split in ID_SPLITS else range(10, 20)
        counts = _counts(split, IWildCam.published, classes, options)
        for label, count in enumerate(counts):
            for i in range(count):
                name = f"{split}_{label:03d}_{i:06d}.jpg"
                linker.link("camera-id" if split in ID_SPLITS else f"camera-{split}", label, i, root / "train" / name)
                rows.append([SPLITS[split], name, label, locations[(label + i) % len(locations)], len(rows),
                             f"2013-06-{1 + i % 28:02d} 12:00:00.000"])
        tree.counts[split] = sum(counts)
    _write_csv(root / "metadata.csv", ["split", "filename", "y", "location_remapped", "sequence_remapped", "datetime"],
               rows)
    _write_csv(root / "categories.csv", ["y", "category_id", "name"],
               [[y, y, f"class_{y:03d}"] for y in range(classes)])
    (root / RELEASE.format(IWildCam.version)).write_text("generated\n")
    tree.notes.append("class names: class_000 ... class_181 (the real names come with the release's categories.csv)")
    return tree


@FAKERS.register("fmow")
def write_fmow(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    tree = FakeTree(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows: list[list[Any]] = []

    def add(release_split: str, label: int, year: int, country: str, style: str | None, index: int) -> None:
        if style is not None:
            linker.link(style, label, index, root / "images" / f"rgb_img_{len(rows)}.png")
        rows.append([release_split, FMOW_CATEGORIES[label], country, f"{year}-03-{1 + index % 28:02d}T10:00:00Z"])

    for split in SPLITS:
        counts = _counts(split, FMoW.published, len(FMOW_CATEGORIES), options)
        release_split = SPLITS[split].removeprefix("id_")  # the release's own column: train, val or test
        for label, count in enumerate(counts):
            for i in range(count):
                country = COUNTRIES[(label + i) % len(COUNTRIES)][0]
                add(release_split, label, YEARS[split][i % 2], country, "satellite" if split in ID_SPLITS
                    else f"satellite-{split}", i)
                if i == 0 and label % 20 == 0:  # rows in no split, between the others
                    add("seq", label, YEARS[split][0], country, None, i)
                    add("train", label, 2014, country, "satellite", i)
        tree.counts[split] = sum(counts)
    _write_csv(root / "rgb_metadata.csv", ["split", "category", "country_code", "timestamp"], rows)
    _write_csv(root / "country_code_mapping.csv", ["alpha-3", "region"],
               [[code, region] for code, region in COUNTRIES if region])
    (root / RELEASE.format(FMoW.version)).write_text("generated\n")
    return tree
