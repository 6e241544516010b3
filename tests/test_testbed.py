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


def test_imagenet_lines_are_fitted_to_the_testbeds_standard_models_as_its_site_selects(tmp_path):
    """Standard models above 55% ImageNet accuracy, without aws, batch64 or subsampled variants;
    one least-squares line per shift on logit axes of the fractions."""
    import numpy as np

    from robustbench_ft.tools.imagenet_testbed import SHIFTS, fits_from_testbed
    rows = {"a": (60.0, 0), "b": (70.0, 1), "c": (80.0, 2), "d": (75.0, 3),  # standard, used
            "low": (50.0, 9), "b_aws": (71.0, 9), "b_batch64": (72.0, 9), "robust": (73.0, 9)}
    header = "model,val," + ",".join(SHIFTS.values())
    lines = [header] + [f"{name},{val}," + ",".join(f"{val / 2 + 5 * k + i}" for i in range(len(SHIFTS)))
                        for name, (val, k) in rows.items()]
    (tmp_path / "results.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "model_types.py").write_text(
        "model_types_map = {\n" + "".join(f"'{n}': ModelTypes.STANDARD,\n" for n in rows if n != "robust")
        + "'robust': ModelTypes.ROBUST_INTV,\n}\n")
    fits = fits_from_testbed(tmp_path)["fits"]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    used = [rows[n] for n in ("a", "b", "c", "d")]
    for i, split in enumerate(SHIFTS):
        x = logit(np.array([v for v, _ in used]) / 100)
        y = logit(np.array([v / 2 + 5 * k + i for v, k in used]) / 100)
        slope, intercept = np.polyfit(x, y, 1)
        assert (fits[split]["slope"], fits[split]["intercept"]) == (round(slope, 4), round(intercept, 4))
        assert fits[split]["models"] == 4 and fits[split]["id_range"] == [60.0, 80.0]
