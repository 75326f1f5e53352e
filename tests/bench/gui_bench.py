"""How the app feels while it trains: GUI timer lateness, snapshot rate and age, and in-app
training speed against the same model trained headless in the same process.

    QT_QPA_PLATFORM=offscreen python tests/bench/gui_bench.py [--seconds 10] [--repeats 3]
        [--long-seconds 120]

Workloads: W1 the default perceptron on the tutorial's 100 points; W2 an MLP 8,8 tanh on
1,000 points; W3 the same MLP on 10,000 points, in float32 (the app's default) and in
float64; W4 an MLP of 6 hidden layers of 64 units on 1,000 points, its weights tables in
view, and W5 the same with the Neurons tab open (64 maps); decision regions on in all.
W6 and W7 are W2 and W3 with the Graph tab open in place of the data plot (every node's
value and gradient at the graph part's pace), values in its labels and z1 inspected, to
compare with W2 and W3.
First, the start-up: from starting `python -m lab`'s process to its window's first paint.
A 10 ms PreciseTimer on the GUI thread records its real intervals while the worker trains.
Then a long W1 run reports RSS growth and the loss-curve redraw time at its end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEventLoop, QStandardPaths, Qt, QTimer
from PySide6.QtWidgets import QApplication

from lab.app import create_app
from lab.core.datasets import generate, tutorial_points
from lab.core.model import ModelSettings
from lab.core.points import validate_columns
from lab.core.settings import MAX_STEPS, TrainingSettings
from lab.core.training import Snapshot, TrainingRun
from lab.core.workspace import RunState
from lab.window import MainWindow

DEEP = ModelSettings("mlp", (64,) * 6, "tanh")
WORKLOADS = {  # model, points, how many, the tab in view
    "W1 perceptron, 100 pts": (ModelSettings(), "tutorial", 100, "Weights"),
    "W2 MLP 8,8 tanh, 1k pts": (ModelSettings("mlp", (8, 8), "tanh"), "moons", 1_000, "Weights"),
    "W3 MLP 8,8 tanh, 10k pts": (ModelSettings("mlp", (8, 8), "tanh"), "moons", 10_000,
                                 "Weights"),
    "W3-64 the same, float64": (ModelSettings("mlp", (8, 8), "tanh", precision="float64"),
                                "moons", 10_000, "Weights"),
    "W4 MLP 6x64, 1k, weights": (DEEP, "moons", 1_000, "Weights"),
    "W5 MLP 6x64, 1k, neurons": (DEEP, "moons", 1_000, "Neurons"),
    "W6 W2 with the graph": (ModelSettings("mlp", (8, 8), "tanh"), "moons", 1_000, "Graph"),
    "W7 W3 with the graph": (ModelSettings("mlp", (8, 8), "tanh"), "moons", 10_000, "Graph"),
}
BIG = 10**9


def points(kind: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    return tutorial_points() if kind == "tutorial" else generate(kind, count, 0.15, 0)


def headless_rate(settings: ModelSettings, xy, labels, seconds: float) -> float:
    run = TrainingRun(settings, TrainingSettings("gradient_descent", 0.1))
    run.set_points(validate_columns(xy, labels))
    start = time.perf_counter()
    steps = run.train(BIG, seconds)
    return steps / (time.perf_counter() - start)


def start_model(window: MainWindow, settings: ModelSettings, xy, labels) -> None:
    """The window's workspace with these points and a fresh model, trained by gradient descent
    at 0.1."""
    workspace = window.workspace
    workspace.points.replace(xy, labels)
    workspace.set_model(settings)
    workspace.set_training(TrainingSettings("gradient_descent", 0.1, MAX_STEPS))
    workspace.reset()


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def spin(app: QApplication, seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(app: QApplication, condition) -> None:
    while not condition():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)


def in_app(app, window: MainWindow, settings, xy, labels, seconds: float) -> dict:
    """Train in the app for `seconds`, in 1 s chunks, each right after 0.5 s headless.

    This machine's speed drifts by ±30% over seconds, so a ratio of two long runs measures
    the drift; adjacent chunks share it. Between chunks the run is paused (Pause button).
    """
    start_model(window, settings, xy, labels)
    window.data_plot.fit_view()
    spin(app, 0.5)
    if "z1" in window.graph_node_names():
        window.graph_page.view.select("z1")  # its histograms in view too
    shown: list[tuple[float, float]] = []  # (shown at, created)
    original = window._render_numbers  # the last part of showing a snapshot

    def render():
        original()
        latest = window.workspace.latest
        if latest is not None:  # None between a new model and its first snapshot
            shown.append((time.perf_counter(), latest.created))

    window._render_numbers = render
    # Snapshots emitted (counted on the worker thread) but not yet delivered to the GUI.
    sent, delivered, queued = [], [], [0]

    def count_sent(_snapshot):
        sent.append(1)

    def count_delivered(_snapshot):
        delivered.append(1)

    signal = window.worker.snapshotReady
    signal.connect(count_sent, Qt.ConnectionType.DirectConnection)
    signal.connect(count_delivered)
    ticks: list[list[float]] = []
    ages: list[float] = []
    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=10)

    def tick():
        now = time.perf_counter()
        ticks[-1].append(now)
        if shown:
            ages.append(now - shown[-1][1])
        queued[0] = max(queued[0], len(sent) - len(delivered))

    timer.timeout.connect(tick)
    pause = window.controls.pauseButton

    def pause_run() -> Snapshot:
        asked = time.perf_counter()
        pause.setChecked(True)
        wait_for(app, lambda: window.workspace.latest is not None
                 and window.workspace.latest.created > asked)
        return window.workspace.latest

    window.controls.steps.setValue(window.controls.steps.maximum())  # more than 10 s needs
    window.workspace.train()
    paused = pause_run()
    chunks = max(1, round(seconds))
    ratios, rates, headless_rates, shown_time = [], [], [], 0.0
    for _chunk in range(chunks):
        headless_rates.append(headless_rate(settings, xy, labels, 0.5))
        start_step, n_shown = paused.step, len(shown)
        ticks.append([])
        started = time.perf_counter()
        pause.setChecked(False)
        timer.start()
        spin(app, seconds / chunks)
        timer.stop()
        paused = pause_run()
        rates.append((paused.step - start_step) / (paused.created - started))
        ratios.append(rates[-1] / headless_rates[-1])
        shown_time += paused.created - started
        shown[n_shown:] = [s for s in shown[n_shown:] if s[1] < paused.created]  # not the pause's
    window.worker.stop()
    wait_for(app, lambda: window.workspace.state is RunState.IDLE)
    final = window.workspace.latest
    window._render_numbers = original
    signal.disconnect(count_sent)
    signal.disconnect(count_delivered)
    late = np.concatenate([np.diff(chunk) * 1000 - 10 for chunk in ticks])
    return {
        "rate": statistics.median(rates),
        "headless": statistics.median(headless_rates),
        "ratio": statistics.median(ratios),
        "late_p50": percentile(late, 50),
        "late_p99": percentile(late, 99),
        "late_max": float(late.max()) if len(late) else float("nan"),
        "shown_per_s": len(shown) / shown_time,
        "age_p99": percentile(np.array(ages) * 1000, 99),
        "queued": queued[0],
        "final_shown": final.step == window.worker._run.step,
    }


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def long_run(app, window: MainWindow, seconds: float) -> None:
    xy, labels = tutorial_points()
    start_model(window, ModelSettings(), xy, labels)
    spin(app, 0.5)
    rss_before = rss_mb()
    window.controls.steps.setValue(1_000_000)
    window.workspace.train()
    done = []
    window.trainingFinished.connect(lambda reason: done.append(reason))
    deadline = time.perf_counter() + seconds
    while not done and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    if not done:
        window.worker.stop()
        while not done:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    snapshot = window.workspace.latest
    steps, losses = snapshot.parts["curves"]["train"]
    redraws = []
    for _ in range(20):
        t = time.perf_counter()
        window.loss_plot.set_curve(steps, losses)
        window.loss_plot.viewport().repaint()
        redraws.append((time.perf_counter() - t) * 1000)
    print(
        f"\nlong run: {snapshot.step:,} steps of W1; RSS {rss_before:.0f} -> {rss_mb():.0f} MB "
        f"(+{rss_mb() - rss_before:.1f} MB); loss curve {len(steps):,} points, full redraw "
        f"median {statistics.median(redraws):.1f} ms, max {max(redraws):.1f} ms"
    )


# `python -m lab`, told to say when its window first paints and to quit then.
STARTUP_CHILD = """
import time
from PySide6.QtCore import QEvent, QObject, QStandardPaths, QTimer
QStandardPaths.setTestModeEnabled(True)
from lab.app import create_app, open_window
app = create_app([])
window = open_window()
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not hasattr(self, "seen"):
            self.seen = time.time()
            print(self.seen, flush=True)
            QTimer.singleShot(0, app.quit)
        return False
