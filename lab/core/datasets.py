"""Built-in point sets the user can generate, each a classic test of what a model can learn.

Generators are deterministic for a seed so a lesson or a bug report can be reproduced exactly.
"""

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TUTORIAL_SEED = 1

# A maker gets the point count of each class and returns one (n, 2) array per class.
Maker = Callable[[tuple[int, ...], float, np.random.Generator], list[np.ndarray]]


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    default_count: int
    default_noise: float
    classes: int  # 0 for a regression data set
    make: Maker

    @property
    def task(self) -> str:
        return "regression" if self.classes == 0 else "classification"


def _split(total: int, parts: int) -> tuple[int, ...]:
    """Split as evenly as possible; the first parts take the remainder."""
    base, extra = divmod(total, parts)
    return tuple(base + (i < extra) for i in range(parts))


def _clusters(
    centres: list[tuple[float, float]], count: int, noise: float, rng: np.random.Generator
) -> np.ndarray:
    sizes = _split(count, len(centres))
    return np.concatenate(
        [rng.normal(centre, noise, size=(n, 2)) for centre, n in zip(centres, sizes, strict=True)]
    )


def _blobs(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    return [_clusters([c], n, noise, rng) for c, n in zip([(-2, -2), (2, 2)], counts, strict=True)]


def _xor(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    centres = [[(0, 0), (1, 1)], [(0, 1), (1, 0)]]
    return [_clusters(c, n, noise, rng) for c, n in zip(centres, counts, strict=True)]


def _circles(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    parts = []
    for radius, n in zip((1.0, 2.0), counts, strict=True):
        angle = rng.uniform(0, 2 * np.pi, n)
        ring = radius * np.column_stack([np.cos(angle), np.sin(angle)])
        parts.append(ring + rng.normal(0, noise, size=(n, 2)))
    return parts


def _moons(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    # The usual pair of half circles, shifted so the whole picture is centred on the origin.
    n0, n1 = counts
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0) - 0.5, np.sin(t0) - 0.25])
    lower = np.column_stack([0.5 - np.cos(t1), 0.25 - np.sin(t1)])
    return [arc + rng.normal(0, noise, size=arc.shape) for arc in (upper, lower)]


def _spiral(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    # 1.5 turns per arm; the arms start off the origin so their inner ends stay apart.
    parts = []
    for arm, n in enumerate(counts):
        t = rng.uniform(0, 1, n)
        radius, angle = 0.5 + 2.5 * t, 3 * np.pi * t + arm * np.pi
        curve = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        parts.append(curve + rng.normal(0, noise, size=(n, 2)))
    return parts


_LINEAR_GAP = 0.25


def _linear(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Uniform points in [-3, 3]² split by a random line, leaving an empty band of half-width
    _LINEAR_GAP so a perceptron provably converges; noise then jitters every point, so noise 0
    is separable and larger noise lets points stray across the line."""
    angle = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)])
    offset = rng.uniform(-1, 1)  # near the centre, so both sides keep a good share of the square
    found: list[list[np.ndarray]] = [[], []]
    missing = list(counts)
    while any(missing):
        candidates = rng.uniform(-3, 3, size=(2 * sum(counts), 2))
        distance = candidates @ normal - offset
        for side, mask in enumerate((distance < -_LINEAR_GAP, distance > _LINEAR_GAP)):
            taken = candidates[mask][: missing[side]]
            found[side].append(taken)
            missing[side] -= len(taken)
    return [
        np.concatenate(side) + rng.normal(0, noise, size=(n, 2))
        for side, n in zip(found, counts, strict=True)
    ]


_REGRESSION_SIZE = 3.0  # points lie in [-3, 3]² and their values in about [-1, 1]


def _plane(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    """A tilted plane, value = (x + y) / 6; noise jitters the values. As in Playground."""
    xy = rng.uniform(-_REGRESSION_SIZE, _REGRESSION_SIZE, size=(counts[0], 2))
    values = xy.sum(axis=1) / (2 * _REGRESSION_SIZE) + rng.normal(0, noise, counts[0])
    return [np.column_stack((xy, values))]


def _gaussian(counts: tuple[int, ...], noise: float, rng: np.random.Generator) -> list[np.ndarray]:
    """A Gaussian bump in the middle, from -1 around it to 1 at its top."""
    xy = rng.uniform(-_REGRESSION_SIZE, _REGRESSION_SIZE, size=(counts[0], 2))
    values = 2 * np.exp(-(xy**2).sum(axis=1) / 2) - 1 + rng.normal(0, noise, counts[0])
    return [np.column_stack((xy, values))]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("blobs", "Two blobs", 100, 1.0, 2, _blobs),
        Dataset("xor", "XOR", 200, 0.2, 2, _xor),
        Dataset("circles", "Circles", 200, 0.2, 2, _circles),
        Dataset("moons", "Moons", 200, 0.1, 2, _moons),
        Dataset("spiral", "Spiral", 300, 0.1, 2, _spiral),
        Dataset("linear", "Linearly separable", 100, 0.0, 2, _linear),
        Dataset("plane", "Plane", 200, 0.02, 0, _plane),
        Dataset("gaussian", "Gaussian", 200, 0.02, 0, _gaussian),
    )
}


def generate(kind: str, count: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points of data set ``kind``: (xy float64 (N, 2), targets (N,)), the targets
    int64 class labels for a classification set and float64 values for a regression one.

    Points come shuffled, so code that walks them in order does not see one class at a time.
    """
    if not isinstance(kind, str) or kind not in DATASETS:
        raise ValueError(f"unknown data set {kind!r}; expected one of {', '.join(DATASETS)}")
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
        raise ValueError(f"point count must be a whole number of at least 1, got {count!r}")
    if not isinstance(noise, numbers.Real) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number of at least 0, got {noise!r}")
    dataset = DATASETS[kind]
    rng = np.random.default_rng(seed)
    if dataset.task == "regression":
        (rows,) = dataset.make((int(count),), float(noise), rng)
        return rows[:, :2].copy(), rows[:, 2].copy()
    parts = dataset.make(_split(int(count), dataset.classes), float(noise), rng)
    xy = np.concatenate(parts).astype(np.float64)
    labels = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts])
    order = rng.permutation(len(xy))
    return xy[order], labels[order]


def split_mask(count: int, percent: int, seed: int) -> np.ndarray:
    """Which of `count` points to hold out for testing: `percent` of them (rounded), drawn
    by the seed, so the same points, percentage and seed always give the same split."""
    held_out = round(count * percent / 100)
    test = np.zeros(count, dtype=bool)
    test[np.random.default_rng([seed, percent]).permutation(count)[:held_out]] = True
    return test


def tutorial_points() -> tuple[np.ndarray, np.ndarray]:
    """The data the app starts with: the tutorial's two blobs, the same every launch."""
    blobs = DATASETS["blobs"]
    return generate("blobs", blobs.default_count, blobs.default_noise, TUTORIAL_SEED)
