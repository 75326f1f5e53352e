"""The Playground controls in the window, driven as a user would: test split, clicks as test
points, batch size, penalties, input features, regression, confusion matrices, neuron maps."""

import re

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QApplication, QTableView
from test_window import click_data, train, type_into, widget

from lab.core.colormap import DOT_SHADES, hex_color, value_image, value_limits, value_palette
from lab.core.colors import CLASS_COLORS
from lab.window import HEAT_ALPHA, REGION_ALPHA

LEFT = Qt.MouseButton.LeftButton


def choose(w, name, key):
    combo = widget(w, name)
    index = combo.findData(key)
    assert index >= 0, f"{name} has no item {key!r}"
    combo.setCurrentIndex(index)


def generate(qtbot, w, dataset=None, split=None):
    """Choose a data set and a test split (in that order), then press Generate."""
    if dataset is not None:
        choose(w, "datasetKind", dataset)
    if split is not None:
        widget(w, "testSplit").setValue(split)
    qtbot.mouseClick(widget(w, "generateButton"), LEFT)


def tick(qtbot, box):
    """Click a check box on its indicator (its middle may be empty space past the text)."""
    qtbot.mouseClick(box, LEFT, pos=QPoint(box.height() // 2, box.height() // 2))


def columns(w):
    return w.workspace.points.columns


def drawn(w, hollow):
    """How many points the data plot draws as rings (hollow) or as filled dots."""
    return sum(dots.count() for (_color, ring), dots in w.data_plot._dots.items()
               if ring == hollow)


def stamp_centre(dots):
    """The colour at the centre of the picture a dot is drawn with."""
    image = dots._stamp(1.0).toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def curve(w, name):
    x, y = w.loss_plot._items[name].getData()
    return (np.empty(0), np.empty(0)) if x is None else (x, y)


def weight_norm(w):
    weights = w.workspace.latest.weights
    return float(sum(np.sum(v**2) for k, v in weights.items() if k.startswith("W")))


def regions_alpha(w):
    """Opacity of the picture behind the points: class regions or a heat map."""
    item = w.data_plot._regions
    assert item.isVisible()
    image = item.pixmap().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2).alpha()


def regions_rgba(w):
    """The picture behind the points as an (rows, columns, 4) array, row 0 at the bottom."""
    image = w.data_plot._regions.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    pixels = rows[:, : 4 * image.width()].reshape(image.height(), image.width(), 4)
    return pixels.astype(int)  # a copy: the image's memory goes with it


def boundary_points(w):
    x, _y = w.data_plot._boundary.getData()
    return 0 if x is None else len(x)


def regions_colours(w):
    """Distinct colours in a sample of the picture behind the points."""
    image = w.data_plot._regions.pixmap().toImage()
    return {image.pixel(x, y) for x in range(0, image.width(), 4)
            for y in range(0, image.height(), 4)}


def expected_alpha(alpha):
    return round(255 * alpha)


def shown_unit(w):
    """(layer, unit) of the neuron map in the newest snapshot, if any."""
    maps = w.workspace.latest.parts.get("neurons") if w.workspace.latest else None
    return None if maps is None else (maps.layer, maps.selected)


def click_header(qtbot, w, name, column):
    """Click a column's number in the weights view's table of array `name`."""
    table = w.weights_view.findChild(QTableView, f"weights_{name}")
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), LEFT, pos=QPoint(x, header.height() // 2))


def test_defaults_of_the_playground_controls(window):
    assert widget(window, "taskKind").currentText() == "Classification"
    assert widget(window, "testSplit").value() == 0
    assert widget(window, "testSplit").text() == "0 %"
    assert widget(window, "batchSize").text() == "all"
    assert widget(window, "regularization").currentText() == "None"
    assert not widget(window, "regularizationRate").isEnabled()
    checked = {name: widget(window, f"feature_{name}").isChecked()
               for name in ("x", "y", "x2", "y2", "xy", "sinx", "siny")}
    assert checked == {"x": True, "y": True, "x2": False, "y2": False, "xy": False,
                       "sinx": False, "siny": False}
    assert not widget(window, "clickTest").isChecked()
    assert widget(window, "classSelector").isVisible()
    assert not widget(window, "pointValue").isVisible()
    assert widget(window, "lossLabel").text() == (
        "Loss: mean softmax cross-entropy over the training points")
    assert not widget(window, "lossBatch").isVisible()
    assert window._status_labels["test"].text() == ""


def test_a_test_split_holds_out_hollow_points_scored_apart_and_undoably(qtbot, window):
    generate(qtbot, window, split=50)
    test = columns(window).test
    assert test.sum() == 50 == len(test) // 2
    assert drawn(window, hollow=True) == 50 and drawn(window, hollow=False) == 50
    for (color, hollow), dots in window.data_plot._dots.items():
        if dots.count():
            centre = stamp_centre(dots)
            # a ring is white inside, a training dot its class colour throughout
            assert (centre.name() == "#ffffff") == hollow, (color, hollow)
    assert train(qtbot, window, 200) == "finished"
    train_steps, train_loss = curve(window, "train")
    test_steps, test_loss = curve(window, "test")
    assert len(test_steps) > 10 and test_steps[-1] <= train_steps[-1]
    assert not np.allclose(np.interp(test_steps, train_steps, train_loss), test_loss)
    assert "test" in window.loss_plot.legend.text()
    assert re.fullmatch(r"test: loss [\d.e-]+ accuracy \d+\.\d%",
                        window._status_labels["test"].text())
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the Generate
    assert columns(window).test.sum() == 50
    window.findChild(QAction, "undo").trigger()  # Edit → Undo: the split
    assert not columns(window).test.any()
    assert drawn(window, hollow=True) == 0


def test_clicks_add_test_points_while_the_box_is_ticked(qtbot, window):
    box = widget(window, "clickTest")
    tick(qtbot, box)
    assert box.isChecked()
    click_data(qtbot, window, 0.5, 0.5)
    assert len(columns(window).test) == 101 and columns(window).test[-1]
    assert drawn(window, hollow=True) == 1
    tick(qtbot, box)
    click_data(qtbot, window, -0.5, 0.5)
    assert len(columns(window).test) == 102 and not columns(window).test[-1]
    assert drawn(window, hollow=True) == 1


def test_a_batch_size_trains_in_epochs_and_shows_the_batch_loss(qtbot, window):
    batch = widget(window, "batchSize")
    assert batch.text() == "all"
    batch.setValue(10)
    assert window.workspace.training.batch_size == 10
    assert train(qtbot, window, 50) == "finished"
    assert window._status_labels["step"].text() == "step 50 · epoch 5"
    assert widget(window, "progress").text() == "step 50 of 50 · epoch 5"
    box = widget(window, "lossBatch")
    assert box.isVisible() and not box.isChecked()
    assert len(curve(window, "batch")[0]) == 0
    tick(qtbot, box)
    assert len(curve(window, "batch")[0]) == 50
    tick(qtbot, box)
    assert not box.isChecked() and len(curve(window, "batch")[0]) == 0


def test_an_l2_penalty_is_said_and_keeps_the_weights_small(qtbot, window):
    start = weight_norm(window)
    assert train(qtbot, window, 300) == "finished"
    free = weight_norm(window)
    choose(window, "regularization", "l2")
    assert widget(window, "lossLabel").text().endswith("+ the L2 penalty")
    rate = widget(window, "regularizationRate")
    assert rate.isEnabled()
    rate.setValue(0.5)
    assert window.workspace.training.regularization == "l2"
    assert window.workspace.training.regularization_rate == 0.5
    qtbot.mouseClick(widget(window, "resetButton"), LEFT)
    qtbot.waitUntil(lambda: window.workspace.latest is not None
                    and window.workspace.latest.step == 0, timeout=5000)
    assert weight_norm(window) == start  # the same seed, the same start
    assert train(qtbot, window, 300) == "finished"
    assert weight_norm(window) < free / 4
    choose(window, "regularization", "l1")
    assert widget(window, "lossLabel").text().endswith("+ the L1 penalty")
    choose(window, "regularization", "none")
    assert "penalty" not in widget(window, "lossLabel").text()
    assert not rate.isEnabled()


def test_squared_features_let_the_perceptron_separate_circles(qtbot, window):
    generate(qtbot, window, "circles")
    qtbot.waitUntil(lambda: boundary_points(window) == 2, timeout=5000)  # a straight line
    for name in ("x2", "y2"):
        tick(qtbot, widget(window, f"feature_{name}"))
    for name in ("x", "y"):
        tick(qtbot, widget(window, f"feature_{name}"))
    assert window.workspace.model.features == ("x2", "y2")
    assert train(qtbot, window, 500) == "finished"
    assert window.workspace.latest.accuracy >= 0.95
    table = window.weights_view.findChild(QTableView, "weights_W1")
    assert table.model().rowCount() == 2
    # the boundary is the contour of the regions, a closed curve between the rings, not a line
    x, y = window.data_plot._boundary.getData()
    assert boundary_points(window) > 20
    radius = np.hypot(x, y)
    assert radius.min() > 1.0 and radius.max() < 2.0


def test_unchecking_every_feature_is_refused(qtbot, window):
    tick(qtbot, widget(window, "feature_x"))
    tick(qtbot, widget(window, "feature_y"))
    assert window.workspace.model.features == ("y",)
    assert widget(window, "feature_y").isChecked()
    assert "features" in window.statusBar().currentMessage()


def test_a_regression_colours_points_by_value_and_shows_r2_and_a_heat_map(qtbot, window):
    choose(window, "taskKind", "regression")
    assert window.workspace.model.task == "regression"
    assert widget(window, "lossLabel").text() == (
        "Loss: mean squared error over the training points")
    assert widget(window, "pointValue").isVisible()
    assert not widget(window, "classSelector").isVisible()
    generate(qtbot, window, "plane", split=25)
    assert widget(window, "taskKind").currentText() == "Regression"
    palette = {hex_color(rgb) for rgb in value_palette(DOT_SHADES)}
    shown = {color for (color, _hollow), dots in window.data_plot._dots.items() if dots.count()}
    assert len(shown) > 3 and shown <= palette
    assert window.data_plot._bar.isVisible()
    assert train(qtbot, window, 300, lr=0.1) == "finished"
    r2 = window._status_labels["accuracy"].text()
    assert re.fullmatch(r"R² 0\.9\d\d", r2), r2
    test = window._status_labels["test"].text()
    assert re.fullmatch(r"test: loss [\d.e-]+ R² 0\.9\d\d", test), test
    assert regions_alpha(window) == expected_alpha(HEAT_ALPHA)
    assert len(regions_colours(window)) > 20  # a heat map, not two class colours
    assert boundary_points(window) == 0
    widget(window, "pointValue").setValue(0.7)
    click_data(qtbot, window, 0.5, 0.5)
    assert len(columns(window).values) == 201 and columns(window).values[-1] == 0.7
    assert not columns(window).test[-1]


def test_the_task_goes_with_the_points_through_undo(qtbot, window):
    undo = window.findChild(QAction, "undo")
    choose(window, "taskKind", "regression")  # the points become the first regression set
    assert window.workspace.model.task == "regression"
    assert len(columns(window).xy) == 200 and np.ptp(columns(window).values) > 1
    assert window.data_plot._bar.isVisible()
    undo.trigger()
    assert window.workspace.model.task == "classification"
    assert widget(window, "taskKind").currentText() == "Classification"
    assert len(columns(window).xy) == 100 and not window.data_plot._bar.isVisible()
    generate(qtbot, window, "gaussian")
    assert widget(window, "taskKind").currentText() == "Regression"
    generate(qtbot, window, "moons")
    assert widget(window, "taskKind").currentText() == "Classification"
    shown = {color for (color, _hollow), dots in window.data_plot._dots.items() if dots.count()}
    assert shown == set(CLASS_COLORS[:2])
    undo.trigger()  # the Gaussian's values, and its task, are back
    assert window.workspace.model.task == "regression"
    assert widget(window, "taskKind").currentText() == "Regression"
    assert widget(window, "pointValue").isVisible()


def test_the_confusion_matrices_follow_training_and_count_every_point(qtbot, window):
    generate(qtbot, window, "xor", split=30)
    view = widget(window, "confusionMatrix")
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.counts("train").sum() == 140, timeout=5000)  # the new points
    before = view.counts("train")
    assert train(qtbot, window, 100) == "finished"
    train_counts, test_counts = view.counts("train"), view.counts("test")
    assert not np.array_equal(before, train_counts)
    assert train_counts.sum() + test_counts.sum() == 200
    assert test_counts.sum() == 60 and view.test.isVisible()
    scores = window.workspace.latest.parts["scores"]
    assert np.array_equal(train_counts, scores.train.confusion)
    assert np.array_equal(test_counts, scores.test.confusion)
    # what the shown weights predict, worked out apart from the app
    weights = window.workspace.latest.weights
    data = columns(window)
    predicted = (data.xy @ weights["W1"] + weights["b1"]).argmax(axis=1)
    for counts, held_out in ((train_counts, False), (test_counts, True)):
        mine = data.test == held_out
        expected = np.zeros((2, 2), dtype=int)
        np.add.at(expected, (data.labels[mine], predicted[mine]), 1)
        assert np.array_equal(counts, expected)
    # the accuracy beside the loss is the matrix's: the same weights
    accuracy = np.trace(train_counts) / train_counts.sum()
    assert window._status_labels["accuracy"].text() == f"accuracy {accuracy:.1%}"


