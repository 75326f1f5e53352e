"""Axis ranges that hold still while a curve grows.

Redrawing an axis (new ticks, new labels) costs a live plot more than redrawing its curve,
and the training thread waits while the GUI paints. So a growing loss curve gets a range
snapped to round numbers with room to grow into, kept until the data leaves it or fills too
little of it: the axes change a few times per decade of steps instead of on every frame.
"""

from __future__ import annotations

import math

Range = tuple[float, float]

TICKS = 4  # about this many tick intervals across a fresh range
MIN_FILL = 1 / 3  # data spanning less of the range than this gets a tighter one
_TINY = 1e-300  # below this a span's log10 step is no longer a normal float


def nice_step(span: float) -> float:
    """The 1-2-5 × 10^k step that cuts `span` (> 0) into about TICKS intervals."""
    raw = span / TICKS
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 5.0):
        if multiple * power >= raw:
            return multiple * power
    return 10.0 * power


def nice_range(low: float, high: float, headroom: float = 0.0) -> Range:
    """[low, high], widened on top by `headroom` × its span, then out to whole steps."""
    roomy = high + headroom * (high - low)
    span = roomy - low or abs(high) or 1.0  # a single value still gets a range around it
    if not math.isfinite(span):
        return (low, high)
    step = nice_step(max(span, _TINY))
    start, end = math.floor(low / step) * step, math.ceil(roomy / step) * step
    # low / step underflows to 0 for a low tinier than a float can divide: a step further.
    start = start - step if start > low else start
    end = end + step if end < roomy else end
    if end <= start:
        start, end = start - step, end + step
    return (start, end) if math.isfinite(end - start) else (low, high)


def steady_range(shown: Range | None, low: float, high: float, headroom: float = 0.0) -> Range:
    """Keep `shown` while it still holds [low, high] and the data fills enough of it."""
    if shown is not None:
        start, end = shown
        if start <= low and high <= end and high - low >= MIN_FILL * (end - start):
            return shown
    return nice_range(low, high, headroom)
