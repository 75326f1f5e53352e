"""`lab train` as a user runs it: flags, progress, outputs, exit codes; and `lab --help`."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lab.cli import train_command
from lab.core.io.points_csv import save_points
from lab.core.io.workspace_file import load_workspace
from lab.core.settings import TrainingSettings
from lab.core.training import TrainingRun
from lab.core.workspace import Workspace

FLAGS = ("--data", "--points", "--from", "--count", "--noise", "--data-seed", "--test-split",
         "--task", "--model", "--hidden", "--activation", "--features", "--seed", "--optimizer",
         "--lr", "--steps", "--batch", "--l2", "--l1", "--precision", "--export", "--workspace")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(*argv, out=None):
    """(exit status, stdout, stderr) of `lab train ARGV`, in this process."""
    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    status = train_command(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def lab(*argv):
    """`python -m lab ARGV` in a fresh process, as a shell runs it (no terminal)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "lab", *argv], capture_output=True, text=True,
                          env=env, timeout=120)


def test_default_run_is_the_tutorial_perceptron_with_ten_progress_lines():
    status, out, err = run("--steps", "200")
    lines = out.splitlines()
    assert status == 0 and err == ""
    progress = [line for line in lines if line.startswith("Step: ")]
    assert [int(line.split()[1]) for line in progress] == list(range(20, 201, 20))
    assert "Loss: " in progress[0]
    assert lines[-1].startswith("Done: 200 steps (now at step 200), loss ")
    assert "accuracy 100.0%" in lines[-1] and "steps/s" in lines[-1]
    # The same run as the app's: a workspace trained the same way ends with the same loss.
    ws = Workspace()
    ws.set_training(TrainingSettings(steps=200))
    run_ = TrainingRun(ws.model)
    run_.set_points(ws.points.columns)
    run_.train(200)
    assert f"Step: 200 Loss: {run_.history.last:.6g}" in progress[-1]


def test_on_a_terminal_the_progress_is_a_bar_redrawn_in_place():
    status, out, _err = run("--steps", "100", out=Terminal())
    assert status == 0
    assert "\r[" in out and "100%" in out
    assert "Step: " not in out


def test_a_workspace_written_by_train_continues_exactly_with_from(tmp_path):
    half, full = tmp_path / "half.tlab", tmp_path / "full.tlab"
    flags = ("--data", "moons", "--count", "150", "--model", "mlp", "--hidden", "6,6",
             "--optimizer", "adam", "--lr", "0.02")
    assert run(*flags, "--steps", "1000", "--workspace", str(full))[0] == 0
    assert run(*flags, "--steps", "500", "--workspace", str(half))[0] == 0
    status, out, _err = run("--from", str(half), "--workspace", str(half))
    assert status == 0
    assert "Done: 500 steps (now at step 1,000)" in out
    resumed, straight = load_workspace(half), load_workspace(full)
    assert resumed.checkpoint.step == straight.checkpoint.step == 1000
    for name, value in straight.checkpoint.weights.items():
        np.testing.assert_allclose(resumed.checkpoint.weights[name], value, rtol=0, atol=1e-12)
    for slot in ("m", "v", "t"):
        np.testing.assert_allclose(resumed.checkpoint.optimizer_state["W1"][slot],
                                   straight.checkpoint.optimizer_state["W1"][slot], atol=1e-12)
    assert resumed.model == straight.model
    assert resumed.training.optimizer == "adam" and resumed.training.learning_rate == 0.02


def test_from_with_another_optimizer_and_rate_keeps_the_weights(tmp_path):
    path = tmp_path / "w.tlab"
    run("--optimizer", "momentum", "--steps", "30", "--workspace", str(path))
    status, _out, _err = run("--from", str(path), "--optimizer", "gd", "--lr", "0.5",
                            "--steps", "10", "--workspace", str(path))
    assert status == 0
    data = load_workspace(path)
    assert data.training == TrainingSettings("gradient_descent", 0.5, 10)
    assert data.checkpoint.step == 40 and data.checkpoint.optimizer_state == {}


def test_exported_weights_predict_in_plain_numpy(tmp_path):
    path = tmp_path / "w.npz"
    points = tmp_path / "p.csv"
    xy = np.array([[-1.0, -1.0], [-1.5, -0.5], [1.0, 1.0], [0.5, 1.5]])
    labels = np.array([0, 0, 1, 1])
    save_points(points, xy, labels)
    status, _out, _err = run("--points", str(points), "--steps", "50", "--export", str(path))
    assert status == 0
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["metadata"]))
        predicted = (xy @ data["W1"] + data["b1"]).argmax(axis=1)
    assert meta["step"] == 50 and meta["model"] == "perceptron"
    assert np.array_equal(predicted, labels)