def test_neuron_maps_show_in_the_data_plot(qtbot, window, monkeypatch):
    choose(window, "modelKind", "mlp")
    view = widget(window, "neuronsView")
    layers = widget(window, "neuronLayer")
    assert [layers.itemText(i) for i in range(layers.count())] == ["1: 8 units", "2: 8 units"]
    asked = []
    want = window.worker.want

    def spy(part, argument=None, wanted=True):
        asked.append((part, argument, wanted))
        want(part, argument, wanted)

    monkeypatch.setattr(window.worker, "want", spy)
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: not widget(window, "neuron_0_7").icon().isNull(), timeout=5000)
    qtbot.mouseClick(widget(window, "neuron_0_3"), LEFT)
    assert ("neurons", (0, 3, window.data_plot.view_rect()), True) in asked
    assert view.wanted == (0, 3)
    qtbot.waitUntil(lambda: shown_unit(window) == (0, 3), timeout=5000)
    qtbot.waitUntil(lambda: regions_alpha(window) == expected_alpha(HEAT_ALPHA), timeout=5000)
    unit_map = window.workspace.latest.parts["neurons"].selected_map
    expected = value_image(unit_map, value_limits(unit_map), HEAT_ALPHA).astype(int)
    assert np.abs(regions_rgba(window) - expected).max() <= 3  # that unit's map
    window.tabs.setCurrentWidget(window.weights_view)
    click_header(qtbot, window, "W1", 5)
    assert view.wanted == (0, 5) and widget(window, "neuron_0_5").isChecked()
    click_header(qtbot, window, "W2", 2)
    assert view.wanted == (1, 2) and layers.currentIndex() == 1
    qtbot.waitUntil(lambda: shown_unit(window) == (1, 2), timeout=5000)
    window.tabs.setCurrentWidget(view)
    qtbot.mouseClick(widget(window, "neuronRegions"), LEFT)
    assert view.wanted == (1, None)
    qtbot.waitUntil(lambda: regions_alpha(window) == expected_alpha(REGION_ALPHA),
                    timeout=5000)


