"""The numpy helpers' faster routes give numpy's own results."""

import tracemalloc

import numpy as np
import pytest

from engine.kernels import (
    MANY_ROWS,
    by_rows,
    in_layer_order,
    row_adder,
    subtracter,
    sum_of_products,
)

SHAPES = [(5, 3), (MANY_ROWS, 2), (1000, 2), (1000, 3), (1000, 16), (777, 64), (3000, 5)]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adding_a_row_in_place_is_numpys_broadcast_add(shape, dtype, order):
    rng = np.random.default_rng(0)
    z, row = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)
    z = np.asarray(z, order=order)
    expected = z + row
    add = row_adder(z)
    add(row)
    np.testing.assert_array_equal(z, expected)
    add(-row)  # a second call, with another row, adds that one
    np.testing.assert_allclose(z, expected - row, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ufunc", [np.subtract, np.divide, np.multiply])
def test_a_ufunc_with_one_value_per_row_is_numpys_broadcast(shape, ufunc):
    rng = np.random.default_rng(1)
    a, column = rng.standard_normal(shape), rng.uniform(1, 2, (shape[0], 1))
    np.testing.assert_array_equal(by_rows(ufunc, a, column), ufunc(a, column))
    out = np.empty_like(a)
    assert by_rows(ufunc, a, column, out=out) is out
    np.testing.assert_array_equal(out, ufunc(a, column))


@pytest.mark.parametrize("orders", ["CC", "CF", "FC", "FF"])
@pytest.mark.parametrize("shape", [(5, 3), (1000, 2), (1000, 8)])
def test_a_sum_of_products_in_any_orders_is_vdots(shape, orders):
    """Column-major arrays (the layers' values of many rows) are summed without copies."""
    rng = np.random.default_rng(2)
    a, b = (np.asarray(rng.standard_normal(shape), order=o) for o in orders)
    np.testing.assert_allclose(sum_of_products(a, b), np.vdot(a.copy(), b.copy()), rtol=1e-12)


@pytest.mark.parametrize("orders", ["CC", "CF", "FC", "FF"])
@pytest.mark.parametrize("shape", [(5, 3), (32, 2), (1000, 2), (1000, 8)])
def test_subtracting_in_place_in_any_orders_is_numpys_subtract(shape, orders):
    """Labels in the order of the gradient they are subtracted from, or not, or a strided
    view: the same values, and no array made for it."""
    rng = np.random.default_rng(3)
    d = np.asarray(rng.standard_normal(shape), order=orders[0])
    subtract = subtracter(d)
    wide = np.asarray(rng.standard_normal((shape[0], 2 * shape[1])), order=orders[1])
    for a in (np.asarray(rng.standard_normal(shape), order=orders[1]), wide[:, ::2]):
        expected = d - a
        subtract(a)
        np.testing.assert_array_equal(d, expected)
    batches = [np.asarray(rng.standard_normal(shape), order=orders[1]) for _ in range(3)]
    subtract(batches[0])  # numpy's one-time set-up of the call stays out of the count
    tracemalloc.start()
    for a in batches[1:]:
        subtract(a)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4_000  # views of columns; not numpy's buffer (16 KB and more at 1,000 rows)


@pytest.mark.parametrize(
    "shape, column_major",
    [((MANY_ROWS, 2), True), ((10_000, 8), True), ((MANY_ROWS - 1, 2), False),
     ((10_000, 9), False), ((10_000,), False)],
)
def test_data_in_layer_order_is_column_major_when_long_and_narrow(shape, column_major):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    ordered = in_layer_order(a)
    np.testing.assert_array_equal(ordered, a)
    assert ordered.flags.c_contiguous != column_major or len(shape) == 1
    assert ordered.flags.f_contiguous == (column_major or len(shape) == 1)
