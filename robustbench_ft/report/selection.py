"""Model selection rules: which configuration (and WiSE alpha) of each method a table shows.

A sweep runs several configurations of a method (learning rates, lambdas, ...), each over seeds.
A rule picks, per method and model, the configuration to report, as DomainBed's
`model_selection.py` does; seeds are averaged only within one configuration. Post-hoc methods
(WiSE) have an alpha per record, chosen the same way. Every table says under it which rule made it.

- `best_id_val` (default): the configuration and alpha with the best mean ID-validation accuracy.
- `oracle_id_test`: the best mean accuracy on the ID *test* split, which is what the Lipsum-FT
  paper's released code does. For reproducing published numbers only: it selects on test data,
  and the table is marked as such.
- `oracle_ood_val`: DomainBed's test-domain oracle: the best mean accuracy (or the benchmark's
  `select_on` metric, iWildCam's macro-F1) on a held-out 20% of each OOD split (fixed and seeded,
  the same images for every run: engine/evaluate.py), which is then left out of the OOD accuracies the tables report. It assumes labelled target-domain
  data that a real deployment lacks, so it is marked as an oracle; it bounds what selection
  could gain and shows whether ID validation picks what OOD data would have picked.
- `all`: every configuration is its own row, best ID validation first (alpha by ID validation).

Each rule says what it assumes in its summary, written under every table. A rule first takes its
view of the frame (`view`): the ID and OOD rows, or for `oracle_ood_val` each OOD split without
its held-out part.

A rule chooses among finished records (configurations, alphas). Which checkpoint a training run
keeps is the run's own `selection` field, applied while it trains.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from ..core.method_info import method_sort_key
from ..core.registry import Registry
from .collect import OOD_REST

SELECTIONS: Registry[type["Selection"]] = Registry("selection rule")
NO_ALPHA = -1.0  # stands for "no alpha" in groupings (pandas drops NaN keys)
TABLE_ROLES = ("id", "ood")


def table_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The ID and OOD rows of a tidy frame: what tables, figures and claims are made of."""
    return frame[frame["role"].isin(TABLE_ROLES)] if (~frame["role"].isin(TABLE_ROLES)).any() else frame


@dataclass
class Choice:
    """One configuration a rule keeps: its rows (every alpha and seed) and its chosen alpha."""

    method: str
    model: str
    pretrained: str
    config: str
    rows: pd.DataFrame
    alpha: float | None  # the rule's alpha for post-hoc methods, None otherwise
    among: int           # how many configurations of this method and model it chose among
    built_only: int = 0  # configurations in the folder only built on (a soup's other lrs), left out
    runs: tuple[str, ...] = ()  # every run of the configurations it chose among: its tuning budget