def test_a_deep_model_trains_and_shows_all_its_weights(qtbot, window):
    choose(window, "modelKind", "mlp")
    type_into(qtbot, widget(window, "hiddenLayers"), "64,64,64,64,64,64")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert window.workspace.model.hidden == (64,) * 6
    assert train(qtbot, window, 300) == "finished"
    assert window.workspace.latest.step == 300 and np.isfinite(window.workspace.latest.loss)
    tables = [t for t in window.weights_view.findChildren(QTableView)
              if t.objectName().startswith("weights_") and t.isVisibleTo(window.weights_view)]
    assert sorted(t.objectName() for t in tables) == sorted(
        f"weights_{kind}{k}" for kind in "Wb" for k in range(1, 8))
    shapes = {t.objectName(): (t.model().rowCount(), t.model().columnCount()) for t in tables}
    assert shapes["weights_W1"] == (2, 64) and shapes["weights_W4"] == (64, 64)
    assert shapes["weights_W7"] == (64, 2) and shapes["weights_b7"] == (1, 2)


def test_points_with_values_open_as_a_regression_and_save_as_such(qtbot, window, tmp_path):
    path = tmp_path / "values.csv"
    path.write_text("x,y,value\n0,0,0.5\n1,0,-0.25\n0,1,1.5\n")
    window.load_points(path)
    assert window.workspace.model.task == "regression"
    assert widget(window, "taskKind").currentText() == "Regression"
    assert columns(window).values.tolist() == [0.5, -0.25, 1.5]
    saved = tmp_path / "saved.csv"
    window.save_points(saved)
    lines = saved.read_text().splitlines()
    assert lines[0] == "x,y,value"
    assert [float(line.split(",")[2]) for line in lines[1:]] == [0.5, -0.25, 1.5]
    classes = tmp_path / "classes.csv"
    classes.write_text("x,y,label\n0,0,0\n1,1,1\n")
    window.load_points(classes)
    assert window.workspace.model.task == "classification"
    assert widget(window, "classSelector").isVisible()


