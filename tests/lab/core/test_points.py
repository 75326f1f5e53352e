import numpy as np
import pytest

from lab.core import points
from lab.core.points import MAX_CLASSES, PointSet


def make_set() -> PointSet:
    return PointSet([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], [0, 1, 2])


def test_empty_set_has_well_formed_arrays():
    ps = PointSet()
    assert len(ps) == 0
    assert ps.xy.shape == (0, 2) and ps.xy.dtype == np.float64
    assert ps.labels.shape == (0,) and ps.labels.dtype == np.int64
    assert ps.class_count == 0
    assert not ps.can_undo and not ps.can_redo


def test_add_appends_point_and_counts_classes():
    ps = PointSet()
    ps.add(1.5, -2.0, 3)
    ps.add(0.0, 0.0, 3)
    ps.add(2.0, 2.0, 0)
    np.testing.assert_array_equal(ps.xy, [[1.5, -2.0], [0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_array_equal(ps.labels, [3, 3, 0])
    assert ps.class_count == 2


def test_constructor_does_not_create_history():
    assert not make_set().can_undo


@pytest.mark.parametrize("label", [-1, MAX_CLASSES, 1.0, True, "1", None])
def test_add_rejects_bad_label(label):
    ps = PointSet()
    with pytest.raises(ValueError):
        ps.add(0.0, 0.0, label)
    assert len(ps) == 0 and not ps.can_undo


def test_add_accepts_numpy_integer_label():
    ps = PointSet()
    ps.add(0.0, 0.0, np.int64(2))
    assert ps.labels.tolist() == [2]


@pytest.mark.parametrize("x, y", [(np.nan, 0.0), (0.0, np.inf), (-np.inf, 1.0)])
def test_add_rejects_non_finite_position(x, y):
    ps = PointSet()
    with pytest.raises(ValueError):
        ps.add(x, y, 0)
    assert len(ps) == 0 and ps.version == 0


def test_remove_nearest_removes_closest_point():
    ps = make_set()
    assert ps.remove_nearest(0.9, 1.2)
    np.testing.assert_array_equal(ps.xy, [[0.0, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(ps.labels, [0, 2])


def test_remove_nearest_on_empty_set_is_not_a_change():
    ps = PointSet()
    calls = []
    ps.subscribe(lambda: calls.append(1))
    assert ps.remove_nearest(0.0, 0.0) is False
    assert not ps.can_undo and ps.version == 0 and calls == []


def test_undo_remove_restores_point_at_its_position():
    ps = make_set()
    before_xy, before_labels = ps.copy_arrays()
    ps.remove_nearest(1.0, 1.0)
    assert ps.undo()
    np.testing.assert_array_equal(ps.xy, before_xy)
    np.testing.assert_array_equal(ps.labels, before_labels)
    assert ps.redo()
    np.testing.assert_array_equal(ps.labels, [0, 2])


def test_undo_redo_walks_history_both_ways():
    ps = PointSet()
    states = [ps.copy_arrays()]
    ps.add(1.0, 2.0, 0)
    states.append(ps.copy_arrays())
    ps.replace([[3.0, 3.0], [4.0, 4.0]], [1, 1])
    states.append(ps.copy_arrays())
    ps.remove_nearest(3.0, 3.0)
    states.append(ps.copy_arrays())
    ps.clear()
    states.append(ps.copy_arrays())

    for expected in reversed(states[:-1]):
        assert ps.undo()
        np.testing.assert_array_equal(ps.xy, expected[0])
        np.testing.assert_array_equal(ps.labels, expected[1])
    assert not ps.can_undo and not ps.undo()
    for expected in states[1:]:
        assert ps.redo()
        np.testing.assert_array_equal(ps.xy, expected[0])
        np.testing.assert_array_equal(ps.labels, expected[1])
    assert not ps.can_redo and not ps.redo()


def test_new_change_after_undo_drops_redo_branch():
    ps = PointSet()
    ps.add(1.0, 1.0, 0)
    ps.add(2.0, 2.0, 1)
    ps.undo()
    assert ps.can_redo
    ps.add(3.0, 3.0, 2)
    assert not ps.can_redo and not ps.redo()
    np.testing.assert_array_equal(ps.xy, [[1.0, 1.0], [3.0, 3.0]])


def test_history_step_count_is_bounded():
    ps = PointSet()
    extra = 25
    for i in range(points.MAX_HISTORY_STEPS + extra):
        ps.add(float(i), 0.0, 0)
    undone = 0
    while ps.undo():
        undone += 1
    assert undone == points.MAX_HISTORY_STEPS
    assert len(ps) == extra  # the oldest steps were forgotten, not their effects


def test_history_bytes_are_bounded(monkeypatch):
    # Each replace keeps a whole copy of the previous data; the byte cap must drop old ones.
    monkeypatch.setattr(points, "MAX_HISTORY_BYTES", 14_000)
    ps = PointSet()
    # 6,600 bytes per step: x, y, label and value of 8 bytes each, and the test flag
    data = np.zeros((200, 2)), np.zeros(200, dtype=np.int64)
    for _ in range(6):
        ps.replace(*data)
    undone = 0
    while ps.undo():
        undone += 1
    assert undone == 2


def test_clear_empty_set_is_not_a_change():
    ps = PointSet()
    ps.clear()
    assert not ps.can_undo and ps.version == 0


def test_clear_and_undo():
    ps = make_set()
    ps.clear()
    assert len(ps) == 0 and ps.class_count == 0
    ps.undo()
    assert len(ps) == 3 and ps.class_count == 3


def test_version_increments_on_every_change_including_undo_redo():
    ps = PointSet()
    seen = [ps.version]
    ps.add(0.0, 0.0, 0)
    seen.append(ps.version)
    ps.undo()
    seen.append(ps.version)
    ps.redo()
    seen.append(ps.version)
    ps.replace([[1.0, 1.0]], [1])
    seen.append(ps.version)
    ps.clear()
    seen.append(ps.version)
    assert seen == sorted(set(seen))  # strictly increasing


def test_listeners_called_after_each_change_and_see_new_state():
    ps = PointSet()
    lengths = []
    ps.subscribe(lambda: lengths.append((len(ps), ps.can_undo, ps.can_redo)))
    ps.add(0.0, 0.0, 0)
    ps.add(1.0, 1.0, 1)
    ps.undo()
    ps.redo()
    ps.remove_nearest(0.0, 0.0)
    ps.replace(np.zeros((5, 2)), np.zeros(5, dtype=np.int64))
    ps.clear()
    assert lengths == [
        (1, True, False),
        (2, True, False),
        (1, True, True),
        (2, True, False),
        (1, True, False),
        (5, True, False),
        (0, True, False),
    ]


def test_failed_change_notifies_nobody():
    ps = make_set()
    calls = []
    ps.subscribe(lambda: calls.append(1))
    with pytest.raises(ValueError):
        ps.replace([[0.0, np.nan]], [0])
    assert calls == [] and len(ps) == 3


def test_unsubscribe_stops_calls():
    ps = PointSet()
    calls = []
    unsubscribe = ps.subscribe(lambda: calls.append(1))
    ps.add(0.0, 0.0, 0)
    unsubscribe()
    ps.add(1.0, 1.0, 0)
    assert calls == [1]


def test_views_are_read_only_and_cannot_be_made_writable():
    ps = make_set()
    for view in (ps.xy, ps.labels):
        with pytest.raises(ValueError):
            view[0] = 7
        with pytest.raises(ValueError):
            view.flags.writeable = True


def test_views_handed_out_never_change():
    ps = make_set()
    xy, labels = ps.xy, ps.labels
    xy_before, labels_before = xy.copy(), labels.copy()
    ps.add(9.0, 9.0, 3)
    ps.remove_nearest(0.0, 0.0)
    ps.undo()
    ps.undo()
    ps.replace([[7.0, 7.0]], [1])
    ps.clear()
    np.testing.assert_array_equal(xy, xy_before)
    np.testing.assert_array_equal(labels, labels_before)


def test_copy_arrays_are_writable_and_independent():
    ps = make_set()
    xy, labels = ps.copy_arrays()
    xy[0] = (100.0, 100.0)
    labels[0] = 3
    assert ps.xy[0].tolist() == [0.0, 0.0] and ps.labels[0] == 0


def test_replace_copies_its_input():
    source_xy = np.array([[1.0, 2.0]])
    source_labels = np.array([1])
    ps = PointSet()
    ps.replace(source_xy, source_labels)
    source_xy[0, 0] = 50.0
    source_labels[0] = 3
    assert ps.xy.tolist() == [[1.0, 2.0]] and ps.labels.tolist() == [1]


@pytest.mark.parametrize(
    "xy, labels",
    [
        (np.zeros((3, 3)), [0, 0, 0]),  # three columns
        (np.zeros(4), [0, 0, 0, 0]),  # not 2-D
        (np.zeros((3, 2)), [0, 0]),  # length mismatch
        ([[0.0, np.nan]], [0]),
        ([[np.inf, 0.0]], [0]),
        ([[0.0, 0.0]], [MAX_CLASSES]),
        ([[0.0, 0.0]], [-1]),
        ([[0.0, 0.0]], [0.5]),  # non-integer label
        ([[0.0, 0.0]], [[0]]),  # labels not 1-D
        ([["a", 0.0]], [0]),
    ],
)
def test_replace_rejects_invalid_data_and_keeps_state(xy, labels):
    ps = make_set()
    version = ps.version
    with pytest.raises(ValueError):
        ps.replace(xy, labels)
    assert len(ps) == 3 and ps.version == version and not ps.can_undo


def test_replace_with_empty_data_is_allowed():
    ps = make_set()
    ps.replace([], [])
    assert len(ps) == 0 and ps.xy.shape == (0, 2)
    assert ps.undo() and len(ps) == 3


def test_constructor_validates():
    with pytest.raises(ValueError):
        PointSet([[0.0, 0.0]], [7])
    with pytest.raises(ValueError):
        PointSet([[0.0, 0.0]], None)


def test_values_and_the_split_go_through_every_edit_and_its_undo():
    ps = PointSet([[0.0, 0.0], [1.0, 1.0]], [0, 1], values=[0.5, -2.0], test=[False, True])
    ps.add(2.0, 2.0, value=7.5, test=True)
    assert ps.values.tolist() == [0.5, -2.0, 7.5] and ps.test.tolist() == [False, True, True]
    ps.remove_nearest(1.0, 1.0)
    assert ps.values.tolist() == [0.5, 7.5] and ps.test.tolist() == [False, True]
    ps.undo()
    assert ps.values.tolist() == [0.5, -2.0, 7.5] and ps.test.tolist() == [False, True, True]
    ps.set_test(np.array([True, False, False]))
    assert ps.test.tolist() == [True, False, False]
    ps.undo()
    assert ps.test.tolist() == [False, True, True]
    ps.clear()
    assert len(ps.values) == len(ps.test) == 0
    ps.undo()
    assert ps.values.tolist() == [0.5, -2.0, 7.5]


@pytest.mark.parametrize(("values", "test"), [([1.0], None), ([np.nan, 0.0], None),
                                              (None, [1, 0]), (None, [True])])
def test_values_and_flags_must_fit_the_points(values, test):
    with pytest.raises(ValueError):
        PointSet([[0.0, 0.0], [1.0, 1.0]], [0, 1], values=values, test=test)
