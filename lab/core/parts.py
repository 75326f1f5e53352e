"""What a snapshot can carry besides its numbers, by name, each at its own pace.

A run's snapshot always holds the step, loss, accuracy and weights. Everything else is a
part: a view asks the runner for the parts it shows, and the runner includes a part at most
once per ``interval`` while training (and always in the snapshots that answer a command or
end a run). A part that is costly to make (the regions of a deep network) comes less often,
so that no part takes more than its share (MAX_SHARE unless it says less) of the training
thread's time. A new view is a
new part here, a method on the run that makes it, and a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.core.training import TrainingRun


MAX_SHARE = 0.05  # of the training thread's time, for making any one part


@dataclass(frozen=True)
class Part:
    """How to make a part from the run, given what the asking view said (e.g. a rectangle)."""

    name: str
    interval: float  # seconds between two snapshots that carry it, while training
    make: Callable[[TrainingRun, Any], Any]
    default: bool = True  # wanted without a view asking (it needs no argument)
    share: float = MAX_SHARE  # of the training thread's time, at most, for making it

    def spacing(self, cost: float) -> float:
        """Seconds from one making of the part to the next, given what the last one cost."""
        return max(self.interval, cost / self.share)


PARTS: dict[str, Part] = {
    part.name: part
    for part in (
        # The loss curves by name ("train", "test", "batch"): (steps, losses) each, at most
        # ~2,000 points however long the run.
        Part("curves", 0.1, lambda run, _: run.curves()),
        # Loss, accuracy or R², confusion matrices on the training and the test points.
        Part("scores", 0.25, lambda run, _: run.scores()),
        # Class probabilities on a grid over the rectangle the data plot shows.
        Part("regions", 0.25, lambda run, rect: run.regions(rect), default=False),
        # A hidden layer's units over the plane, as (layer, unit or None, rectangle) asks.
        Part("neurons", 0.25, lambda run, wanted: run.neurons(wanted), default=False),
        # Every node's value and gradient, for the graph view: a forward and backward pass
        # over all training points and copies of every array, so on many points it comes
        # seldom (every ~4 s on 10,000 points for an MLP 8,8).
        Part("graph", 0.5, lambda run, _: run.graph_values(), default=False, share=0.02),
        # The weights again, at the pace of the views that draw them (tables, boundary).
        Part("weights", 0.25, lambda run, _: run.weights()),
        # Everything needed to continue exactly from here: autosave and Save use it.
        Part("checkpoint", 0.25, lambda run, _: run.checkpoint()),
    )
}

DEFAULT_PARTS: dict[str, Any] = {name: None for name, part in PARTS.items() if part.default}
