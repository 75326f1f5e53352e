"""Guard against the PySide6 6.12.0 / Python 3.11 bug that decrements None's refcount in
QPainter calls until the interpreter dies with 'Fatal Python error: none_dealloc'.

On a broken wheel the count falls by roughly one per call; on a good one it stays put
(on Python 3.12+ None is immortal and its count never moves).
"""

import gc
import sys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QLineF, QPointF
from PySide6.QtGui import QImage, QPainter, QPen


def test_painting_many_lines_keeps_none_alive(qapp):
    # Settle what earlier tests left behind, so only this test's calls move the count.
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    before = sys.getrefcount(None)
    painter = QPainter(image)
    painter.setPen(QPen())
    for i in range(20_000):
        painter.drawLine(QLineF(QPointF(0, i % 300), QPointF(399, (i * 7) % 300)))
    painter.end()

    plot = pg.PlotWidget()
    plot.resize(400, 300)
    x = np.arange(20_000, dtype=float)
    plot.plot(x, np.sin(x / 50), connect="pairs")
    plot.grab()
    plot.deleteLater()
    after = sys.getrefcount(None)
    # A broken wheel loses one reference per void call: ~40,000 here. Unrelated garbage
    # freed meanwhile may release a few hundred legitimately.
    assert after >= before - 5_000, f"None lost {before - after} references while painting"
