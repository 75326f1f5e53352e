"""A node's value or gradient as text: in full when small, else summed up."""

import math

import numpy as np
import pytest

from lab.core.array_text import (
    NOTHING,
    array_stats,
    describe,
    histogram,
    matrix_text,
    number_text,
    shape_text,
    short_text,
)


@pytest.mark.parametrize(
    ("shape", "text"), [((), "scalar"), ((8,), "8"), ((2, 8), "2×8"), ((0, 3), "0×3")]
)
def test_shape_text(shape, text):
    assert shape_text(shape) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.69314718, "0.6931"), (-12.3456, "-12.35"), (12345.0, "1.234e+04"), (3, "3"),
     (math.nan, "nan"), (-math.inf, "-inf")],
)
def test_numbers_keep_four_significant_digits(value, text):
    assert number_text(value) == text


def test_a_small_matrix_is_shown_in_full_in_aligned_columns():
    text = matrix_text(np.array([[1.0, -0.5], [123.456, 2.0]], dtype=np.float32))
    assert text == "    1  -0.5\n123.5     2"
    assert matrix_text(np.ones((8, 8))).count("\n") == 7


def test_a_vector_is_one_row_and_a_number_is_itself():
    assert matrix_text([0.125, -0.5, 3.0]) == "0.125  -0.5  3"
    assert matrix_text(0.5) == matrix_text(np.array(0.5)) == matrix_text(np.float32(0.5)) == "0.5"
    assert matrix_text(np.zeros(0)) == "[]"


@pytest.mark.parametrize("shape", [(9,), (9, 2), (2, 9), (2, 2, 2)])
def test_bigger_arrays_are_not_shown_in_full(shape):
    assert matrix_text(np.zeros(shape)) is None


def test_non_finite_entries_are_shown_as_such():
    assert matrix_text([[math.nan, 1.0], [math.inf, -math.inf]]) == "nan     1\ninf  -inf"


def test_stats_of_an_array():
    stats = array_stats(np.array([[3.0, -4.0], [0.0, 0.0]], dtype=np.float32))
    assert stats.shape == (2, 2)
    assert (stats.norm, stats.min, stats.max, stats.mean) == (5.0, -4.0, 3.0, -0.25)
    assert (stats.nan, stats.inf) == (0, 0)


def test_stats_of_a_number():
    stats = array_stats(2.5)
    assert stats.shape == () and stats.norm == stats.min == stats.max == stats.mean == 2.5


def test_stats_set_nan_and_inf_apart():
    stats = array_stats([1.0, math.nan, math.inf, -math.inf, -1.0, math.nan])
    assert (stats.nan, stats.inf) == (2, 2)
    assert (stats.norm, stats.min, stats.max, stats.mean) == (math.sqrt(2), -1.0, 1.0, 0.0)


def test_stats_without_finite_entries():
    for values in [np.full((3, 3), math.nan), np.zeros((0, 4))]:
        stats = array_stats(values)
        assert stats.norm == 0 and math.isnan(stats.min) and math.isnan(stats.mean)
    assert array_stats(np.full(4, math.nan)).nan == 4


def test_stats_of_huge_values_do_not_overflow():
    stats = array_stats(np.full(4, 1e200))
    assert stats.norm == pytest.approx(2e200) and stats.mean == pytest.approx(1e200)


def test_histogram_counts_every_finite_entry_in_bins():
    values = np.random.default_rng(0).standard_normal(1000)
    counts, edges = histogram(values, bins=10)
    assert counts.shape == (10,) and edges.shape == (11,)
    assert counts.sum() == 1000
    assert edges[0] == values.min() and edges[-1] == values.max()


def test_histogram_leaves_out_nan_and_inf():
    counts, edges = histogram([1.0, 2.0, math.nan, math.inf, -math.inf], bins=2)
    assert counts.tolist() == [1, 1] and edges.tolist() == [1.0, 1.5, 2.0]


@pytest.mark.parametrize(
    "values", [[3.0, 3.0], [0.0], [], [math.nan, math.inf], [1e308, 1e308], [-1.7e308, 1.7e308]]
)
def test_histogram_always_has_increasing_finite_edges(values):
    counts, edges = histogram(values, bins=5)
    assert counts.shape == (5,) and edges.shape == (6,)
    assert np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    assert counts.sum() == np.isfinite(values).sum()


def test_a_constant_array_lands_in_the_middle_bin():
    counts, edges = histogram(np.full(7, 3.0), bins=5)
    assert counts.tolist() == [0, 0, 7, 0, 0] and edges[0] < 3 < edges[-1]


def test_histogram_needs_a_bin():
    with pytest.raises(ValueError, match="bin"):
        histogram([1.0], bins=0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.69314718, "0.6931"),
        (np.array(0.5, dtype=np.float32), "0.5"),
        ([0.12, -0.5], "[0.12, -0.5]"),
        (np.array([3.0, 4.0, 0.0, 0.0, 0.0]), "‖·‖ 5 (5)"),
        (np.full((2, 8), 0.5), "‖·‖ 2 (2×8)"),
        (np.array([[3.0, math.nan], [4.0, math.inf]]), "‖·‖ 5 (2×2), 1 NaN, 1 inf"),
        ([math.nan], "[nan]"),
        (None, NOTHING),
    ],
)
def test_short_text_is_one_line(value, text):
    assert short_text(value) == text


def test_describe_shows_a_small_value_in_full():
    assert describe([[1.0, 2.0], [3.0, 4.0]]) == "1  2\n3  4"
    assert describe(0.25) == "0.25"
    assert describe(None) == NOTHING


def test_describe_sums_up_a_big_value():
    values = np.arange(18.0).reshape(9, 2)
    assert describe(values) == "\n".join(
        ["shape 9×2", f"‖·‖ {np.linalg.norm(values):.4g}", "min 0", "max 17", "mean 8.5"]
    )


def test_describe_counts_what_is_not_finite():
    values = np.ones((10, 10))
    values[0, :3] = math.nan
    values[1, 0] = -math.inf
    assert describe(values).splitlines() == [
        "shape 10×10", "‖·‖ 9.798", "min 1", "max 1", "mean 1", "3 NaN, 1 inf"
    ]
    assert describe(np.full((9, 9), math.nan)) == "shape 9×9\n81 NaN"
    assert describe(np.zeros((0, 9))) == "shape 0×9\nempty"
