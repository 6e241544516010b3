"""Results folders written under an older spec version, renamed and rewritten for today's.

Spec version 1 (before typed hyper-parameters) hashed every RunSpec field, defaults included,
with the method's hyper-parameters in one flat mapping. Spec version 2 called the head tuned by
SGD from the zero-shot head `lp`; version 3 calls it `lp-zs`, `lp` being Kumar et al.'s probe, and
an LP-FT built on it says so (`lpft.probe: lp-zs`). Version 3's L2-SP decayed the image encoder
with AdamW too; version 4's does not, so a version-3 L2-SP run says it did
(`l2sp.decay_backbone: true`); and version 4 runs a method that trains nothing (zero-shot, LP)
with its benchmark's training fields, so a version-3 one asked for at another lr is renamed to
that run (a second such folder of one run goes under `_superseded/`: kept, not reported twice).
The request log's configurations are renamed with their folders. Every version-3 name
changes with the version, as every version-2 name did. An older folder is migrated in place: its
spec is re-read into today's RunSpec, the folder is renamed to the new digest, and spec.yaml and
result.json are rewritten in today's format (result.json keeps `migrated_from`). Nothing is
recomputed and no metric changes. A folder that cannot be migrated is left untouched and listed
with the reason; none is silently orphaned. `robustbench-ft migrate` runs this, and `run` and
`sweep` do it before they launch (a dry run does not: it counts such folders as to do).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.compose import sibling_spec, untrained
from ..core.config import ConfigError
from ..core.declarations import DECLARATIONS, completed
from ..core.errors import ModelLoadError
from ..core.identity import SPEC_VERSION
from ..core.registry import UnknownNameError
from ..core.spec import RunSpec
from .layout import ResultsTree, RunFolder, UnreadableFileError
from .lock import RunBusyError, RunLock
from .requests import RequestLog

# Version-1 hyper-parameters that version 2 derives instead: (method, key) -> the field of the
# derived spec that must hold the same value for the migration to keep the run's meaning.
RETIRED_V1 = {("lpft", "lp_lr"): ("lp-zs", "lr"), ("lpft", "lp_weight_decay"): ("lp-zs", "weight_decay")}


@dataclass
class Migration:
    moved: list[tuple[Path, Path]] = field(default_factory=list)       # (old folder, new folder)
    not_migrated: list[tuple[Path, str]] = field(default_factory=list)  # (folder, why)
    superseded: list[tuple[Path, Path, Path]] = field(default_factory=list)  # (old folder, kept at, same run as)


def renamed_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-2 spec mapping in version 3's words: `lp` -> `lp-zs`, and LP-FT says it built on it."""
    data = dict(data)
    parts = ["lp-zs" if p == "lp" else p for p in data["method"].split("+")]
    hparams = {("lp-zs" if k == "lp" else k): dict(v) for k, v in (data.get("hparams") or {}).items()}
    if "lpft" in parts:
        hparams.setdefault("lpft", {})["probe"] = "lp-zs"
    return {**data, "method": "+".join(parts), "hparams": hparams}


def spec_from_v3(data: dict[str, Any]) -> RunSpec:
    """Today's spec of a version-3 spec mapping, or a ConfigError."""
    data = {k: v for k, v in data.items() if k != "spec_version"}
    parts = str(data["method"]).split("+")
    if "l2sp" in parts:
        hparams = {part: dict(values) for part, values in (data.get("hparams") or {}).items()}
        hparams.setdefault("l2sp", {})["decay_backbone"] = True
        data = {**data, "hparams": hparams}
    if not DECLARATIONS.trains(data["method"]):
        data = untrained(data, data["benchmark"])
    return completed(RunSpec.from_dict(data))


def spec_from_v2(data: dict[str, Any]) -> RunSpec:
    """Today's spec of a version-2 spec mapping, or a ConfigError."""
    data = {k: v for k, v in data.items() if k != "spec_version"}
    return spec_from_v3(renamed_v2(data))


def spec_from_v1(data: dict[str, Any]) -> RunSpec:
    """Today's spec of a version-1 spec mapping (flat hyper-parameters), or a ConfigError."""
    data = dict(data)
    flat = dict(data.pop("hparams", None) or {})
    parts = data["method"].split("+")
    nested: dict[str, dict[str, Any]] = {part: {} for part in parts}
    retired = {}
    for key, value in flat.items():
        owners = [p for p in parts if any(h.name == key for h in DECLARATIONS.of(p))]
        if owners:
            nested[owners[-1]][key] = value
        elif any((p, key) in RETIRED_V1 for p in parts):
            retired[next(p for p in parts if (p, key) in RETIRED_V1), key] = value
        else:
            raise ConfigError(f"hyper-parameter {key!r} of {data['method']!r} is no longer declared")
    spec = completed(RunSpec.from_dict(renamed_v2({**data, "hparams": nested})))  # then as version 2
    _check_retired(spec, retired)
    return spec_from_v3(spec.to_dict())


