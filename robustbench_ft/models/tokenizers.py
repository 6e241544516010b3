"""Tokenizers and the random token sequences Lipsum-FT feeds the text encoder.

The tiny CLIP uses a word vocabulary of its own instead of CLIP's 49,408-entry BPE: the BPE
embedding table alone (49,408 x 64) would be 12.6 MB, over the 10 MB budget for shipped weights,
while the embedded world's captions need only a few dozen words. Ids follow open_clip's
conventions so its text tower works unchanged: 0 pads, SOT and EOT come last and EOT is the
largest id (open_clip pools the text features at the argmax token).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, Sequence

import torch


class Tokenizer(Protocol):
    """What the harness needs of a tokenizer: open_clip's and ours both fit."""

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None
                 ) -> torch.Tensor: ...


class WordTokenizer:
    """Whitespace word tokenizer over a closed vocabulary (pad=0, words, SOT, EOT)."""

    def __init__(self, words: Sequence[str], context_length: int) -> None:
        if len(set(words)) != len(words):
            raise ValueError("vocabulary words must be unique")
        self.words = list(words)
        self.context_length = context_length
        self.pad_token_id = 0
        self.sot_token_id = len(self.words) + 1
        self.eot_token_id = len(self.words) + 2
        self.vocab_size = len(self.words) + 3
        self._ids = {w: i + 1 for i, w in enumerate(self.words)}

    @classmethod
    def from_file(cls, path: str | Path) -> "WordTokenizer":
        data = json.loads(Path(path).read_text())
        return cls(data["words"], data["context_length"])

    def to_dict(self) -> dict:
        return {"words": self.words, "context_length": self.context_length}

    def encode(self, text: str) -> list[int]:
        """Word ids of a text, without SOT/EOT; an unknown word is an error, not an UNK."""
        ids = []
        for word in text.lower().split():
            if word not in self._ids:
                raise ValueError(f"word {word!r} is not in the tiny CLIP vocabulary "
                                 f"({len(self.words)} words: {', '.join(self.words)})")
            ids.append(self._ids[word])
        return ids

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Inverse of encode/__call__: special and padding ids are dropped."""
        return " ".join(self.words[i - 1] for i in map(int, ids) if 0 < i <= len(self.words))

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None
                 ) -> torch.Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        length = context_length or self.context_length
        out = torch.zeros(len(texts), length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.sot_token_id] + self.encode(text)[: length - 2] + [self.eot_token_id]
            out[row, : len(ids)] = torch.tensor(ids)
        return out

    def sampleable_ids(self) -> tuple[int, int]:
        """Half-open id range of ordinary words, the pool for random texts."""
        return 1, len(self.words) + 1


def sampleable_ids(tokenizer: object) -> tuple[int, int]:
    """Id range random texts draw from: every id except padding/special ones.

    CLIP's BPE puts SOT=49406 and EOT=49407 last, so the paper draws from [0, 49406).
    """
    if hasattr(tokenizer, "sampleable_ids"):
        return tokenizer.sampleable_ids()
    sot = getattr(tokenizer, "sot_token_id", None)
    eot = getattr(tokenizer, "eot_token_id", None)
    if sot is None or eot is None:
        raise TypeError(f"{type(tokenizer).__name__} exposes no sot/eot token ids; random-text "
                        "regularisers need them")
    return 0, min(sot, eot)


def text_token_ids(tokenizer: object, texts: Sequence[str]) -> set[int]:
    """Every ordinary token id the tokenizer uses to write `texts` (no padding, SOT or EOT)."""
    ids = tokenizer(list(texts)).flatten().tolist()
    special = {0, getattr(tokenizer, "sot_token_id", None), getattr(tokenizer, "eot_token_id", None)}
    return set(ids) - special


def random_token_sequences(tokenizer: object, count: int, length: int,
                           generator: torch.Generator, context_length: int,
                           pool: torch.Tensor | None = None) -> torch.Tensor:
    """`count` texts of `length` uniform random ids wrapped as [SOT] ids [EOT], zero-padded.

    The ids are uniform over every ordinary id, or over `pool` (a 1-D tensor of allowed ids)."""
    low, high = sampleable_ids(tokenizer)
    if length + 2 > context_length:
        raise ValueError(f"random texts of {length} ids need a context of {length + 2}, "
                         f"the model has {context_length}")
    if pool is None:
        ids = torch.randint(low, high, (count, length), generator=generator)
    else:
        ids = pool[torch.randint(0, len(pool), (count, length), generator=generator)]
    out = torch.zeros(count, context_length, dtype=torch.long)
    out[:, 0] = tokenizer.sot_token_id
    out[:, 1:length + 1] = ids
    out[:, length + 1] = tokenizer.eot_token_id
    return out
