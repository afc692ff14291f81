"""The Dataset tab's reliability diagram: its bars, axis and title follow the bins it is given."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.widgets._dataset_charts import ReliabilityPlot


def test_reliability_plot_relays_out_only_when_axis_or_title_change(qtbot: Any, monkeypatch: Any) -> None:
    plot = ReliabilityPlot()
    qtbot.addWidget(plot)
    item = plot.getPlotItem()
    titles: list[str] = []
    ranges: list[tuple[float, float]] = []
    real_title, real_range = item.setTitle, item.setXRange
    monkeypatch.setattr(item, "setTitle", lambda t, **kw: (titles.append(t), real_title(t, **kw)))
    monkeypatch.setattr(item, "setXRange", lambda a, b, **kw: (ranges.append((a, b)), real_range(a, b, **kw)))
    edges = np.linspace(0.5, 1.0, 11)
    acc = np.linspace(0.5, 1.0, 10)
    acc[3] = np.nan  # an empty bin: no bar
    plot.set_bins(edges, acc, acc, 0.0123)
    plot.set_bins(edges, acc, acc, 0.01231)  # the same title at its 3 decimals, the same axis
    assert titles == ["reliability · ECE 0.012"] and ranges == [(0.5, 1.0)]
    assert len(plot.bars.opts["x"]) == 9 and plot.diagonal.getData()[0].tolist() == [0.5, 1.0]
    plot.set_bins(np.linspace(1 / 3, 1.0, 11), acc, acc, 0.2)
    assert titles[-1] == "reliability · ECE 0.200" and ranges[-1] == (1 / 3, 1.0)
    assert item.titleLabel.text == "reliability · ECE 0.200"
    plot.set_bins(np.linspace(1 / 3, 1.0, 11), acc, acc, float("nan"))
    assert titles[-1] == "" and len(titles) == 3
