import numpy as np
import pytest

from lab.core.boundary import grid_points, region_image, separating_segments
from lab.core.colors import CLASS_COLORS

RECT = (-2.0, -1.0, 3.0, 2.0)


def scores(W, b, points):
    return np.asarray(points) @ W + b


def points_along(segment, n=21):
    t = np.linspace(0.0, 1.0, n)[:, None]
    return segment[0] + t * (segment[1] - segment[0])


def inside(rect, points, tol=1e-9):
    x0, y0, x1, y1 = rect
    p = np.asarray(points)
    return bool(
        np.all(p[:, 0] >= x0 - tol)
        and np.all(p[:, 0] <= x1 + tol)
        and np.all(p[:, 1] >= y0 - tol)
        and np.all(p[:, 1] <= y1 + tol)
    )


def test_two_classes_give_the_full_line_clipped_to_the_rect():
    # Boundary: x = 0.5 (score difference 2x - 1).
    W = np.array([[1.0, -1.0], [0.0, 0.0]])
    b = np.array([-0.5, 0.5])
    segments = separating_segments(W, b, RECT)
    assert len(segments) == 1
    i, j, ends = segments[0]
    assert (i, j) == (0, 1)
    assert ends.shape == (2, 2)
    np.testing.assert_allclose(sorted(ends[:, 0]), [0.5, 0.5])
    np.testing.assert_allclose(sorted(ends[:, 1]), [-1.0, 2.0])


def test_huge_weights_of_a_diverging_run_give_the_same_line_without_overflow():
    W = np.array([[1.0, -1.0], [0.0, 0.0]])
    b = np.array([-0.5, 0.5])
    with np.errstate(all="raise"):
        ((_, _, huge),) = separating_segments(W * 1e300, b * 1e300, RECT)
    ((_, _, plain),) = separating_segments(W, b, RECT)
    np.testing.assert_allclose(huge, plain)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_weights_have_no_boundary(bad):
    W = np.array([[1.0, -1.0], [0.0, bad]])
    with np.errstate(all="raise"):
        assert separating_segments(W, np.zeros(2), RECT) == []


def test_points_on_segments_tie_between_the_two_best_classes():
    rng = np.random.default_rng(3)
    for _ in range(20):
        W = rng.normal(size=(2, 4))
        b = rng.normal(size=4)
        for i, j, ends in separating_segments(W, b, RECT):
            assert inside(RECT, ends)
            s = scores(W, b, points_along(ends))
            np.testing.assert_allclose(s[:, i], s[:, j], atol=1e-9)
            others = np.delete(s, [i, j], axis=1)
            assert np.all(s[:, i][:, None] >= others - 1e-9)


def test_pairwise_line_dominated_by_a_third_class_is_clipped():
    # Classes 0 and 1 split at x = 0; class 2 wins wherever y > 0.5.
    W = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 10.0]])
    b = np.array([0.0, 0.0, -5.0])
    rect = (-1.0, -1.0, 1.0, 1.0)
    pieces = {(i, j): ends for i, j, ends in separating_segments(W, b, rect)}
    ends01 = pieces[(0, 1)]
    np.testing.assert_allclose(ends01[:, 0], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sorted(ends01[:, 1]), [-1.0, 0.5], atol=1e-12)
    # The other two boundaries start where the 0/1 line stops (a triple point).
    for pair in ((0, 2), (1, 2)):
        assert pair in pieces
        assert np.any(np.all(np.isclose(pieces[pair], [0.0, 0.5]), axis=1))


def test_lines_outside_the_rect_and_degenerate_pairs_are_omitted():
    W = np.array([[1.0, -1.0, 1.0], [0.0, 0.0, 0.0]])
    b = np.array([-20.0, 0.0, 0.0])  # 0|1 at x = 10; 0 and 2 share a normal; 1|2 at x = 0
    segments = separating_segments(W, b, RECT)
    pairs = [(i, j) for i, j, _ in segments]
    assert (0, 1) not in pairs
    assert (0, 2) not in pairs
    assert pairs == [(1, 2)]
    np.testing.assert_allclose(segments[0][2][:, 0], [0.0, 0.0], atol=1e-12)


def test_all_zero_model_has_no_boundary():
    assert separating_segments(np.zeros((2, 3)), np.zeros(3), RECT) == []


def test_region_image_colours_the_winning_class_and_fades_when_unsure():
    probs = np.array(
        [
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]],
        ]
    )
    image = region_image(probs, CLASS_COLORS, alpha=0.5)
    assert image.dtype == np.uint8
    assert image.shape == (2, 2, 4)

    def rgb(hex_color):
        return [int(hex_color[p : p + 2], 16) for p in (1, 3, 5)]

    assert list(image[0, 0, :3]) == rgb(CLASS_COLORS[0])
    assert list(image[0, 1, :3]) == rgb(CLASS_COLORS[1])
    # Less sure: between class 2's colour and white.
    partly = image[1, 0, :3].astype(int)
    assert np.all(partly >= rgb(CLASS_COLORS[2]))
    assert np.any(partly > rgb(CLASS_COLORS[2]))
    # A dead heat is white.
    assert list(image[1, 1, :3]) == [255, 255, 255]
    assert np.all(image[..., 3] == 128)


def test_grid_points_line_up_with_the_region_image():
    rect = (0.0, 10.0, 4.0, 16.0)
    nx, ny = 4, 3
    points = grid_points(rect, nx, ny)
    assert points.shape == (nx * ny, 2)
    # A "model" that says class 1 in the right half, class 0 elsewhere.
    right = points[:, 0] > 2.0
    probs = np.stack([~right, right], axis=1).astype(float).reshape(ny, nx, 2)
    image = region_image(probs, CLASS_COLORS, alpha=1.0)
    cells = points.reshape(ny, nx, 2)
    np.testing.assert_allclose(cells[0, :, 0], [0.5, 1.5, 2.5, 3.5])  # columns run along x
    np.testing.assert_allclose(cells[:, 0, 1], [11.0, 13.0, 15.0])  # rows run along y
    class1 = [int(CLASS_COLORS[1][p : p + 2], 16) for p in (1, 3, 5)]
    assert list(image[2, 3, :3]) == class1
    assert list(image[0, 3, :3]) == class1
    assert list(image[1, 0, :3]) != class1


@pytest.mark.parametrize("k", [1, 2, 4])
def test_region_image_handles_any_class_count(k):
    probs = np.random.default_rng(0).dirichlet(np.ones(k), size=(5, 7))
    image = region_image(probs, CLASS_COLORS, alpha=0.3)
    assert image.shape == (5, 7, 4)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_region_image_blends_each_pixel_from_white_to_the_winners_colour(k):
    probs = np.random.default_rng(k).dirichlet(np.ones(k), size=(9, 11))
    image = region_image(probs, CLASS_COLORS, alpha=0.3)
    # The same blend written out per pixel: certainty 1/k is white, certainty 1 the colour.
    for (row, column), p in np.ndenumerate(probs.max(axis=-1)):
        winner = probs[row, column].argmax()
        colour = np.array([int(CLASS_COLORS[winner][i : i + 2], 16) for i in (1, 3, 5)])
        strength = (p - 1 / k) / (1 - 1 / k)
        expected = 255 - strength * (255 - colour)
        assert np.all(np.abs(image[row, column, :3] - expected) <= 1.0)
        assert image[row, column, 3] == round(0.3 * 255)
