import numpy as np
import pytest

from lab.core.datasets import DATASETS, generate, tutorial_points
from lab.core.points import MAX_CLASSES, validate_points

KINDS = [name for name, dataset in DATASETS.items() if dataset.task == "classification"]
REGRESSION = [name for name, dataset in DATASETS.items() if dataset.task == "regression"]


def test_kinds_in_documented_order():
    assert KINDS == ["blobs", "xor", "circles", "moons", "spiral", "linear"]
    assert REGRESSION == ["plane", "gaussian"]


@pytest.mark.parametrize("kind", REGRESSION)
def test_regression_sets_give_a_value_per_point(kind):
    dataset = DATASETS[kind]
    xy, values = generate(kind, 500, 0.0, seed=0)
    assert xy.shape == (500, 2) and values.shape == (500,) and values.dtype == np.float64
    assert np.abs(xy).max() <= 3 and values.min() >= -1.01 and values.max() <= 1.01
    noisy = generate(kind, 500, dataset.default_noise, seed=0)[1]
    assert 0 < np.std(noisy - values) < 3 * dataset.default_noise


def test_the_plane_is_a_plane_and_the_bump_peaks_in_the_middle():
    xy, values = generate("plane", 200, 0.0, seed=1)
    np.testing.assert_allclose(values, (xy[:, 0] + xy[:, 1]) / 6)
    xy, values = generate("gaussian", 2000, 0.0, seed=1)
    assert values[np.hypot(*xy.T).argmin()] > 0.9 and values[np.hypot(*xy.T).argmax()] < -0.9


@pytest.mark.parametrize("kind", KINDS)
def test_dataset_entry_is_consistent(kind):
    dataset = DATASETS[kind]
    assert dataset.name == kind
    assert dataset.label
    assert dataset.default_count >= 1 and dataset.default_noise >= 0
    assert 2 <= dataset.classes <= MAX_CLASSES
    xy, labels = generate(kind, dataset.default_count, dataset.default_noise, seed=0)
    assert len(xy) == dataset.default_count
    assert set(labels.tolist()) == set(range(dataset.classes))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("count", [1, 2, 7, 100, 1001])
def test_exact_count_balanced_classes(kind, count):
    xy, labels = generate(kind, count, 0.1, seed=3)
    assert xy.shape == (count, 2) and xy.dtype == np.float64
    assert labels.shape == (count,) and labels.dtype == np.int64
    validate_points(xy, labels)  # finite, labels in range
    per_class = np.bincount(labels, minlength=DATASETS[kind].classes)
    assert per_class.max() - per_class.min() <= 1


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_points(kind):
    first = generate(kind, 150, 0.3, seed=42)
    second = generate(kind, 150, 0.3, seed=42)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("kind", KINDS)
def test_different_seeds_differ(kind):
    first, _ = generate(kind, 150, 0.3, seed=1)
    second, _ = generate(kind, 150, 0.3, seed=2)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("kind", KINDS)
def test_noise_zero_works(kind):
    xy, labels = generate(kind, 60, 0.0, seed=5)
    assert np.isfinite(xy).all() and len(labels) == 60


def test_classes_are_shuffled_not_grouped():
    _, labels = generate("blobs", 100, 1.0, seed=0)
    assert labels[:50].tolist() != [labels[0]] * 50


