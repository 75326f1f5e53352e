"""The `lab` command: the app (`lab [FILE]`) and the headless trainer (`lab train ...`).

`lab train` builds the same workspace the app would and trains it with the same code, on
this thread (lab.core.runner.InlineRunner), so what it writes opens in the app exactly where
training stopped. Nothing here imports Qt; only launching the app does.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np

import lab
from lab.core.datasets import DATASETS, generate, split_mask
from lab.core.events import Change
from lab.core.features import FEATURES
from lab.core.io.kinds import file_kind
from lab.core.io.points_csv import PointsFile, read_points
from lab.core.io.weights_file import save_weights
from lab.core.io.workspace_file import WorkspaceData, load_workspace
from lab.core.model import (
    ACTIVATIONS,
    MODEL_KINDS,
    PRECISIONS,
    TASKS,
    ModelSettings,
    loss_description,
    parse_hidden,
)
from lab.core.runner import InlineRunner
from lab.core.settings import DataSettings, TrainingSettings
from lab.core.training import EndKind, RunEnd, Score, Scores, Snapshot, measure_text
from lab.core.workspace import Workspace, classes_needed, fresh_checkpoint
from lab.desktop import install_desktop

# The command line's short name for gradient descent; the others are the optimizers' own.
OPTIMIZER_FLAGS = {"gd": "gradient_descent", "momentum": "momentum", "adam": "adam"}
BAR_WIDTH = 30
BAR_INTERVAL = 0.1  # seconds between redraws of the terminal's progress bar

# What the run's last snapshot carries: the checkpoint to save and the scores to print.
FINAL_PARTS = ("checkpoint", "scores")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TRAINING = TrainingSettings()


class UsageError(Exception):
    """A bad flag, value or file: said on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """Bad flags raise UsageError, so they are reported like every other usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def main(argv: list[str] | None = None) -> int:
    """`lab train ...` trains headless; anything else launches the app."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["train"]:
        return train_command(args[1:])
    options = app_parser().parse_args(args)
    if options.install_desktop:
        for path in install_desktop():
            print(f"wrote {path}")
        return EXIT_OK
    from lab.app import run_app  # Qt is imported only to show a window

    return run_app(options.file)


def app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lab",
        description="Training Lab: watch gradient descent and backpropagation train a "
        "classifier on 2-D points, live.",
        epilog="Train without a window: lab train --help",
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE",
        help="a workspace (.tlab), points (.csv) or weights (.npz, .json) file to open",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {lab.__version__}")
    parser.add_argument(
        "--install-desktop", action="store_true",
        help="add Training Lab to the desktop's menus, with its icon, as the app for .tlab "
        "files (under $XDG_DATA_HOME, by default ~/.local/share), then exit",
    )
    return parser


def train_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lab train",
        description="Train a model without a window, on the same workspace and training code "
        "as the app, and write what it learned.",
        epilog="Exit status: 0 trained, 1 the run diverged or failed (nothing written), 2 a bad "
        "flag or file. Example: lab train --data moons --model mlp --hidden 16,16 --optimizer adam "
        "--lr 0.01 --steps 2000 --workspace moons.tlab",
    )
    source = parser.add_argument_group("points (one of; default: the tutorial's two blobs)")
    given = source.add_mutually_exclusive_group()
    given.add_argument("--data", choices=DATASETS, help="generate a data set")
    given.add_argument(
        "--points", metavar="FILE.csv",
        help="points from a CSV file: x,y,label, or x,y,value under that header (regression)",
    )
    given.add_argument(
        "--from", dest="source", metavar="FILE.tlab",
        help="continue a saved workspace: its points, model, optimizer state and loss history",
    )
    source.add_argument("--count", type=int, help="points to generate (default: the data set's)")
    source.add_argument("--noise", type=float, help="noise of the generated points")
    source.add_argument(
        "--data-seed", type=int, help="seed of the generated points and of the test split "
        "(default 1)",
    )
    source.add_argument(
        "--test-split", type=int, metavar="PERCENT",
        help="hold out this percentage of the points for testing (default 0)",
    )
    model = parser.add_argument_group("model (default: the tutorial's perceptron)")
    model.add_argument(
        "--task", choices=TASKS, help="classification, or regression (whose default points "
        "are the plane); a data set or a points file of the other task is refused",
    )
    model.add_argument("--model", choices=MODEL_KINDS)
    model.add_argument("--hidden", metavar="SIZES", help="hidden layer sizes, e.g. 16,16 (MLP)")
    model.add_argument("--activation", choices=ACTIVATIONS, help="of the hidden layers (MLP)")
    model.add_argument(
        "--features", metavar="NAMES",
        help=f"the model's inputs, of {','.join(FEATURES)} (default x,y), e.g. x,y,x2,y2",
    )
    model.add_argument("--seed", type=int, help="seed of the initial weights (default 0)")
    model.add_argument(
        "--precision", choices=PRECISIONS,
        help="the numbers the model computes in (default float32; float64 is exact to 1e-12)",
    )
    training = parser.add_argument_group("training")
    training.add_argument(
        "--optimizer", choices=OPTIMIZER_FLAGS, help="gd (gradient descent, the default), "
        "momentum or adam; with --from, another optimizer starts from no optimizer state",
    )
    training.add_argument(
        "--lr", type=float, help=f"learning rate (default {DEFAULT_TRAINING.learning_rate:g})"
    )
    training.add_argument(
        "--steps", type=int, help=f"steps to train (default {DEFAULT_TRAINING.steps})"
    )
    training.add_argument(
        "--batch", type=int, metavar="N",
        help="points per step, shuffled each epoch (default: all, the full batch)",
    )
    penalty = training.add_mutually_exclusive_group()
    penalty.add_argument("--l2", type=float, metavar="RATE",
                         help="add an L2 penalty on the weights at this rate")
    penalty.add_argument("--l1", type=float, metavar="RATE",
                         help="add an L1 penalty on the weights at this rate")
    output = parser.add_argument_group("output (written only when training ends well)")
    output.add_argument("--export", metavar="FILE", help="the weights as .npz or .json")
    output.add_argument(
        "--workspace", metavar="FILE.tlab", help="the whole workspace, to open in the app"
    )
    return parser


