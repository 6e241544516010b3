"""Text features at the length a batch needs, not the model's full context.

CLIP's text transformer is causal and its feature is read at the EOT token, so the positions after
a batch's last EOT never influence it: running the transformer on the first L positions only (the
longest member's length, its positional embeddings and the causal mask cut to L) gives the same
features as the full context, up to float rounding. A random Lipsum-FT text of 8 ids needs 10
positions of 77; the 80 OpenAI templates with a class name need at most about 20.

This applies to open_clip's `CLIP` (the built-in text tower, the tiny model's too) with argmax or
EOS pooling; any other text tower (a CustomTextCLIP, HF towers, CoCa) is encoded as the model does.
"""

from __future__ import annotations

import torch
from torch import nn

# open_clip is imported where a text is encoded, not with this module: planning a sweep (which
# imports the methods, and so this) has no model to run, and open_clip takes seconds to import.


def used_length(model: nn.Module, tokens: torch.Tensor) -> int | None:
    """Positions the batch's features depend on (up to the last pooled token), or None when the
    model's text tower is not one this shortcut knows to be exact for."""
    from open_clip.model import CLIP
    if not isinstance(model, CLIP):
        return None
    if getattr(model, "attn_mask", None) is None or len(tokens) == 0:  # no causal mask: every position counts
        return None
    if model.text_pool_type == "argmax":
        last = tokens.argmax(dim=-1)
    elif model.text_pool_type == "eos" and getattr(model, "text_eos_id", None) is not None:
        last = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        return None
    return int(last.max()) + 1


def encode_text(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """`model.encode_text(tokens)` (unnormalised), computed over the positions the batch uses."""
    length = used_length(model, tokens)
    if length is None or length >= tokens.shape[1]:
        return model.encode_text(tokens)
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    from open_clip.transformer import text_global_pool
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, nn.Linear) else x @ model.text_projection
    return x
