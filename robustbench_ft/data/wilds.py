"""WILDS benchmarks in their official layouts: iWildCam v2.0 and FMoW v1.1 (Koh et al., 2021).

The splits are WILDS' own, derived from the release's metadata exactly as the `wilds` package
derives them (its datasets are the reference of tests/test_wilds.py); the harness does not import
that package when it runs: importing it starts a thread that asks PyPI for a newer version (a
network call on every job of a sweep, on nodes that often have no network) and takes seconds.
Split names here are WILDS' with the OOD ones spelled out: train, id_val (the ID validation split
selection uses), id_test, ood_val and ood_test (WILDS' `val` and `test`).

- iWildCam: `<root>/iwildcam_v2.0/metadata.csv` (split, filename, y, location_remapped, ...),
  `categories.csv` (y, name), images under `train/`. 182 classes; the primary metric is macro-F1
  over the classes present in a split (as WILDS computes it), accuracy beside it.
- FMoW: `<root>/fmow_v1.1/rgb_metadata.csv` (split, category, country_code, timestamp, ...),
  `country_code_mapping.csv` (alpha-3, region), images `images/rgb_img_<row>.png` where <row> is
  the metadata row (rows of split 'seq' have no image in the splits). Splits by time: ID before
  2013, OOD validation 2013-2015, OOD test from 2016. Groups are regions (a country code the
  mapping lacks is 'Other', which WILDS leaves out of the worst region); the primary OOD metric is
  worst-region accuracy, with average accuracy beside it.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from ..core.config import ConfigError
from .benchmark import FAMILIES, DataCheck, Groups
from .file_benchmark import FileBenchmark
from .files import FileSplit

SPLITS = {"train": "train", "id_val": "id_val", "id_test": "id_test", "ood_val": "val", "ood_test": "test"}
OTHER_REGION = "Other"


class WildsBenchmark(FileBenchmark):
    """A WILDS dataset: a metadata table that names each image's split, label and groups."""

    metadata_file: ClassVar[str]
    version: ClassVar[str]
    published: ClassVar[dict[str, int]]
    class_count: ClassVar[int]
    columns: ClassVar[tuple[str, ...]]  # the metadata columns the family reads
    own_val = True  # WILDS' id_val: a low-shot run keeps it whole

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.val_split = str(config.get("val_split", "id_val"))
        unknown = [s for s in ["train", self.val_split, *self.test_splits] if s not in SPLITS]
        if unknown:
            raise ConfigError(f"{source}: {type(self).__name__} has no split {unknown}; its splits are {list(SPLITS)}")

    def required(self, root: Path) -> list[Path]:
        return [root / self.metadata_file]

    @property
    def table(self) -> pd.DataFrame:
        """The metadata rows that belong to a split, with columns path, label, split (ours) and
        group (an id into `group_names`, or -1 without groups), in metadata order."""
        return self._rows_and_groups[0]

    @property
    def group_names(self) -> tuple[str, ...]:
        """The names of the group ids (FMoW's regions); () for a benchmark without groups."""
        return self._rows_and_groups[1]

    @cached_property
    def _rows_and_groups(self) -> tuple[pd.DataFrame, tuple[str, ...]]:
        path = self.root / self.metadata_file
        try:
            metadata = pd.read_csv(path)
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: unreadable metadata ({err}); expected {self.layout}") from err
        missing = [c for c in self.columns if c not in metadata.columns]
        if missing:
            raise ConfigError(f"{path}: no column {missing}; expected {self.layout}")
        return self.rows(metadata)

    @abstractmethod
    def rows(self, metadata: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        """(the split rows of the metadata, the group names) as `table` describes them."""

    def _split(self, split: str) -> FileSplit:
        """A split scored over every class, also where it lacks some (as WILDS scores it: no logit
        restriction), with its images' groups where the benchmark has them."""
        part = self.table[self.table["split"] == split]
        groups = None
        if self.group_names:
            counted = tuple(name != OTHER_REGION for name in self.group_names)
            groups = Groups(torch.tensor(part["group"].to_numpy(), dtype=torch.long), self.group_names, counted)
        return self.split(part["path"].tolist(), part["label"].tolist(), None, groups)

    def make_train_val(self) -> tuple[FileSplit, FileSplit]:
        return self._split("train"), self._split(self.val_split)

    def make_test_set(self, split: str) -> FileSplit:
        return self._split(split)

    def all_files(self) -> dict[str, list[str]]:
        return {s: self.table.loc[self.table["split"] == s, "path"].tolist()
                for s in dict.fromkeys(["train", self.val_split, *self.test_splits])}

    def check_files(self, root: Path, report: DataCheck) -> None:
        try:
            files = self.all_files()
            self.classes  # noqa: B018
        except ConfigError as err:
            report.errors.append(str(err))
            return
        self.count_listed(files, report)
        self.compare_counts(report, self.published)

    def describe(self) -> str:
        return f"WILDS {self.name} v{self.version}; ID {self.id_split}; OOD {', '.join(self.ood_splits)}"


@FAMILIES.register("iwildcam")
class IWildCam(WildsBenchmark):
    layout = ("<root>/iwildcam_v2.0/ with metadata.csv (split, filename, y, ...), categories.csv (y, name) "
              "and the images under train/ (WILDS' release)")
    metadata_file = "metadata.csv"
    version = "2.0"
    class_count = 182
    columns = ("split", "filename", "y")
    published = {"train": 129_809, "id_val": 7_314, "id_test": 8_154, "ood_val": 14_961, "ood_test": 42_791}

    def rows(self, metadata: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        ours = {wilds: mine for mine, wilds in SPLITS.items()}
        unknown = sorted(set(metadata["split"]) - set(ours))
        if unknown:
            raise ConfigError(f"{self.root / self.metadata_file}: unknown splits {unknown}; WILDS' are {list(ours)}")
        images = str(self.root / "train")
        return pd.DataFrame({"path": [f"{images}/{name}" for name in metadata["filename"]],
                             "label": metadata["y"].astype(int).to_numpy(),
                             "split": metadata["split"].map(ours).to_numpy(), "group": -1}), ()

    @cached_property
    def classes(self) -> list[str]:
        """Names from the release's categories.csv (its `name` column by `y`), or from the YAML's
        `class_names:`: a text file (one name per line in label order) or a CSV with columns y and
        english, such as wise-ft's iwildcam_metadata/labels.csv, whose lower-cased English names
        WiSE-FT and FLYP prompt with."""
        given = self.config.get("class_names")
        if given and not str(given).endswith(".csv"):
            return _names_file(self.source.parent / str(given), self.class_count)
        path = self.source.parent / str(given) if given else self.root / "categories.csv"
        column = "english" if given else "name"
        try:
            categories = pd.read_csv(path)
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: unreadable ({err}); expected a CSV with columns y and {column}") from err
        if not {"y", column} <= set(categories.columns):
            raise ConfigError(f"{path}: expected columns y and {column}, found {list(categories.columns)}")
        by_label = {y: name if column == "name" else name.lower()
                    for y, name in zip(categories["y"].astype(int), categories[column].astype(str))
                    if y < self.class_count}  # categories absent from the data have y = 99999
        if sorted(by_label) != list(range(self.class_count)):
            raise ConfigError(f"{path}: labels are not 0..{self.class_count - 1}")
        return [by_label[y] for y in range(self.class_count)]


# FMoW's 62 categories in WILDS' label order (wilds/datasets/fmow_dataset.py)
FMOW_CATEGORIES = (
    "airport", "airport_hangar", "airport_terminal", "amusement_park", "aquaculture", "archaeological_site", "barn",
    "border_checkpoint", "burial_site", "car_dealership", "construction_site", "crop_field", "dam", "debris_or_rubble",
    "educational_institution", "electric_substation", "factory_or_powerplant", "fire_station", "flooded_road",
    "fountain", "gas_station", "golf_course", "ground_transportation_station", "helipad", "hospital",
    "impoverished_settlement", "interchange", "lake_or_pond", "lighthouse", "military_facility",
    "multi-unit_residential", "nuclear_powerplant", "office_building", "oil_or_gas_facility", "park",
    "parking_lot_or_garage", "place_of_worship", "police_station", "port", "prison", "race_track", "railway_bridge",
    "recreational_facility", "road_bridge", "runway", "shipyard", "shopping_mall", "single-unit_residential",
    "smokestack", "solar_farm", "space_facility", "stadium", "storage_tank", "surface_mine", "swimming_pool",
    "toll_booth", "tower", "tunnel_opening", "waste_disposal", "water_treatment_facility", "wind_farm", "zoo")
FMOW_ID_BEFORE, FMOW_TEST_FROM = 2013, 2016  # WILDS' split scheme 'time_after_2016'


@FAMILIES.register("fmow")
class FMoW(WildsBenchmark):
    layout = ("<root>/fmow_v1.1/ with rgb_metadata.csv (split, category, country_code, timestamp, ...), "
              "country_code_mapping.csv (alpha-3, region) and images/rgb_img_<row>.png (WILDS' release)")
    metadata_file = "rgb_metadata.csv"
    version = "1.1"
    class_count = len(FMOW_CATEGORIES)
    columns = ("split", "category", "country_code", "timestamp")
    published = {"train": 76_863, "id_val": 11_483, "id_test": 11_327, "ood_val": 19_915, "ood_test": 22_108}

    @property
    def classes(self) -> list[str]:
        return [c.replace("_", " ") for c in FMOW_CATEGORIES]

    def rows(self, metadata: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        """WILDS' time split: among rows of the release's split `s` (train, val, test), those before
        2013 are ID (train, id_val, id_test), val rows of 2013-2015 are ood_val and test rows from
        2016 ood_test; train rows after 2012 and 'seq' rows are in no split."""
        mapping = self.root / "country_code_mapping.csv"
        try:
            codes = pd.read_csv(mapping)
            region_of = dict(zip(codes["alpha-3"], codes["region"]))
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"{mapping}: unreadable ({err}); expected columns alpha-3 and region") from err
        index = {c: i for i, c in enumerate(FMOW_CATEGORIES)}
        unknown = sorted(set(metadata["category"]) - set(index))
        if unknown:
            raise ConfigError(f"{self.root / self.metadata_file}: unknown categories {unknown[:5]}")
        # the release mixes two timestamp formats, which pandas >= 2 refuses unless told (WILDS issue #146)
        try:
            year = pd.to_datetime(metadata["timestamp"], utc=True, format="ISO8601").dt.year.to_numpy()
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{self.root / self.metadata_file}: a timestamp is not an ISO 8601 time ({err})") from err
        released = metadata["split"].to_numpy()
        split = np.full(len(metadata), None, dtype=object)
        early, late = year < FMOW_ID_BEFORE, year >= FMOW_TEST_FROM
        split[early & (released == "train")] = "train"
        split[early & (released == "val")] = "id_val"
        split[early & (released == "test")] = "id_test"
        split[~early & ~late & (released == "val")] = "ood_val"
        split[late & (released == "test")] = "ood_test"
        regions = [region_of.get(code, OTHER_REGION) for code in metadata["country_code"]]
        names = list(dict.fromkeys(regions))  # WILDS numbers regions in order of first appearance
        group = {name: i for i, name in enumerate(names)}
        images = str(self.root / "images")
        table = pd.DataFrame({"path": [f"{images}/rgb_img_{row}.png" for row in range(len(metadata))],
                              "label": metadata["category"].map(index).to_numpy(), "split": split,
                              "group": [group[r] for r in regions]})
        return table[table["split"].notna()], tuple(names)


def _names_file(path: Path, count: int) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"class_names file {path} is missing (one class name per line, in label order)")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(names) != count:
        raise ConfigError(f"{path}: {len(names)} class names, expected {count}")
    return names