@pytest.mark.parametrize(("argv", "message"), [
    (("--lr", "abc"), "invalid float value"),
    (("--data", "squares"), "invalid choice"),
    (("--data", "xor", "--points", "p.csv"), "not allowed with argument"),
    (("--steps", "0"), "steps must be a whole number"),
    (("--lr", "100"), "learning rate must be from"),
    (("--hidden", "8,x"), "hidden layers: 'x'"),
    (("--model", "perceptron", "--hidden", "4"), "are for --model mlp"),
    (("--points", "missing.csv"), "missing.csv"),
    (("--export", "w.txt"), "w.txt: unsupported file type for a weights file; use .npz or .json"),
    (("--workspace", "w.npz"), "w.npz: unsupported file type for a workspace file; use .tlab"),
    (("--workspace", "no-such-folder/w.tlab"), "there is no folder"),
    (("--from", "w.tlab", "--model", "mlp"), "--model: --from continues"),
    (("--from", "w.tlab", "--test-split", "20"), "--test-split: --from continues"),
    (("--test-split", "95"), "test split must be a whole percentage from 0 to 90"),
    (("--batch", "-1"), "batch size must be a whole number"),
    (("--l2", "0.1", "--l1", "0.1"), "not allowed with argument"),
    (("--l2", "50"), "regularization rate must be from 0 to 10"),
    (("--features", "x,q"), "features must be one or more of x, y, x2"),
    (("--features", ""), "features must be one or more of"),
    (("--data", "moons", "--task", "regression"), "these points are for classification, not"),
    (("--task", "sorting"), "invalid choice"),
])
def test_bad_flags_and_files_exit_2_with_a_message(tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert message in err and err.startswith("usage: lab train")


def test_a_malformed_points_file_is_named_on_stderr(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,0\n3,abc,1\n")
    status, out, err = run("--points", str(path))
    assert status == 2 and out == ""
    assert "bad.csv, line 3" in err


def test_points_of_one_class_cannot_train(tmp_path):
    path = tmp_path / "one.csv"
    save_points(path, np.zeros((3, 2)), np.zeros(3, dtype=np.int64))
    status, _out, err = run("--points", str(path), "--workspace", str(tmp_path / "w.tlab"))
    assert status == 2 and "at least two classes" in err
    assert not (tmp_path / "w.tlab").exists()


def test_a_diverging_run_exits_1_and_writes_nothing(tmp_path):
    points = tmp_path / "huge.csv"
    xy = np.array([[-1.0, -1.0], [1.0, 1.0], [-2.0, 0.5], [2.0, -0.5]]) * 1e306
    save_points(points, xy, np.array([0, 1, 0, 1]))
    outputs = tmp_path / "w.npz", tmp_path / "w.tlab"
    status, _out, err = run("--points", str(points), "--export", str(outputs[0]),
                            "--workspace", str(outputs[1]))
    assert status == 1
    assert "smaller learning rate" in err
    assert not any(path.exists() for path in outputs)


def test_the_command_line_documents_every_flag_and_exits_as_documented(tmp_path):
    helped = lab("train", "--help")
    assert helped.returncode == 0
    for flag in FLAGS:
        assert flag in helped.stdout
    top = lab("--help")
    assert top.returncode == 0 and "lab train --help" in top.stdout and "FILE" in top.stdout
    bad = lab("train", "--steps", "-3")
    assert bad.returncode == 2 and "steps must be a whole number" in bad.stderr
    trained = lab("train", "--steps", "30", "--workspace", str(tmp_path / "w.tlab"))
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.count("Step: ") == 10
    assert load_workspace(tmp_path / "w.tlab").checkpoint.step == 30


def test_importing_the_core_and_the_cli_never_imports_qt():
    code = (
        "import pkgutil, importlib, sys, lab.core, lab.cli\n"
        "for m in pkgutil.walk_packages(lab.core.__path__, 'lab.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph',"
        " 'shiboken6'))\n"
        "print(len(sys.modules), qt)\n"
        "sys.exit(1 if qt else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_folder_as_an_output_is_refused_before_training(tmp_path):
    (tmp_path / "x.tlab").mkdir()
    status, out, err = run("--export", str(tmp_path / "w.npz"),
                           "--workspace", str(tmp_path / "x.tlab"))
    assert status == 2 and "x.tlab: is a folder" in err and out == ""
    assert not (tmp_path / "w.npz").exists()


def test_an_output_that_fails_to_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workspace, "save", full_disk)
    status, _out, err = run("--steps", "20", "--export", str(tmp_path / "w.npz"),
                            "--workspace", str(tmp_path / "w.tlab"))
    assert status == 1 and "No space left on device" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def trained(tmp_path, name, *argv):
    """The workspace `lab train ARGV` writes, and its last output line."""
    path = tmp_path / f"{name}.tlab"
    status, out, err = run(*argv, "--workspace", str(path))
    assert status == 0, err
    return load_workspace(path), out.splitlines()[-1]


def test_a_test_split_holds_out_points_and_reports_the_test_loss_and_accuracy(tmp_path):
    data, done = trained(tmp_path, "split", "--data", "moons", "--count", "200",
                         "--test-split", "30", "--steps", "100")
    assert data.test.sum() == 60 and data.data.test_split == 30
    assert "; test: loss " in done and done.count("accuracy") == 2
    again, _ = trained(tmp_path, "again", "--data", "moons", "--count", "200",
                       "--test-split", "30", "--steps", "100")
    assert np.array_equal(again.test, data.test)  # the data seed draws the same split
    other, _ = trained(tmp_path, "other", "--data", "moons", "--count", "200",
                       "--test-split", "30", "--data-seed", "2", "--steps", "100")
    assert not np.array_equal(other.test, data.test)


def test_batches_take_other_steps_than_the_full_batch_and_still_learn(tmp_path):
    flags = ("--data", "moons", "--count", "200", "--model", "mlp", "--hidden", "8",
             "--steps", "400", "--lr", "0.3")
    full, _ = trained(tmp_path, "full", *flags)
    batched, done = trained(tmp_path, "batched", *flags, "--batch", "10")
    assert batched.training.batch_size == 10
    assert batched.checkpoint.epoch == 20  # 200 points in batches of 10: 20 epochs
    assert not np.allclose(batched.checkpoint.weights["W1"], full.checkpoint.weights["W1"])
    accuracy = float(done.split("accuracy ")[1].split("%")[0])
    assert accuracy >= 85


def test_an_l2_penalty_shrinks_the_weights_and_the_loss_says_it_is_included(tmp_path):
    flags = ("--data", "blobs", "--steps", "500", "--lr", "0.5")
    free, _ = trained(tmp_path, "free", *flags)
    status, out, _err = run(*flags, "--l2", "1", "--workspace", str(tmp_path / "l2.tlab"))
    assert status == 0 and "+ the L2 penalty" in out.splitlines()[0]
    l2 = load_workspace(tmp_path / "l2.tlab")
    assert (l2.training.regularization, l2.training.regularization_rate) == ("l2", 1.0)
    norm = {name: np.linalg.norm(data.checkpoint.weights["W1"]) for name, data in
            (("free", free), ("l2", l2))}
    assert norm["l2"] < norm["free"] / 2
    l1, _ = trained(tmp_path, "l1", *flags, "--l1", "1")
    assert l1.training.regularization == "l1"
    assert np.linalg.norm(l1.checkpoint.weights["W1"]) < norm["free"] / 2


def test_squared_features_let_the_perceptron_separate_the_circles(tmp_path):
    flags = ("--data", "circles", "--steps", "300", "--lr", "1")
    _plain, plain_done = trained(tmp_path, "plain", *flags)
    squared, squared_done = trained(tmp_path, "squared", *flags, "--features", "x2,y2")
    assert squared.model.features == ("x2", "y2") and squared.checkpoint.weights["W1"].shape[0] == 2
    assert float(squared_done.split("accuracy ")[1].split("%")[0]) >= 95
    assert float(plain_done.split("accuracy ")[1].split("%")[0]) <= 65


def test_regression_on_the_plane_reaches_an_r2_of_099(tmp_path):
    data, done = trained(tmp_path, "plane", "--task", "regression", "--steps", "300")
    assert data.model.task == "regression" and data.data.dataset == "plane"
    assert data.checkpoint.weights["W1"].shape == (2, 1)
    assert float(done.split("R² ")[1].split(",")[0]) >= 0.99


def test_points_with_values_train_a_regression(tmp_path):
    rng = np.random.default_rng(3)
    xy = rng.uniform(-2, 2, (60, 2))
    values = 0.5 * xy[:, 0] - 0.25 * xy[:, 1]
    points = tmp_path / "values.csv"
    save_points(points, xy, np.zeros(60, dtype=np.int64), values)
    data, done = trained(tmp_path, "values", "--points", str(points), "--steps", "500")
    assert data.model.task == "regression" and np.array_equal(data.values, values)
    assert float(done.split("R² ")[1].split(",")[0]) >= 0.99
    status, _out, err = run("--points", str(points), "--task", "classification")
    assert status == 2 and "these points are for regression" in err


def test_the_precision_is_float32_unless_asked_and_goes_into_the_files(tmp_path):
    single, _ = trained(tmp_path, "single", "--steps", "20", "--export", str(tmp_path / "s.npz"))
    double, _ = trained(tmp_path, "double", "--steps", "20", "--precision", "float64")
    assert single.model.precision == "float32" and double.model.precision == "float64"
    with np.load(tmp_path / "s.npz") as weights:
        assert weights["W1"].dtype == np.float32
    status, _out, err = run("--from", str(tmp_path / "single.tlab"), "--precision", "float64")
    assert status == 2 and "--precision: --from continues" in err