def _check_retired(spec: RunSpec, retired: dict[tuple[str, str], Any]) -> None:
    for (part, key), value in retired.items():
        method, spec_field = RETIRED_V1[part, key]
        derived = getattr(sibling_spec(spec, method), spec_field)
        if derived != value:
            raise ConfigError(f"its {key}={value} differs from the {method} run that version "
                              f"{SPEC_VERSION} derives ({spec_field}={derived})")


UPGRADES = {1: spec_from_v1, 2: spec_from_v2, 3: spec_from_v3}


def migrate_results(root: Path, dry_run: bool = False) -> Migration:
    """Bring every run folder of an older spec version under `root` to today's name and format.

    Each folder is migrated under its run lock (a live process computing it leaves it alone). The
    method declarations must be registered (import robustbench_ft.methods): a folder whose method
    is unknown is listed, never guessed at.
    """
    outcome = Migration()
    tree = ResultsTree(root)
    claimed: set[Path] = set()  # today's folders this pass has given a run already
    renamed: dict[tuple[str, str], tuple[str, str]] = {}  # (method, config) -> today's, for the request log
    for folder in tree.runs():
        try:
            data = folder.read_spec()
        except FileNotFoundError:
            continue  # not a run folder (or one whose attempt never started)
        except UnreadableFileError as err:
            outcome.not_migrated.append((folder.path, str(err)))
            continue
        version = data.get("spec_version", 1)
        if version == SPEC_VERSION:
            continue
        if isinstance(version, int) and version > SPEC_VERSION:
            outcome.not_migrated.append((folder.path, f"written by a newer robustbench-ft (spec version {version}, "
                                                      f"this one reads up to {SPEC_VERSION}): upgrade to use it"))
            continue
        if version not in UPGRADES:
            outcome.not_migrated.append((folder.path, f"unknown spec version {version!r}"))
            continue
        try:
            spec = UPGRADES[version](data)
            target = tree.of(spec)
        except (ConfigError, UnknownNameError, ModelLoadError, KeyError, TypeError) as err:
            outcome.not_migrated.append((folder.path, f"cannot read its version-{version} spec: {err}"))
            continue
        if target.path != folder.path and (target.path.exists() or target.path in claimed):
            _supersede(folder, target, tree, outcome, dry_run)
            continue
        claimed.add(target.path)
        if dry_run:
            outcome.moved.append((folder.path, target.path))
            continue
        try:
            renamed.update(_move(folder, target, spec, version))
        except (RunBusyError, UnreadableFileError) as err:
            outcome.not_migrated.append((folder.path, str(err)))
        except OSError as err:  # e.g. today's folder of the run appeared meanwhile: the rename fails
            outcome.not_migrated.append((folder.path, f"not moved ({type(err).__name__}: {err})"))
        else:
            outcome.moved.append((folder.path, target.path))
    if not dry_run:
        RequestLog(root).rename(renamed)
    return outcome


def _supersede(folder: RunFolder, target: RunFolder, tree: ResultsTree, outcome: Migration, dry_run: bool) -> None:
    """A second old folder of a run that today's folder holds (say, zero-shot asked for at two
    learning rates in version 3): moved under _superseded/, kept but no longer reported twice."""
    aside = tree.superseded(folder)
    if dry_run:
        outcome.superseded.append((folder.path, aside.path, target.path))
        return
    try:
        with folder.lock() as lock:
            _rename(folder, aside, lock)
    except (RunBusyError, OSError) as err:
        outcome.not_migrated.append((folder.path, f"the same run as {target.path}, not moved aside ({err})"))
    else:
        outcome.superseded.append((folder.path, aside.path, target.path))


def _rename(folder: RunFolder, dest: RunFolder, lock: RunLock) -> None:
    """`folder` renamed to `dest` under its held lock, which moves with it."""
    dest.path.parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder.path, dest.path)
    lock.relocate(dest.path)


def _move(folder: RunFolder, target: RunFolder, spec: RunSpec, version: int
          ) -> dict[tuple[str, str], tuple[str, str]]:
    """Under the run's lock: rename first, then rewrite, so an interrupted move leaves a folder
    that the next call finishes (spec.yaml, rewritten last, says whether it is done). Returns the
    configuration's rename, (method, config) -> today's, where the folder had a result."""
    with folder.lock() as lock:
        result = folder.read_result() if folder.result_file.is_file() else None  # read before any change
        if target.path != folder.path:
            _rename(folder, target, lock)
        if result is not None and result.run != spec.digest():
            target.write_result(result.renamed(spec.digest(), spec.config_digest(), spec.identity(),
                                               spec.to_dict(), version))
        target.write_spec(spec.to_record())
    return {} if result is None else {(result.method, result.config): (spec.method, spec.config_digest())}
