"""File dialogs: a name typed without an extension gets the chosen type's, and the next
dialog opens where the last one was."""

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from lab.core.io.points_csv import load_points
from lab.core.io.weights_file import load_weights
from lab.core.io.workspace_file import load_workspace
from lab.dialogs import filter_suffixes, with_suffix


class Dialog:
    """Stands in for the user in a file dialog: records where it opened, answers `answer`."""

    def __init__(self, monkeypatch, answer, chosen_filter=""):
        self.folders = []
        self.answer, self.chosen = answer, chosen_filter
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self.reply)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self.reply)

    def reply(self, _parent, _title, start, filters):
        self.folders.append(start)
        return self.answer, self.chosen or filters.split(";;")[0]


def test_filter_suffixes_and_adding_one():
    assert filter_suffixes("Weights (*.npz *.json)") == [".npz", ".json"]
    assert with_suffix("/a/w", "JSON weights (*.json)") == "/a/w.json"
    assert with_suffix("/a/w.JSON", "Weights (*.npz *.json)") == "/a/w.JSON"
    assert with_suffix("/a/w.txt", "NumPy weights (*.npz)") == "/a/w.txt.npz"
    assert with_suffix("", "Points (*.csv)") == ""


def test_points_saved_without_an_extension_get_csv(window, tmp_path, monkeypatch):
    Dialog(monkeypatch, str(tmp_path / "mypts"), "Points (*.csv)")
    window.save_points_dialog()
    assert np.array_equal(load_points(tmp_path / "mypts.csv")[0], window.points()[0])


@pytest.mark.parametrize(("chosen", "suffix"), [("NumPy weights (*.npz)", ".npz"),
                                                ("JSON weights (*.json)", ".json")])
def test_weights_exported_without_an_extension_get_the_chosen_type(window, tmp_path,
                                                                   monkeypatch, chosen, suffix):
    Dialog(monkeypatch, str(tmp_path / "w"), chosen)
    window.export_weights_dialog()
    weights, _metadata = load_weights(tmp_path / f"w{suffix}")
    assert set(weights) == {"W1", "b1"}


def test_an_image_and_a_workspace_without_an_extension(window, tmp_path, monkeypatch):
    Dialog(monkeypatch, str(tmp_path / "plot"))
    window.export_data_plot_dialog()
    assert not QImage(str(tmp_path / "plot.png")).isNull()
    Dialog(monkeypatch, str(tmp_path / "lesson"))
    window.save_as_dialog()
    assert load_workspace(tmp_path / "lesson.tlab").checkpoint.step == 0


def test_the_next_dialog_opens_in_the_folder_used_last(window, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    Dialog(monkeypatch, str(folder / "a.csv"))
    window.save_points_dialog()
    dialog = Dialog(monkeypatch, "")  # the user cancels the next one
    window.open_dialog()
    window.export_weights_dialog()
    assert dialog.folders[0] == str(folder)
    assert dialog.folders[1] == str(folder / "weights.npz")