class Selection(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]          # the note written under every table
    alpha_basis: ClassVar[str]      # how a row label says where the alpha came from
    one_per_method: ClassVar[bool] = True
    on_id_val: ClassVar[bool] = False  # whether it selects on ID validation (then ‡ marks matter)

    @abstractmethod
    def score(self, frame: pd.DataFrame) -> pd.Series:
        """Per (config, alpha) of one method and model: the mean over seeds to maximise."""

    def view(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows this rule reports: every split's metrics on all its images."""
        return table_rows(frame)

    def view_notes(self) -> list[str]:
        """What the last `view` left out, if anything."""
        return []

    def choose(self, frame: pd.DataFrame) -> list[Choice]:
        choices = []
        for (method, model, pretrained), unit in _units(frame):
            unit, built_only = requested_part(unit)
            scores = self.score(unit).reset_index().sort_values(["score", "config", "alpha"],
                                                                ascending=[False, True, True], kind="stable")
            configs = list(dict.fromkeys(scores["config"]))
            keep = configs[:1] if self.one_per_method else configs
            for config in keep:
                best = scores[scores["config"] == config].iloc[0]
                rows = unit[unit["config"] == config]
                alpha = None if best["alpha"] == NO_ALPHA else float(best["alpha"])
                choices.append(Choice(method, model, pretrained, config, rows, alpha, len(configs), built_only,
                                      tuple(unit["run"].astype(str).unique())))
        return choices


def requested_part(unit: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A method's rows restricted to the configurations a request asked for, and how many it
    left out: a sweep with soups runs FT at twice and half each learning rate as ingredients,
    and selecting FT among those too would give it a larger search than the other methods got
    (records/requests.py). A method nobody asked for (only built on) keeps every configuration."""
    if "requested" not in unit or not unit["requested"].any() or unit["requested"].all():
        return unit, 0
    kept = unit[unit["requested"].astype(bool)]
    return kept, unit["config"].nunique() - kept["config"].nunique()


def _units(frame: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    """(method, model, weights) groups in table order."""
    groups = frame.groupby(["method", "model", "pretrained"], observed=True, sort=False)
    return sorted(((tuple(map(str, key)), part) for key, part in groups),
                  key=lambda item: (method_sort_key(item[0][0]), item[0][1:]))


def _per_seed(frame: pd.DataFrame, value: pd.Series) -> pd.Series:
    keys = [frame["config"].astype(str), frame["alpha"].fillna(NO_ALPHA), frame["seed"]]
    per_seed = value.groupby(keys, observed=True).mean()
    score = per_seed.groupby(level=[0, 1]).mean()
    score.index.names = ["config", "alpha"]
    return score.rename("score")


@SELECTIONS.register("best_id_val")
class BestIdValidation(Selection):
    name = "best_id_val"
    on_id_val = True
    summary = ("Model selection `best_id_val`: per method, the configuration (and WiSE α) with the "
               "best mean ID-validation accuracy over seeds.")
    alpha_basis = "by ID val"

    def score(self, frame: pd.DataFrame) -> pd.Series:
        return _per_seed(frame, frame["id_val_acc"])


@SELECTIONS.register("oracle_id_test")
class OracleIdTest(Selection):
    name = "oracle_id_test"
    summary = ("Model selection `oracle_id_test` (ORACLE): per method, the configuration (and WiSE α) "
               "with the best mean accuracy on the ID *test* split, as the Lipsum-FT paper's code "
               "selects. It reproduces published numbers; it is not a fair comparison.")
    alpha_basis = "by ID test, oracle"

    def score(self, frame: pd.DataFrame) -> pd.Series:
        id_acc = frame[(frame["metric"] == "acc") & (frame["role"] == "id")]
        return _per_seed(id_acc, id_acc["value"])


@SELECTIONS.register("oracle_ood_val")
class OracleOodValidation(Selection):
    name = "oracle_ood_val"
    summary = ("Model selection `oracle_ood_val` (ORACLE): per method, the configuration (and WiSE α) with the "
               "best mean accuracy over seeds on a held-out 20% of each OOD split (the same images for every "
               "run), as DomainBed's test-domain oracle; the OOD columns report the other 80%. It assumes "
               "labelled target-domain data: an upper bound for selection, not a fair comparison.")
    alpha_basis = "by OOD val, oracle"

    def __init__(self) -> None:
        self.left_out = 0

    def view(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each OOD split without its held-out part (rows of role `ood_rest`, relabelled `ood`);
        records written before runs kept the parts apart cannot be scored and are left out."""
        with_parts = frame.loc[frame["role"] == OOD_REST, "run"].unique()
        known = frame["run"].isin(with_parts)
        self.left_out = int(frame.loc[~known, "run"].nunique())
        kept = frame[known & (frame["role"] != "ood")]
        return kept.assign(role=pd.Categorical(kept["role"].astype(str).replace({OOD_REST: "ood"})))

    def view_notes(self) -> list[str]:
        if not self.left_out:
            return []
        return [f"{self.left_out} runs recorded no held-out OOD part (made before it existed) and are not in "
                f"this table: rerun them (their results are kept) to include them."]

    def score(self, frame: pd.DataFrame) -> pd.Series:
        return _per_seed(frame, frame["ood_val_acc"])


@SELECTIONS.register("all")
class AllConfigurations(BestIdValidation):
    name = "all"
    summary = ("Model selection `all`: every configuration is its own row, best mean ID-validation "
               "accuracy first; a WiSE α by ID validation within each.")
    one_per_method = False


DEFAULT_SELECTION = "best_id_val"


def selection_rule(name: str = DEFAULT_SELECTION) -> Selection:
    return SELECTIONS.get(name)()


def selection_names() -> list[str]:
    return SELECTIONS.names()
