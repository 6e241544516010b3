"""The tiny CLIP's word tokenizer and the random texts Lipsum-FT draws."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.data.captions import caption_vocabulary
from robustbench_ft.models.tokenizers import WordTokenizer, random_token_sequences, sampleable_ids


@pytest.fixture()
def tok() -> WordTokenizer:
    return WordTokenizer(caption_vocabulary(), context_length=12)


def test_round_trip(tok):
    text = "a sketch of a small red star"
    tokens = tok(text)
    assert tokens.shape == (1, 12)
    assert tok.decode(tokens[0]) == text
    assert tok.decode(tok.encode(text)) == text


def test_layout_follows_open_clip(tok):
    row = tok("a star")[0].tolist()
    assert row[0] == tok.sot_token_id and row[3] == tok.eot_token_id and row[4:] == [0] * 8
    assert tok.eot_token_id == tok.vocab_size - 1 == max(row)  # argmax pooling finds EOT


def test_truncation_keeps_eot(tok):
    row = tok(" ".join(["star"] * 30))[0]
    assert row[-1] == tok.eot_token_id


def test_unknown_word_is_an_error(tok):
    with pytest.raises(ValueError, match="zebra"):
        tok("a zebra")


def test_random_texts_avoid_special_ids(tok):
    gen = torch.Generator().manual_seed(0)
    texts = random_token_sequences(tok, 80, 8, gen, 12)
    assert texts.shape == (80, 12)
    body = texts[:, 1:9]
    assert (texts[:, 0] == tok.sot_token_id).all() and (texts[:, 9] == tok.eot_token_id).all()
    assert body.min() >= 1 and body.max() <= len(tok.words)
    assert (texts[:, 10:] == 0).all()
    assert len(body.unique()) > len(tok.words) // 2


def test_bpe_range_excludes_sot_and_eot():
    class Bpe:  # what open_clip's SimpleTokenizer exposes
        sot_token_id, eot_token_id = 49406, 49407

    assert sampleable_ids(Bpe()) == (0, 49406)
    texts = random_token_sequences(Bpe(), 4, 8, torch.Generator().manual_seed(0), 77)
    assert texts[:, 1:9].max() < 49406 and texts[0, 0] == 49406 and texts[0, 9] == 49407


def test_context_too_short_is_an_error(tok):
    with pytest.raises(ValueError, match="context"):
        random_token_sequences(tok, 2, 11, torch.Generator(), 12)
