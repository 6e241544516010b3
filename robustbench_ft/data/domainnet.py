"""DomainNet (Peng et al., 2019) as the Lipsum-FT paper uses it: train on Real, test on five domains.

Layout (the official one): `<root>/<domain>/<class>/<file>.jpg` with split files
`<root>/<domain>_train.txt` and `<root>/<domain>_test.txt`, one `<domain>/<class>/<file>.jpg
<label>` per line. The 345 classes are in the split files' label order, which is not sorted
folder order (`cello` is 66, `cell_phone` 67: a folder scan would mislabel them); prompts use the
folder names with `_` as spaces. Training uses Real's train split less a fixed, seeded held-out
part (`holdout.fraction` of it, 5% by default: 6,045 of the cleaned 120,906 images) that is the ID
validation split; Real's test split is ID test, and the other domains' test splits are OOD.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ..core.config import ConfigError
from .benchmark import FAMILIES, DataCheck, DataMissingError
from .file_benchmark import FileBenchmark
from .files import FileSplit, listed

# DomainNet "cleaned" (the version the split files describe): (train, test) images per domain.
PUBLISHED = {"real": (120_906, 52_041), "painting": (50_416, 21_850), "clipart": (33_525, 14_604),
             "infograph": (36_023, 15_582), "sketch": (48_212, 20_916)}


@FAMILIES.register("domainnet")
class DomainNet(FileBenchmark):
    layout = ("<root>/<domain>/<class>/<file>.jpg with split files <root>/<domain>_train.txt and "
              "<root>/<domain>_test.txt ('<domain>/<class>/<file>.jpg <label>' per line)")

    def __init__(self, config, source, **options) -> None:
        super().__init__(config, source, **options)
        self._listed: dict[tuple[str, str], list[tuple[str, int, str]]] = {}

    def required(self, root: Path) -> list[Path]:
        return [self._split_file(root, d, part) for d, part in
                [(self.id_split, "train"), *((d, "test") for d in self.test_splits)]]

    @staticmethod
    def _split_file(root: Path, domain: str, part: str) -> Path:
        return root / f"{domain}_{part}.txt"

    def _entries(self, domain: str, part: str) -> list[tuple[str, int, str]]:
        """(relative path, label, class folder) per line of a split file, read once per process;
        a malformed line names file and line. Parsed as text (no path object per line: the
        cleaned Real train split alone is 120,906 lines, ImageNet-sized lists ten times that)."""
        key = (domain, part)
        if key not in self._listed:
            path = self._split_file(self.root, domain, part)
            if not path.is_file():
                raise DataMissingError(f"benchmark {self.name!r}: split file {path} is missing; expected {self.layout}")
            entries = []
            for number, line in enumerate(path.read_text().splitlines(), 1):
                fields = line.split()
                if not fields:
                    continue
                parts = fields[0].split("/")
                if len(fields) != 2 or not fields[1].lstrip("-").isdigit() or len(parts) != 3 or not all(parts):
                    raise ConfigError(f"{path}:{number}: expected '<domain>/<class>/<file> <label>', got {line!r}")
                entries.append((fields[0], int(fields[1]), parts[1]))
            self._listed[key] = entries
        return self._listed[key]

    @cached_property
    def folders(self) -> list[str]:
        """Class folder names in label order, from the ID domain's training split file."""
        by_label: dict[int, str] = {}
        for _, label, folder in self._entries(self.id_split, "train"):
            if by_label.setdefault(label, folder) != folder:
                raise ConfigError(f"{self._split_file(self.root, self.id_split, 'train')}: label {label} "
                                  f"names two classes, {by_label[label]!r} and {folder!r}")
        if sorted(by_label) != list(range(len(by_label))):
            raise ConfigError(f"{self._split_file(self.root, self.id_split, 'train')}: labels are not 0..K-1")
        return [by_label[i] for i in range(len(by_label))]

    @property
    def classes(self) -> list[str]:
        return [folder.replace("_", " ") for folder in self.folders]

    def _files(self, domain: str, part: str) -> tuple[list[str], list[int]]:
        entries, folders = self._entries(domain, part), self.folders
        for relative, label, folder in entries:
            if not 0 <= label < len(folders) or folder != folders[label]:
                raise ConfigError(f"{self._split_file(self.root, domain, part)}: {relative} has label {label}, "
                                  f"but label {label} is class {folders[label] if 0 <= label < len(folders) else '?'!r}")
        root = str(self.root)
        return [f"{root}/{relative}" for relative, _, _ in entries], [label for _, label, _ in entries]

    def make_train_val(self) -> tuple[FileSplit, FileSplit]:
        return self.held_out(*self._files(self.id_split, "train"))

    def make_test_set(self, split: str) -> FileSplit:
        return self.split(*self._files(split, "test"))

    def all_files(self) -> dict[str, list[str]]:
        files = {f"{self.id_split}_train": self._files(self.id_split, "train")[0]}
        files.update({f"{d}_test": self._files(d, "test")[0] for d in self.test_splits})
        return files

    def check_files(self, root: Path, report: DataCheck) -> None:
        try:
            files = self.all_files()
        except ConfigError as err:
            report.errors.append(str(err))
            return
        self.count_listed(files, report)
        for domain in dict.fromkeys([self.id_split, *self.test_splits]):
            folder = root / domain
            stray = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in self.folders) \
                if folder.is_dir() else []
            if stray:
                report.errors.append(f"{folder}: " + listed(stray, "class folders that no split file names"))
        self.compare_counts(report, {f"{d}_{part}": PUBLISHED[d][i] for d in PUBLISHED
                                     for i, part in enumerate(("train", "test"))})
