"""How each domain of the embedded world draws an object: the source of distribution shift.

Every style renders on a 64 px canvas with PIL and numpy from one seeded numpy Generator, so the
same generator state gives byte-identical pixels. The photo domain carries class-typical colours
(a shortcut photo-only fine-tuning can learn and that fails elsewhere); the other domains change
texture, outline, colour statistics and clutter, as DomainNet's do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from .shapes import SHAPES, Contour, place

CANVAS = 64

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (205, 40, 40), "orange": (235, 135, 30), "yellow": (230, 210, 40),
    "green": (50, 160, 60), "blue": (40, 80, 200), "purple": (130, 55, 170),
    "pink": (235, 120, 180), "brown": (125, 80, 40), "gray": (130, 130, 130),
    "cyan": (40, 190, 210), "black": (25, 25, 25), "white": (245, 245, 245),
}
# Class-typical colours: photos (p=0.8) and paintings (p=0.5) use them.
NATURAL_COLOUR: dict[str, str] = {
    "circle": "orange", "square": "blue", "triangle": "green", "star": "yellow",
    "cross": "red", "arrow": "purple", "diamond": "cyan", "hexagon": "brown",
    "crescent": "white", "heart": "pink", "ring": "gray", "house": "red",
}
FILL_COLOURS = tuple(c for c in COLOURS if c != "black")


@dataclass(frozen=True)
class Rendered:
    """A 64 px RGB image and the attributes that captions may mention."""

    image: Image.Image
    colour: str
    radius: float


def _random_geometry(rng: np.random.Generator, shape: str, radius_range: tuple[float, float]
                     ) -> tuple[list[Contour], float]:
    radius = float(rng.uniform(*radius_range))
    margin = radius * 0.9
    centre = (float(rng.uniform(margin, CANVAS - margin)), float(rng.uniform(margin, CANVAS - margin)))
    contours = place(SHAPES[shape], centre, radius, angle=float(rng.uniform(0, 2 * math.pi)),
                     aspect=float(rng.uniform(0.8, 1.25)), shear=float(rng.uniform(-0.25, 0.25)))
    return contours, radius


def _mask(contours: list[Contour]) -> Image.Image:
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(mask)
    for pts, solid in contours:
        draw.polygon([tuple(p) for p in pts], fill=255 if solid else 0)
    return mask


def _outline(draw: ImageDraw.ImageDraw, contours: list[Contour], colour: tuple[int, ...],
             width: int) -> None:
    for pts, _ in contours:
        closed = [tuple(p) for p in pts] + [tuple(pts[0])]
        draw.line(closed, fill=colour, width=width, joint="curve")


def _pick_colour(rng: np.random.Generator, shape: str, p_natural: float) -> str:
    if rng.random() < p_natural:
        return NATURAL_COLOUR[shape]
    return str(rng.choice(FILL_COLOURS))


def _smooth_noise(rng: np.random.Generator, cells: int, channels: int = 1) -> np.ndarray:
    """Low-frequency noise in [0, 1]: random cells upsampled bicubically to the canvas."""
    layers = []
    for _ in range(channels):
        small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
        layers.append(np.asarray(small.resize((CANVAS, CANVAS), Image.BICUBIC), np.float32) / 255)
    return np.stack(layers, -1)


def _composite(background: np.ndarray, layer: np.ndarray, mask: Image.Image) -> np.ndarray:
    alpha = np.asarray(mask, np.float32)[..., None] / 255
    return background * (1 - alpha) + layer * alpha


def _to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "RGB")


def render_photo(rng: np.random.Generator, shape: str) -> Rendered:
    """Textured background, cast shadow, shaded object, sensor noise and a little blur."""
    contours, radius = _random_geometry(rng, shape, (12, 27))
    colour = _pick_colour(rng, shape, 0.8)
    top, bottom = rng.uniform(60, 220, 3), rng.uniform(40, 200, 3)
    ramp = np.linspace(0, 1, CANVAS, dtype=np.float32)[:, None, None]
    background = top * (1 - ramp) + bottom * ramp
    background = background + (_smooth_noise(rng, 8, 3) - 0.5) * rng.uniform(30, 90)
    mask = _mask(contours)
    dx, dy = rng.integers(-4, 5, 2)
    shadow = mask.transform(mask.size, Image.AFFINE, (1, 0, -int(dx), 0, 1, -int(dy)))
    shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(2)), np.float32)[..., None] / 255
    background = background * (1 - 0.45 * shadow)
    light = float(rng.uniform(0, 2 * math.pi))
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32) / CANVAS - 0.5
    shading = 1.0 + 0.5 * (np.cos(light) * xx + np.sin(light) * yy)
    layer = np.asarray(COLOURS[colour], np.float32) * shading[..., None]
    image = _composite(background, layer, mask)
    image = image + rng.normal(0, rng.uniform(4, 14), image.shape)
    blurred = _to_image(image).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
    return Rendered(blurred, colour, radius)


def render_sketch(rng: np.random.Generator, shape: str) -> Rendered:
    """Pencil on paper: outline, hatching inside the object and stray strokes."""
    contours, radius = _random_geometry(rng, shape, (12, 27))
    colour = str(rng.choice(["black", "gray", "blue"]))
    ink = tuple(int(v * 0.6) for v in COLOURS[colour])
    paper = rng.uniform(225, 252)
    image = _to_image(np.full((CANVAS, CANVAS, 3), paper) + rng.normal(0, 4, (CANVAS, CANVAS, 3)))
    hatch = Image.new("L", image.size, 0)
    hatch_draw = ImageDraw.Draw(hatch)
    angle, spacing = float(rng.uniform(0, math.pi)), float(rng.uniform(3.5, 6.5))
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    for k in np.arange(-CANVAS, CANVAS, spacing):
        start = CANVAS / 2 + normal * k - direction * CANVAS
        end = CANVAS / 2 + normal * k + direction * CANVAS
        hatch_draw.line([tuple(start), tuple(end)], fill=255, width=1)
    hatch = Image.fromarray(np.minimum(np.asarray(hatch), np.asarray(_mask(contours))))
    image.paste(Image.new("RGB", image.size, ink), mask=hatch.point(lambda v: v * 0.7))
    draw = ImageDraw.Draw(image)
    _outline(draw, contours, ink, int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(1, 4))):
        a, b = rng.uniform(0, CANVAS, 2), rng.uniform(-12, 12, 2)
        draw.line([tuple(a), tuple(a + b)], fill=ink, width=1)
    return Rendered(image, colour, radius)


def render_painting(rng: np.random.Generator, shape: str) -> Rendered:
    """Blurred colour blobs, a saturated soft-edged object with brush texture, posterised."""
    contours, radius = _random_geometry(rng, shape, (12, 27))
    colour = _pick_colour(rng, shape, 0.5)
    canvas = Image.new("RGB", (CANVAS, CANVAS), tuple(int(v) for v in rng.integers(60, 220, 3)))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(4, 8))):
        x, y = rng.uniform(-10, CANVAS, 2)
        w, h = rng.uniform(12, 36, 2)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(30, 240, 3)))
    background = np.asarray(canvas.filter(ImageFilter.GaussianBlur(5)), np.float32)
    base = np.asarray(COLOURS[colour], np.float32)
    layer = base * (0.75 + 0.5 * _smooth_noise(rng, 12))
    soft = _mask(contours).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.8, 1.8))))
    image = _to_image(_composite(background, layer, soft))
    return Rendered(ImageOps.posterize(image, int(rng.integers(2, 4))), colour, radius)


def _sparkle(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    x, y = rng.uniform(4, CANVAS - 4, 2)
    r = float(rng.uniform(2, 4))
    fill = COLOURS[str(rng.choice(FILL_COLOURS))]
    draw.polygon([(x, y - r), (x + r / 3, y), (x, y + r), (x - r / 3, y)], fill=fill)
    draw.polygon([(x - r, y), (x, y + r / 3), (x + r, y), (x, y - r / 3)], fill=fill)


def render_clipart(rng: np.random.Generator, shape: str) -> Rendered:
    """Flat fill in any colour, bold black outline, a few sparkles on a plain background."""
    contours, radius = _random_geometry(rng, shape, (12, 27))
    colour = str(rng.choice(FILL_COLOURS))
    background = (255, 255, 255) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(200, 256, 3))
    image = Image.new("RGB", (CANVAS, CANVAS), background)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 5))):
        _sparkle(draw, rng)
    image.paste(Image.new("RGB", image.size, COLOURS[colour]), mask=_mask(contours))
    _outline(draw, contours, (0, 0, 0), int(rng.integers(3, 5)))
    return Rendered(image, colour, radius)


def _jitter(points: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Resample a closed contour densely and add smooth hand-drawn wobble."""
    closed = np.vstack([points, points[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    samples = np.linspace(0, t[-1], 64, endpoint=False)
    dense = np.stack([np.interp(samples, t, closed[:, i]) for i in range(2)], 1)
    noise = rng.normal(0, sigma, (8, 2))
    k = np.linspace(0, 8, 64, endpoint=False)
    idx = k.astype(int)
    frac = (k - idx)[:, None]
    wobble = noise[idx % 8] * (1 - frac) + noise[(idx + 1) % 8] * frac
    return dense + wobble + rng.normal(0, sigma * 0.2, dense.shape)


def render_quickdraw(rng: np.random.Generator, shape: str) -> Rendered:
    """A hurried doodle: black strokes only, wobbly contour, up to two chunks left out."""
    contours, radius = _random_geometry(rng, shape, (12, 27))
    image = Image.new("RGB", (CANVAS, CANVAS), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for pts, _ in contours:
        dense = _jitter(pts, rng, sigma=float(rng.uniform(1.0, 2.6)))
        keep = np.ones(len(dense) + 1, bool)
        for _ in range(int(rng.integers(0, 3))):
            start = int(rng.integers(0, len(dense)))
            keep[start:start + int(rng.integers(4, 10))] = False
        path = np.vstack([dense, dense[:1]])
        for i in range(len(path) - 1):
            if keep[i]:
                draw.line([tuple(path[i]), tuple(path[i + 1])], fill=(0, 0, 0), width=2)
    return Rendered(image, "black", radius)


def render_infograph(rng: np.random.Generator, shape: str) -> Rendered:
    """A small object lost among bars, text-like dashes and dots."""
    contours, radius = _random_geometry(rng, shape, (7, 11))
    colour = _pick_colour(rng, shape, 0.3)
    image = Image.new("RGB", (CANVAS, CANVAS), tuple(int(v) for v in rng.integers(215, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 7))):
        x = float(rng.uniform(0, CANVAS - 6))
        height = float(rng.uniform(8, 40))
        fill = COLOURS[str(rng.choice(FILL_COLOURS))]
        draw.rectangle([x, CANVAS - height, x + rng.uniform(3, 7), CANVAS], fill=fill)
    for _ in range(int(rng.integers(3, 8))):
        x, y = rng.uniform(0, CANVAS - 14), rng.uniform(0, CANVAS)
        draw.line([(x, y), (x + rng.uniform(4, 14), y)], fill=(40, 40, 40), width=1)
    for _ in range(int(rng.integers(2, 7))):
        x, y = rng.uniform(0, CANVAS, 2)
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=COLOURS[str(rng.choice(FILL_COLOURS))])
    image.paste(Image.new("RGB", image.size, COLOURS[colour]), mask=_mask(contours))
    if rng.random() < 0.5:
        _outline(draw, contours, (30, 30, 30), 1)
    return Rendered(image, colour, radius)


STYLES: dict[str, Callable[[np.random.Generator, str], Rendered]] = {
    "photo": render_photo,
    "sketch": render_sketch,
    "painting": render_painting,
    "clipart": render_clipart,
    "quickdraw": render_quickdraw,
    "infograph": render_infograph,
}
DOMAINS: tuple[str, ...] = tuple(STYLES)
