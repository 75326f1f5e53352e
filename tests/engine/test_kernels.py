"""The numpy helpers' faster routes give numpy's own results."""

import numpy as np
import pytest

from engine.kernels import MANY_ROWS, by_rows, in_layer_order, row_adder, sum_of_products

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
