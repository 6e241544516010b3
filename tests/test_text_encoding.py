"""Short-context text encoding: features at the batch's own length equal full-context features."""

from __future__ import annotations

import open_clip
import pytest
import torch

from robustbench_ft.models.loading import load_clip
from robustbench_ft.models.text import encode_text, used_length
from robustbench_ft.models.tokenizers import random_token_sequences


def _full(model, tokens):
    return model.encode_text(tokens)


@pytest.fixture(scope="module")
def vit_b16():
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-16", pretrained=None).eval()
    return model, open_clip.get_tokenizer("ViT-B-16")


def test_the_tiny_models_prompts_and_random_texts_encode_the_same_at_their_length():
    clip = load_clip("tiny-clip", "embedded", torch.device("cpu"))
    prompts = clip.tokenizer(["a photo of a circle", "a sketch of a house", "star"])
    texts = random_token_sequences(clip.tokenizer, 80, 8, torch.Generator().manual_seed(0), clip.context_length)
    for tokens in (prompts, texts):
        length = used_length(clip.model, tokens)
        assert length is not None and length < tokens.shape[1]
        with torch.no_grad():
            assert torch.allclose(encode_text(clip.model, tokens), _full(clip.model, tokens), atol=1e-5)
    assert used_length(clip.model, texts) == 8 + 2  # SOT, 8 ids, EOT


def test_vit_b16_features_at_short_context_equal_the_full_77(vit_b16):
    model, tokenizer = vit_b16
    prompts = tokenizer(["a bad photo of a great white shark.", "a sculpture of a tench.", "itap of a goldfish."])
    randoms = torch.zeros(16, 77, dtype=torch.long)
    randoms[:, 0], randoms[:, 9] = tokenizer.sot_token_id, tokenizer.eot_token_id
    randoms[:, 1:9] = torch.randint(0, 49406, (16, 8), generator=torch.Generator().manual_seed(1))
    for tokens, length in ((prompts, None), (randoms, 10)):
        with torch.no_grad():
            short, full = encode_text(model, tokens), _full(model, tokens)
        assert short.shape == full.shape and torch.allclose(short, full, atol=1e-5), (short - full).abs().max()
        assert length is None or used_length(model, tokens) == length


def test_gradients_flow_through_the_short_path():
    import copy
    clip = load_clip("tiny-clip", "embedded", torch.device("cpu"))
    model = copy.deepcopy(clip.model)
    tokens = clip.tokenizer(["a photo of a circle", "a sketch of a house"])
    for p in model.parameters():
        p.requires_grad_(True)
    grads = []
    for encode in (encode_text, _full):
        model.zero_grad()
        encode(model, tokens).pow(2).sum().backward()
        grads.append(model.token_embedding.weight.grad.clone())
    assert grads[0].abs().max() > 1 and torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-4)


def test_text_towers_it_does_not_know_are_encoded_in_full():
    model = torch.nn.Linear(2, 2)
    assert used_length(model, torch.zeros(1, 5, dtype=torch.long)) is None
