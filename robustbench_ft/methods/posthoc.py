"""What every post-hoc method shares: it trains nothing and applies to a finished base run.

'ft+wise', 'lipsum+tpgm', 'ft+soup': the base run is this spec with the last part dropped and only
the base parts' hyper-parameters kept, so it is the very run the planner makes for the base
method. WiSE, TPGM, the output ensemble and soups differ only in what they build from it.
"""

from __future__ import annotations

from ..core.spec import RunSpec
from .base import Method


class PostHoc(Method):
    trains = False

    def base_spec(self) -> RunSpec:
        if len(self.spec.parts) < 2:
            raise ValueError(f"'{self.name}' needs a base run: write '<method>+{self.name}', e.g. 'ft+{self.name}'")
        base = self.spec.parts[:-1]
        hparams = {part: values for part, values in self.spec.hparams_dict().items() if part in base}
        return self.spec.replace(method="+".join(base), hparams=hparams)

    def dependencies(self) -> list[RunSpec]:
        return [self.base_spec()]
