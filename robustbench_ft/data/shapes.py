"""The twelve object classes of the embedded world, as polygons in unit coordinates.

Each class is a list of (polygon, solid) contours: solid contours are filled, the others are cut
out again (ring, crescent). Keeping shapes as plain data makes every domain style (filled, outlined,
jittered, hatched) a different way of drawing the same geometry.
"""

from __future__ import annotations

import math

import numpy as np

Contour = tuple[np.ndarray, bool]


def regular_polygon(n: int, radius: float = 1.0, phase: float = 0.0,
                    centre: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Vertices of a regular n-gon; a 48-gon stands in for a circle."""
    angles = phase + 2 * math.pi * np.arange(n) / n
    return np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)


def _star() -> np.ndarray:
    angles = -math.pi / 2 + math.pi * np.arange(10) / 5
    radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], 1) / 17.0


def _poly(points: list[tuple[float, float]]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


SHAPES: dict[str, list[Contour]] = {
    "circle": [(regular_polygon(48), True)],
    "square": [(regular_polygon(4, 1.0, math.pi / 4), True)],
    "triangle": [(regular_polygon(3, 1.0, -math.pi / 2), True)],
    "star": [(_star(), True)],
    "cross": [(_poly([(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3),
                      (0.3, 1), (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)]), True)],
    "arrow": [(_poly([(-1, -0.28), (0.15, -0.28), (0.15, -0.7), (1, 0), (0.15, 0.7), (0.15, 0.28),
                      (-1, 0.28)]), True)],
    "diamond": [(_poly([(0, -1), (0.55, 0), (0, 1), (-0.55, 0)]), True)],
    "hexagon": [(regular_polygon(6), True)],
    "crescent": [(regular_polygon(48), True),
                 (regular_polygon(48, 0.85, 0.0, (0.45, -0.15)), False)],
    "heart": [(_heart(), True)],
    "ring": [(regular_polygon(48), True), (regular_polygon(48, 0.55), False)],
    "house": [(_poly([(-0.7, 0.9), (0.7, 0.9), (0.7, 0.0), (0.95, 0.0), (0.0, -0.95),
                      (-0.95, 0.0), (-0.7, 0.0)]), True)],
}

CLASSES: tuple[str, ...] = tuple(SHAPES)


def place(contours: list[Contour], centre: tuple[float, float], radius: float, angle: float,
          aspect: float, shear: float) -> list[Contour]:
    """Map unit contours to canvas pixels: scale by aspect, shear, rotate, scale, translate."""
    sx, sy = math.sqrt(aspect), 1.0 / math.sqrt(aspect)
    c, s = math.cos(angle), math.sin(angle)
    matrix = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    offset = np.asarray(centre)
    return [((pts @ matrix.T) * radius + offset, solid) for pts, solid in contours]