first_paint = FirstPaint()
window.installEventFilter(first_paint)
app.exec()
"""


def startup_seconds(repeats: int) -> list[float]:
    """Seconds from starting the app's process to its window's first paint, per run."""
    times = []
    for _ in range(repeats):
        started = time.time()
        child = subprocess.run([sys.executable, "-c", STARTUP_CHILD], capture_output=True,
                               text=True, timeout=60, check=True)
        times.append(float(child.stdout.split()[0]) - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-seconds", type=float, default=120.0)
    parser.add_argument("--only", metavar="W1,W4", help="run these workloads only")
    args = parser.parse_args()
    startup = startup_seconds(max(args.repeats, 5))
    QStandardPaths.setTestModeEnabled(True)
    app = create_app([])  # as `python -m lab` runs
    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    spin(app, 0.5)
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Qt platform {app.platformName()}; medians of {args.repeats} runs of "
          f"{args.seconds:g} s")
    print(f"start-up to the first painted window: median {statistics.median(startup):.2f} s, "
          f"max {max(startup):.2f} s ({len(startup)} runs)")
    header = (f"{'workload':26} {'app st/s':>9} {'headless':>9} {'ratio':>6} {'ratios':>9} "
              f"{'late p50':>8} {'p99':>6} {'max':>6} {'shown/s':>7} {'age p99':>7} {'queued':>6} "
              "final")
    print(header)
    chosen = None if args.only is None else args.only.split(",")
    for name, (settings, kind, count, tab) in WORKLOADS.items():
        if chosen is not None and name.split()[0] not in chosen:
            continue
        graph = tab == "Graph"
        window.center.setCurrentWidget(window.graph_page if graph else window.data_plot)
        window.graph_page.value_labels.setChecked(graph)
        window.tabs.setCurrentIndex(
            next(i for i in range(window.tabs.count())
                 if window.tabs.tabText(i) == ("Weights" if graph else tab))
        )
        xy, labels = points(kind, count)
        rows = [in_app(app, window, settings, xy, labels, args.seconds)
                for _ in range(args.repeats)]

        def med(key, rows=rows):
            return statistics.median(r[key] for r in rows)

        ratios = [r["ratio"] for r in rows]
        print(f"{name:26} {med('rate'):9,.0f} {med('headless'):9,.0f} {med('ratio'):6.2f} "
              f"{min(ratios):4.2f}-{max(ratios):4.2f} {med('late_p50'):8.1f} "
              f"{med('late_p99'):6.1f} {med('late_max'):6.1f} {med('shown_per_s'):7.1f} "
              f"{med('age_p99'):7.0f} "
              f"{max(r['queued'] for r in rows):6d} {all(r['final_shown'] for r in rows)}")
    print("(ratios: the lowest and highest of the runs' ratios; lateness and age in ms; "
          "queued: most snapshots ever waiting for the GUI)")
    long_run(app, window, args.long_seconds)
    window.close()


if __name__ == "__main__":
    main()
