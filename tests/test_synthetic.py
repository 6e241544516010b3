"""The embedded world: determinism, splits, balance, and what captions say."""

from __future__ import annotations

import numpy as np
import pytest

from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.data.captions import DOMAIN_WORDS, PLACEHOLDERS, caption_vocabulary, make_caption
from robustbench_ft.data.shapes import CLASSES
from robustbench_ft.data.styles import DOMAINS
from robustbench_ft.data.synthetic import generate

# SHA-256 of generate(0, "test", d, per_class=2): pins the generator's output byte for byte.
# A deliberate change of the world must bump GENERATOR_VERSION and update these.
GOLDEN_DIGESTS = {
    "photo": "dabbeeddd3fa230f03f5024006cd383fdb26ed1962fbded7bb6317f24c15cf62",
    "sketch": "23cd79d23b8932d574b3fa30f16dbf43922f3bf1ac707c91b0e7ad9f76292530",
    "painting": "8e799a0f9cc960b60948d7dee5cceea88b5764624385aed21fb2479a3646d107",
    "clipart": "72545fe7c7a062d2809e9546fc661a1f97983da8e2fce7bfb86fe4f66725a188",
    "quickdraw": "b15a1db134f2fb98ce9b3202a9def95a71136cf5d0442b91e8d5863182fd5383",
    "infograph": "45be4a8c4e5f691f8c10199841eee159dd9c8487b4047784b8efff435e8f62bc",
}


def test_world_size():
    assert len(CLASSES) >= 10 and len(DOMAINS) >= 5
    assert DOMAINS[0] == "photo"


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_seed_gives_identical_bytes(domain):
    one = generate(0, "test", domain, per_class=2, workers=1)
    two = generate(0, "test", domain, per_class=2, workers=2)
    assert one.digest() == two.digest()
    assert one.digest() == GOLDEN_DIGESTS[domain]


def test_other_seed_or_split_gives_other_images():
    base = generate(0, "test", "photo", per_class=1, workers=1)
    assert generate(1, "test", "photo", per_class=1, workers=1).digest() != base.digest()
    assert generate(0, "train", "photo", per_class=1, workers=1).digest() != base.digest()


def test_images_are_small_rgb_and_class_balanced():
    arrays = generate(0, "val", "sketch", per_class=3, workers=1)
    assert arrays.images.shape == (36, 32, 32, 3) and arrays.images.dtype == np.uint8
    assert np.bincount(arrays.labels).tolist() == [3] * 12
    assert arrays.images.std() > 5  # not blank


def test_domains_differ_in_pixel_statistics():
    means = {d: generate(0, "test", d, per_class=2, workers=1).images.mean() for d in DOMAINS}
    assert means["quickdraw"] > means["photo"]  # white paper vs textured scenes
    assert len({round(float(m)) for m in means.values()}) >= 4


def test_embedded_split_sizes():
    bench = load_benchmark("embedded")
    assert bench.id_split == "photo" and set(bench.ood_splits) == set(DOMAINS) - {"photo"}
    assert bench.per_class == {"train": 400, "val": 50, "test": 150}
    assert len(bench.val_set()) == 600
    assert len(bench.train_set()) == 4800


def test_captions_name_domain_class_colour_and_stay_in_vocabulary():
    rng = np.random.default_rng(0)
    vocab = set(caption_vocabulary())
    left_out = named_domain = named_colour = 0
    for i in range(2000):
        cls, domain = CLASSES[i % 12], DOMAINS[i % 6]
        caption = make_caption(rng, cls, domain, "red", "small" if i % 2 else None)
        words = caption.split()
        assert set(words) <= vocab
        assert not any(w in words for d in DOMAINS if d != domain for w in DOMAIN_WORDS[d])
        named_domain += any(w in words for w in DOMAIN_WORDS[domain])
        named_colour += "red" in words
        if cls not in words:
            assert any(p in words for p in PLACEHOLDERS)
            left_out += 1
    assert 0.2 < left_out / 2000 < 0.3
    # 8 of the 9 templates name the domain ("a red star" does not), 5 of 9 the colour
    assert 0.85 < named_domain / 2000 < 0.93 and 0.5 < named_colour / 2000 < 0.62
    wordings = {make_caption(rng, "star", "photo", "red", "small") for _ in range(200)}
    assert len(wordings) >= 10
