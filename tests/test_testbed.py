"""The embedded world's testbed of ID-only models (tools/testbed.py) and the file the report reads."""

from __future__ import annotations

import itertools

import yaml

from robustbench_ft.core.config import presets_dir
from robustbench_ft.tools.testbed import EPOCHS, WIDTHS, make_testbed


def test_the_testbed_trains_models_on_the_id_split_alone_reproducibly():
    first = make_testbed(widths=(2, 4), epochs=(1,))
    assert [p["name"] for p in first["points"]] == ["cnn-w2-e1", "cnn-w4-e1"]
    assert first["id_split"] == "photo"
    for point in first["points"]:
        assert 0 <= point["id"] <= 1 and set(point["ood"]) == {"sketch", "painting", "clipart", "quickdraw", "infograph"}
    assert make_testbed(widths=(2,), epochs=(1,))["points"][0] == first["points"][0]  # seeded


def test_the_shipped_testbed_is_the_commands_output_shape():
    shipped = yaml.safe_load((presets_dir("testbeds") / "embedded.yaml").read_text())
    assert [p["name"] for p in shipped["points"]] == [f"cnn-w{w}-e{e}" for w, e in itertools.product(WIDTHS, EPOCHS)]
    assert shipped["command"] == "robustbench-ft testbed --dataset embedded"