def test_another_data_set_keeps_the_test_split(qtbot, window):
    generate(qtbot, window, split=30)
    choose(window, "datasetKind", "xor")
    assert widget(window, "testSplit").value() == 30
    assert window.workspace.data.test_split == 30
    assert columns(window).test.sum() == 30  # the points shown are still split as they were


def test_undo_puts_the_settings_that_made_the_points_back_in_the_fields(qtbot, window):
    widget(window, "testSplit").setValue(50)
    assert columns(window).test.sum() == 50
    window.findChild(QAction, "undo").trigger()
    assert widget(window, "testSplit").value() == 0 and not columns(window).test.any()
    choose(window, "taskKind", "regression")
    assert widget(window, "datasetKind").currentData() == "plane"
    window.findChild(QAction, "undo").trigger()
    assert widget(window, "taskKind").currentData() == "classification"
    assert widget(window, "datasetKind").currentData() == "blobs"
    assert widget(window, "pointCount").value() == len(columns(window).xy)


def test_typing_a_test_split_is_one_edit(qtbot, window):
    type_into(qtbot, widget(window, "testSplit"), "50")
    qtbot.keyClick(widget(window, "testSplit"), Qt.Key.Key_Return)
    assert columns(window).test.sum() == 50
    window.findChild(QAction, "undo").trigger()
    assert not columns(window).test.any()  # not a 5 % split left behind


