"""The shipped tiny CLIP: offline loading, size, error messages, and its model card numbers."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.models.loading import ModelLoadError, embedded_weights_path, load_clip
from robustbench_ft.tools.model_card import measure_card, read_card


def test_loads_offline_through_open_clip(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # any download attempt would fail
    bundle = load_clip("tiny-clip", "embedded")
    assert type(bundle.model).__name__ == "CLIP"  # open_clip's own class
    assert bundle.image_size == 32 and bundle.context_length == 12
    assert bundle.tokenizer.vocab_size == bundle.model.vocab_size
    with torch.no_grad():
        out = bundle.model.encode_text(bundle.tokenizer(["a photo of a star"]))
    assert out.shape == (1, 96)


def test_weights_are_small():
    assert embedded_weights_path("tiny-clip").stat().st_size <= 10 * 1024 * 1024


def test_loading_from_a_local_file_equals_the_tag(tmp_path):
    path = tmp_path / "copy.pt"
    path.write_bytes(embedded_weights_path("tiny-clip").read_bytes())
    a = load_clip("tiny-clip", "embedded").model.state_dict()
    b = load_clip("tiny-clip", str(path)).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_clip("tiny-clip", str(tmp_path / "nope.pt"))


def test_corrupt_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_clip("tiny-clip", str(bad))


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="unknown model"):
        load_clip("no-such-model", None)


@pytest.mark.slow
def test_model_card_numbers_reproduce():
    card = read_card()
    measured = measure_card(write=False)["zeroshot_test_accuracy"]
    assert measured.keys() == card["zeroshot_test_accuracy"].keys()
    for split, acc in measured.items():
        assert abs(acc - card["zeroshot_test_accuracy"][split]) <= 0.005, split
        assert 2 * card["chance"] <= acc < 0.85, (split, acc)