def train_command(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `lab train` with these arguments; returns the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = train_parser()
    try:
        args = parser.parse_args(argv)
        workspace = build_workspace(args)
        check_outputs(args)
        blocker = workspace.train_blocker()
        if blocker:
            raise UsageError(blocker)
    except (UsageError, ValueError, OSError) as error:
        print(parser.format_usage().rstrip(), file=err)
        print(f"lab train: error: {error}", file=err)
        return EXIT_USAGE
    if workspace.training.regularization != "none":
        print(loss_description(workspace.model.task, workspace.training.regularization),
              file=out)
    end, rate = train_workspace(workspace, out)
    if end.kind is not EndKind.FINISHED:
        print(f"lab train: {end.message}", file=err)
        return EXIT_FAILED
    step = workspace.current()[0]
    scores = workspace.latest.parts["scores"]
    print(summary(workspace.training.steps, step, scores, workspace.model.task, rate), file=out)
    try:
        write_outputs(args, workspace)
    except (ValueError, OSError) as error:
        print(f"lab train: error: {error}; nothing was written", file=err)
        return EXIT_FAILED
    return EXIT_OK


def build_workspace(args: argparse.Namespace) -> Workspace:
    """The workspace the flags describe (UsageError or ValueError if they do not fit)."""
    if args.source is not None:
        data = _continued(args)
    else:
        points, data_settings = _points(args)
        task = "classification" if points.values is None else "regression"
        if args.task not in (None, task):
            raise UsageError(f"these points are for {task}, not {args.task}")
        model = _model(args, task, classes_needed(points.labels))
        training = _training(args, DEFAULT_TRAINING)
        test = split_mask(len(points.xy), data_settings.test_split, data_settings.seed)
        data = WorkspaceData(points.xy, points.labels, data_settings, model, training,
                             fresh_checkpoint(model), points.values, test)
    return Workspace(data)


def _training(args: argparse.Namespace, training: TrainingSettings) -> TrainingSettings:
    """`training` with the training flags given applied."""
    given = {
        "optimizer": None if args.optimizer is None else OPTIMIZER_FLAGS[args.optimizer],
        "learning_rate": args.lr,
        "steps": args.steps,
        "batch_size": args.batch,
    }
    for kind in ("l2", "l1"):
        rate = getattr(args, kind)
        if rate is not None:
            given |= {"regularization": kind, "regularization_rate": rate}
    return replace(training, **{k: v for k, v in given.items() if v is not None})


def _continued(args: argparse.Namespace) -> WorkspaceData:
    """A saved workspace, with the training flags applied; the others belong to the file."""
    fixed = {
        "--count": args.count, "--noise": args.noise, "--data-seed": args.data_seed,
        "--test-split": args.test_split, "--task": args.task, "--model": args.model,
        "--hidden": args.hidden, "--activation": args.activation, "--features": args.features,
        "--seed": args.seed, "--precision": args.precision,
    }
    clashing = [flag for flag, value in fixed.items() if value is not None]
    if clashing:
        raise UsageError(
            f"{', '.join(clashing)}: --from continues the workspace's own points and model"
        )
    data = load_workspace(args.source)
    training = _training(args, data.training)
    checkpoint = data.checkpoint
    if training.optimizer != data.training.optimizer:
        checkpoint = replace(checkpoint, optimizer_state={})
    return replace(data, training=training, checkpoint=checkpoint)


def _points(args: argparse.Namespace) -> tuple[PointsFile, DataSettings]:
    """The points, from --points or the generator flags, and the data settings."""
    split = 0 if args.test_split is None else args.test_split
    if args.points is not None:
        if args.count is not None or args.noise is not None:
            raise UsageError("--count and --noise describe generated points, not --points")
        seed = DataSettings().seed if args.data_seed is None else args.data_seed
        return read_points(args.points), replace(DataSettings(), seed=seed, test_split=split)
    dataset = args.data or ("plane" if args.task == "regression" else "blobs")
    defaults = DataSettings.for_dataset(dataset)
    settings = DataSettings(
        defaults.dataset,
        defaults.count if args.count is None else args.count,
        defaults.noise if args.noise is None else args.noise,
        defaults.seed if args.data_seed is None else args.data_seed,
        split,
    )
    xy, targets = generate(settings.dataset, settings.count, settings.noise, settings.seed)
    if DATASETS[dataset].task == "regression":
        return PointsFile(xy, np.zeros(len(xy), dtype=np.int64), targets), settings
    return PointsFile(xy, targets, None), settings


def _model(args: argparse.Namespace, task: str, classes: int) -> ModelSettings:
    kind = args.model or ("mlp" if args.hidden else "perceptron")
    if kind == "perceptron" and (args.hidden or args.activation):
        raise UsageError("--hidden and --activation are for --model mlp")
    default = ModelSettings()
    features = default.features if args.features is None else tuple(args.features.split(","))
    return ModelSettings(
        kind=kind,
        hidden=default.hidden if args.hidden is None else parse_hidden(args.hidden),
        activation=args.activation or default.activation,
        classes=classes if task == "classification" else default.classes,
        seed=default.seed if args.seed is None else args.seed,
        task=task,
        features=features,
        precision=args.precision or default.precision,
    )


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse outputs that could not be written before spending time on training."""
    if args.export is not None:
        file_kind(args.export, "weights")
    if args.workspace is not None:
        file_kind(args.workspace, "workspace")
    for path in (args.export, args.workspace):
        if path is None:
            continue
        folder = Path(path).resolve().parent
        if not folder.is_dir():
            raise UsageError(f"{path}: there is no folder {Path(path).parent}")
        if Path(path).is_dir():
            raise UsageError(f"{path}: is a folder")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"{path}: the folder {folder} cannot be written to")


def train_workspace(workspace: Workspace, out: TextIO) -> tuple[RunEnd, float]:
    """Train the workspace's steps on this thread, showing progress on `out`:
    (how it ended, steps per second)."""
    steps = workspace.training.steps
    start = workspace.checkpoint.step
    progress = Progress(out, start, steps)
    if progress.terminal:
        runner = InlineRunner(workspace, interval=BAR_INTERVAL, parts=FINAL_PARTS)
    else:
        runner = InlineRunner(workspace, report_every=max(1, math.ceil(steps / 10)),
                              parts=FINAL_PARTS)
    workspace.attach(runner)
    ended: list[RunEnd] = []
    workspace.events.subscribe(Change.SNAPSHOT, progress.show)
    workspace.events.subscribe(Change.FINISHED, ended.append)
    started = time.perf_counter()
    workspace.train()
    seconds = time.perf_counter() - started
    progress.done()
    trained = workspace.current()[0] - start
    return ended[-1], trained / seconds if seconds > 0 else math.inf


def write_outputs(args: argparse.Namespace, workspace: Workspace) -> None:
    """Write the weights and the workspace asked for; should one write fail, an output this
    run created is removed again, so nothing is left half-written."""
    created: list[Path] = []
    try:
        if args.export is not None:
            created += [] if Path(args.export).exists() else [Path(args.export)]
            _step, weights, _loss = workspace.current()
            save_weights(args.export, weights, workspace.weights_metadata())
        if args.workspace is not None:
            workspace.save(args.workspace)
    except (ValueError, OSError):
        for path in created:
            path.unlink(missing_ok=True)
        raise


def summary(steps: int, step: int, scores: Scores, task: str, rate: float) -> str:
    """The last line: where training ended, how well it does on the training points and, with
    a test split, on the test points."""
    train = score_text(scores.train, task)
    test = "" if scores.test is None else f"; test: {score_text(scores.test, task)}"
    return (f"Done: {steps:,} steps (now at step {step:,}), {train}{test}, "
            f"{rate:,.0f} steps/s")


def score_text(score: Score, task: str) -> str:
    """e.g. "loss 0.0123, accuracy 98.5%" or "loss 0.01, R² 0.990"."""
    loss = "–" if score.loss is None else f"{score.loss:.6g}"
    return f"loss {loss}, {measure_text(score, task)}"


class Progress:
    """A bar redrawn in place on a terminal; elsewhere the tutorial's "Step: … Loss: …" lines."""

    def __init__(self, out: TextIO, start: int, steps: int) -> None:
        self.out = out
        self.steps = steps
        self.terminal = out.isatty()
        self._start = start

    def show(self, snapshot: Snapshot) -> None:
        done = snapshot.step - self._start
        loss = "–" if snapshot.loss is None else f"{snapshot.loss:.6g}"
        if not self.terminal:
            if done > 0:
                print(f"Step: {snapshot.step} Loss: {loss}", file=self.out)
            return
        filled = round(BAR_WIDTH * done / self.steps)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.out.write(f"\r[{bar}] {done / self.steps:4.0%} step {snapshot.step:,} loss {loss}")
        self.out.flush()

    def done(self) -> None:
        if self.terminal:
            self.out.write("\n")
