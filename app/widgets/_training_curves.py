"""Live training curves: loss per step (raw and smoothed, plus each epoch's mean) and dev accuracy.

Both plots share one x axis in epochs (a step at ``step / steps_per_epoch``), so the marker of the
probe snapshot being looked at stands at the same place in both. Redrawing is kept cheap because it
happens while training runs: no grid (replaying grid lines costs more than the curves), and the x
range is set once per run (``set_epochs``) and the loss axis only grows, in steps of a "nice" number,
so the axes are regenerated a few times per run, not at every update (which costs up to 100 ms).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

__all__ = ["TrainingCurves"]

RAW = (158, 202, 225)
SMOOTH = (8, 81, 156)
EPOCH = (215, 48, 31)
DEV = (35, 139, 69)
MARK = (120, 120, 120)


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``x`` (> 0)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    exp = 10.0 ** np.floor(np.log10(x))
    return float(next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= x * (1 - 1e-12)))


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """(N,) running mean over the last ``window`` values (fewer at the start)."""
    if y.size == 0:
        return y
    c = np.cumsum(np.insert(y.astype(float), 0, 0.0))
    idx = np.arange(1, y.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


class TrainingCurves(pg.GraphicsLayoutWidget):
    """Two plots side by side, fed plain arrays by the controller (at most a few times a second)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self.addPlot(title="Training loss")
        self.acc_plot = self.addPlot(title="Dev accuracy")
        for p in (self.loss_plot, self.acc_plot):
            p.setLabel("bottom", "epoch")
            p.setMenuEnabled(False)
            p.getAxis("left").setWidth(40)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
        self.raw = self.loss_plot.plot(pen=pg.mkPen(RAW, width=1), name="step")
        self.smoothed = self.loss_plot.plot(pen=pg.mkPen(SMOOTH, width=2), name="running mean")
        self.epoch_loss = self.loss_plot.plot(
            pen=None, symbol="o", symbolSize=7, symbolBrush=EPOCH, symbolPen=None, name="epoch mean"
        )
        # The key sits in its own row under the plots: inside the loss plot it hid the curve.
        self.legend = pg.LegendItem(colCount=3, labelTextSize="8pt", labelTextColor=(60, 60, 60))
        for item in (self.raw, self.smoothed, self.epoch_loss):
            self.legend.addItem(item, item.name())
        self.addItem(self.legend, row=1, col=0, colspan=2)
        self.ci.layout.setRowMaximumHeight(1, 24)
        self.acc = self.acc_plot.plot(
            pen=pg.mkPen(DEV, width=2), symbol="o", symbolSize=7, symbolBrush=DEV, symbolPen=None
        )
        self.best = self.acc_plot.plot(
            pen=None,
            symbol="star",
            symbolSize=14,
            symbolBrush=(255, 200, 0),
            symbolPen=pg.mkPen((120, 90, 0)),
        )
        self.acc_plot.setYRange(0, 1.04, padding=0)
        for p in (self.loss_plot, self.acc_plot):
            p.enableAutoRange(x=False, y=False)
        self.loss_top = 0.0
        self.markers = [
            pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARK, width=1, dash=[4, 3]))
            for _ in range(2)
        ]
        for p, m in zip((self.loss_plot, self.acc_plot), self.markers, strict=True):
            m.setVisible(False)
            p.addItem(m, ignoreBounds=True)
        self.steps_x = np.zeros(0)
        self.clear_curves()

    def clear_curves(self) -> None:
        self.set_steps(np.zeros(0), np.zeros(0))
        self.set_evals(np.zeros(0), np.zeros(0), np.zeros(0))
        self.set_marker(None)

    def set_epochs(self, epochs: int) -> None:
        """Fix both x axes to ``0..epochs`` (the run's length) so they stay put while it runs."""
        for p in (self.loss_plot, self.acc_plot):
            p.setXRange(0, max(1, epochs), padding=0.02)

    def set_steps(self, x: np.ndarray, loss: np.ndarray) -> None:
        """Loss of each step; ``x`` (N,) in epochs, ``loss`` (N,)."""
        self.steps_x = x
        self.raw.setData(x, loss)
        self.smoothed.setData(x, smooth(loss, max(5, x.size // 40)))
        top = nice_ceiling(float(loss.max())) if loss.size else 1.0
        if top != self.loss_top:
            self.loss_top = top
            self.loss_plot.setYRange(0, top, padding=0.02)

    def set_evals(self, epochs: np.ndarray, loss: np.ndarray, accuracy: np.ndarray) -> None:
        """One point per evaluation: (E,) epochs, mean training loss, dev accuracy."""
        self.epoch_loss.setData(epochs, loss)
        self.acc.setData(epochs, accuracy)
        if accuracy.size:
            i = int(np.argmax(accuracy))
            self.best.setData(epochs[i : i + 1], accuracy[i : i + 1])
        else:
            self.best.setData([], [])

    def set_marker(self, epoch: float | None) -> None:
        """A dashed line at ``epoch`` in both plots (the probe snapshot shown), or none."""
        for m in self.markers:
            m.setVisible(epoch is not None)
            if epoch is not None:
                m.setValue(epoch)
