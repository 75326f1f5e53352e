"""The training thread's pacing: bounded snapshot rate, one in flight, the final one always."""

import itertools
import time

import numpy as np
import pytest

from lab.core.checkpoint import Checkpoint
from lab.core.datasets import tutorial_points
from lab.core.model import ModelSettings
from lab.core.parts import PARTS
from lab.core.points import validate_columns
from lab.core.training import EndKind, RunConfig, RunEnd
from lab.worker import PAINT_TIMEOUT, TrainingWorker


@pytest.fixture
def worker(qtbot):
    w = TrainingWorker()
    w.set_points(validate_columns(*tutorial_points()))
    w.start()
    with qtbot.waitSignal(w.snapshotReady, timeout=5000):
        w.configure(RunConfig(ModelSettings()))
    yield w
    assert w.shutdown()


def test_snapshots_come_at_most_ten_times_a_second(qtbot, worker):
    arrivals = []

    def painted(snapshot):
        arrivals.append(time.perf_counter())
        worker.painted()

    worker.snapshotReady.connect(painted)
    worker.train(10**9, ticket=1)
    qtbot.wait(1500)
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000) as finished:
        worker.stop()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 5
    assert min(gaps) >= 0.09
    snapshot, end, ticket = finished.args
    assert end == RunEnd.stopped() and snapshot.step > 0 and ticket == 1


def test_each_part_comes_at_its_own_pace_and_only_when_wanted(qtbot, worker):
    arrivals = {name: [] for name in PARTS}

    def painted(snapshot):
        for name in snapshot.parts:
            arrivals[name].append(time.perf_counter())
        worker.painted()

    worker.snapshotReady.connect(painted)
    worker.train(10**9, ticket=1)
    qtbot.wait(1500)
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000):
        worker.stop()
    assert arrivals["regions"] == []  # no view asked for them
    for name in ("curves", "weights", "checkpoint"):
        times = arrivals[name][:-1]  # the last one ends the run, whatever its pace
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= 3 and min(gaps) >= PARTS[name].interval * 0.9, name


def test_no_new_snapshot_is_sent_until_the_last_one_was_painted(qtbot, worker):
    arrivals = []
    worker.snapshotReady.connect(lambda s: arrivals.append(time.perf_counter()))
    worker.train(10**9, ticket=1)
    qtbot.wait(1000)  # never acknowledged: the worker waits PAINT_TIMEOUT between sends
    worker.stop()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals and min(gaps, default=PAINT_TIMEOUT) >= PAINT_TIMEOUT * 0.9


def test_the_final_snapshot_is_always_sent(qtbot, worker):
    worker.snapshotReady.connect(lambda s: worker.painted())
    for steps in (1, 7, 2500):
        with qtbot.waitSignal(worker.trainingFinished, timeout=10_000) as finished:
            worker.train(steps, ticket=1)
        snapshot, end, _ticket = finished.args
        assert end == RunEnd.finished()
        assert snapshot.parts["curves"]["train"][0][-1] == snapshot.step
        assert snapshot.parts["checkpoint"].step == snapshot.step


def paused_run(qtbot, worker):
    """Start a long run, let it make progress, pause it: (shown steps, the paused snapshot)."""
    shown = []
    worker.snapshotReady.connect(lambda s: (shown.append(s.step), worker.painted()))
    worker.train(10**9, ticket=1)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] > 0, timeout=5000)
    with qtbot.waitSignal(worker.snapshotReady, timeout=5000) as paused:
        worker.pause()
    return shown, paused.args[0]


def test_pause_holds_the_step_count(qtbot, worker):
    shown, paused = paused_run(qtbot, worker)
    qtbot.wait(200)
    assert shown[-1] == paused.step
    worker.resume()
    qtbot.waitUntil(lambda: shown[-1] > paused.step, timeout=5000)
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000):
        worker.stop()


def test_step_while_paused_takes_one_step_and_stays_paused(qtbot, worker):
    shown, paused = paused_run(qtbot, worker)
    with qtbot.waitSignal(worker.snapshotReady, timeout=5000) as stepped:
        worker.step_once(ticket=1)
    assert stepped.args[0].step == paused.step + 1
    qtbot.wait(200)
    assert shown[-1] == stepped.args[0].step  # still paused
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000):
        worker.stop()


def test_a_paused_run_redraws_when_the_view_changes(qtbot, worker):
    _shown, paused = paused_run(qtbot, worker)
    with qtbot.waitSignal(worker.snapshotReady, timeout=5000) as redrawn:
        worker.want("regions", (-1.0, -1.0, 1.0, 1.0))
    assert redrawn.args[0].parts["regions"].rect == (-1.0, -1.0, 1.0, 1.0)
    assert redrawn.args[0].step == paused.step
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000):
        worker.stop()


def test_a_traced_step_while_paused_brings_its_trace_and_stays_paused(qtbot, worker):
    shown, paused = paused_run(qtbot, worker)
    with qtbot.waitSignal(worker.snapshotReady, timeout=5000) as stepped:
        worker.step_once(ticket=1, trace=True)
    snapshot = stepped.args[0]
    assert snapshot.step == paused.step + 1 and snapshot.parts["trace"].step == snapshot.step
    qtbot.wait(200)
    assert shown[-1] == snapshot.step  # still paused
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000):
        worker.stop()


def test_a_traced_step_from_idle_ends_the_run_with_its_trace(qtbot, worker):
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000) as finished:
        worker.step_once(ticket=3, trace=True)
    snapshot, end, ticket = finished.args
    assert end == RunEnd.finished() and ticket == 3
    assert snapshot.step == 1 and snapshot.parts["trace"].step == 1


def test_a_traced_step_that_diverges_rolls_back_and_says_so(qtbot, worker):
    huge = {"W1": np.full((2, 2), 3e38, np.float32), "b1": np.zeros(2, np.float32)}
    with qtbot.waitSignal(worker.snapshotReady, timeout=5000):
        worker.configure(RunConfig(ModelSettings(), checkpoint=Checkpoint(0, huge)))
    with qtbot.waitSignal(worker.trainingFinished, timeout=5000) as finished:
        worker.step_once(ticket=2, trace=True)  # x·W overflows float32: the loss is NaN
    snapshot, end, _ticket = finished.args
    assert end.kind is EndKind.DIVERGED and "smaller learning rate" in end.message
    assert snapshot.step == 0 and "trace" not in snapshot.parts
    np.testing.assert_array_equal(snapshot.weights["W1"], huge["W1"])