def test_r2_says_when_it_cannot_be_measured(qtbot, window):
    choose(window, "taskKind", "regression")
    assert train(qtbot, window, 50) == "finished"
    assert window._status_labels["accuracy"].text().startswith("R² 0.9")
    window.workspace.points.clear()
    for x in (-1.0, 0.0, 1.0):  # every value the same: nothing to explain
        click_data(qtbot, window, x, 0.5)
    assert train(qtbot, window, 20) == "finished"
    assert window._status_labels["accuracy"].text() == "R² –"
    view = widget(window, "confusionMatrix")
    window.tabs.setCurrentWidget(view)
    assert not view.train.isVisible() and "regression" in view.note.text()


def test_a_curved_boundary_follows_training_with_the_regions_hidden(qtbot, window):
    generate(qtbot, window, "xor")
    choose(window, "modelKind", "mlp")
    assert train(qtbot, window, 5, lr=0.02) == "finished"
    window.findChild(QAction, "show_regions").trigger()
    assert not window.data_plot._regions.isVisible()
    early = window.data_plot._boundary.getData()
    assert train(qtbot, window, 300) == "finished"
    assert not window.data_plot._regions.isVisible()  # still hidden
    late = window.data_plot._boundary.getData()
    assert len(late[0]) > 20 and not (
        len(late[0]) == len(early[0]) and np.array_equal(late[0], early[0]))


def test_the_precision_control_rebuilds_the_model_in_float64(qtbot, window):
    combo = widget(window, "precision")
    assert combo.currentData() == "float32"
    assert window.workspace.latest.weights["W1"].dtype == np.float32
    choose(window, "precision", "float64")
    assert window.workspace.model.precision == "float64"
    qtbot.waitUntil(lambda: window.workspace.latest is not None
                    and window.workspace.latest.weights["W1"].dtype == np.float64)
    assert train(qtbot, window, 20) == "finished"