def test_blobs_centres_and_spread():
    xy, labels = generate("blobs", 4000, 0.5, seed=7)
    np.testing.assert_allclose(xy[labels == 0].mean(axis=0), [-2, -2], atol=0.05)
    np.testing.assert_allclose(xy[labels == 1].mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(xy[labels == 0].std(axis=0), [0.5, 0.5], rtol=0.1)


def test_blobs_without_noise_sit_on_centres():
    xy, labels = generate("blobs", 10, 0.0, seed=7)
    np.testing.assert_array_equal(xy[labels == 0], np.full((5, 2), -2.0))
    np.testing.assert_array_equal(xy[labels == 1], np.full((5, 2), 2.0))


def test_xor_clusters_at_corners_with_xor_labels():
    xy, labels = generate("xor", 400, 0.0, seed=1)
    corners = {tuple(p) for p in xy.tolist()}
    assert corners == {(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)}
    x, y = xy[:, 0].astype(int), xy[:, 1].astype(int)
    np.testing.assert_array_equal(labels, x ^ y)
    assert np.bincount(x * 2 + y).tolist() == [100, 100, 100, 100]


def test_xor_noise_is_spread_around_corners():
    xy, _ = generate("xor", 4000, 0.2, seed=1)
    nearest = np.round(xy).clip(0, 1)
    np.testing.assert_allclose((xy - nearest).std(), 0.2, rtol=0.15)


def test_circles_inner_ring_is_class_zero():
    xy, labels = generate("circles", 400, 0.0, seed=2)
    radius = np.hypot(xy[:, 0], xy[:, 1])
    assert radius[labels == 0].max() < radius[labels == 1].min()


def test_moons_without_noise_lie_on_two_opposite_half_circles():
    xy, labels = generate("moons", 200, 0.0, seed=2)
    upper = xy[labels == 0] + (0.5, 0.25)  # centre of the upper arc
    lower = xy[labels == 1] - (0.5, 0.25)
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0)
    assert (upper[:, 1] >= 0).all() and (lower[:, 1] <= 0).all()


def test_spiral_arms_are_point_symmetric():
    # Arm 1 is arm 0 turned by half a turn, so the two arms never share a radius-angle pair.
    xy, labels = generate("spiral", 300, 0.0, seed=4)
    radius = np.hypot(xy[:, 0], xy[:, 1])
    assert radius.min() >= 0.5 and radius.max() <= 3.0
    angle = np.arctan2(xy[:, 1], xy[:, 0])
    turn = (radius - 0.5) / 2.5 * 3 * np.pi + labels * np.pi  # angle the generator used
    np.testing.assert_allclose(np.cos(angle - turn), 1.0, atol=1e-9)


def _perceptron_separates(xy: np.ndarray, labels: np.ndarray, epochs: int = 2000) -> bool:
    """Classic perceptron with bias; it finds a separating line iff one exists (given time)."""
    features = np.column_stack([xy, np.ones(len(xy))])
    target = np.where(labels == 1, 1.0, -1.0)
    w = np.zeros(3)
    for _ in range(epochs):
        mistakes = 0
        for f, t in zip(features, target, strict=True):
            if t * (f @ w) <= 0:
                w += t * f
                mistakes += 1
        if not mistakes:
            return True
    return False


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_linear_is_linearly_separable_without_noise(seed):
    xy, labels = generate("linear", 200, 0.0, seed=seed)
    assert _perceptron_separates(xy, labels)


def test_linear_noise_jitters_points_across_the_line():
    xy, labels = generate("linear", 400, 1.0, seed=0)
    assert not _perceptron_separates(xy, labels, epochs=50)


def test_xor_is_not_linearly_separable():
    # Guards the check above: the perceptron test must be able to fail.
    xy, labels = generate("xor", 200, 0.0, seed=0)
    assert not _perceptron_separates(xy, labels, epochs=50)


def test_tutorial_points_are_fixed_blobs():
    xy, labels = tutorial_points()
    again = tutorial_points()
    np.testing.assert_array_equal(xy, again[0])
    np.testing.assert_array_equal(labels, again[1])
    assert len(xy) == 100 and np.bincount(labels).tolist() == [50, 50]
    assert xy[labels == 0].mean() < 0 < xy[labels == 1].mean()


@pytest.mark.parametrize(
    "kind, count, noise, message",
    [
        ("nope", 10, 0.1, "unknown data set"),
        (None, 10, 0.1, "unknown data set"),
        ("blobs", 0, 0.1, "count"),
        ("blobs", -5, 0.1, "count"),
        ("blobs", 2.5, 0.1, "count"),
        ("blobs", True, 0.1, "count"),
        ("blobs", 10, -0.1, "noise"),
        ("blobs", 10, float("nan"), "noise"),
        ("blobs", 10, float("inf"), "noise"),
    ],
)
def test_bad_arguments_raise(kind, count, noise, message):
    with pytest.raises(ValueError, match=message):
        generate(kind, count, noise, seed=0)
