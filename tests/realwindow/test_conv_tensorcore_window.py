"""The Convolution tiles explorer's Tensor cores tab in a real window (Xvfb, xcb) at laptop sizes.

With ``HAN_SCREENSHOTS=<folder>`` each case also saves a PNG of the window there, to look at.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realwindow._layout import layout_problems

TIMEOUT = 20_000


@pytest.fixture
def window(qtbot: Any, shipped_bundle: Any) -> Iterator[Any]:
    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, None))
    qtbot.addWidget(w)
    w.setGeometry(0, 0, 1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    for c in w.controllers.values():
        c.shutdown()
    for c in w.controllers.values():
        with contextlib.suppress(Exception):
            c.wait_idle(5_000)


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_tensor_cores_tab_is_whole(qtbot: Any, window: Any, size: tuple[int, int]) -> None:
    window.setGeometry(0, 0, *size)
    window.show_view("conv")
    conv = window.controllers["conv"]
    qtbot.waitUntil(lambda: not conv.busy, timeout=TIMEOUT)
    conv.set_params(strategy="tensorcore", mask_size=15, tile=32)
    qtbot.waitUntil(
        lambda: conv.geometry is not None and conv.geometry.strategy == "tensorcore", timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: not conv.busy, timeout=TIMEOUT)
    view = conv.view
    view.tabs.setCurrentWidget(view.mma)
    view.panes.show_pane(view.tabs.parentWidget())  # folded at 1024 px: bring the Block pane forward
    conv.select_block(1, 1)
    conv.select_mma(1, 7, 3)
    qtbot.wait(400)
    mma = view.mma.canvas.mma
    assert mma is not None and (mma.warp, mma.mask_row, mma.chunk) == (1, 7, 3)
    assert mma.serves == ((3, 0), (2, 1), (1, 2)) and view.mma.chunk.value() == 3
    assert view.mma.plot.isVisible()
    assert layout_problems(window._pages["conv"], window) == []
    inner, port = view.mma.scroller.widget(), view.mma.scroller.viewport()
    assert inner.width() <= port.width(), f"the panel is {inner.width()} px in a {port.width()} px view: cut"
    conv.set_card("NVIDIA H100 SXM")  # a card whose mma.sync rate was measured: the amber roof and its text
    qtbot.waitUntil(lambda: "326.6" in view.mma.roof_text.text(), timeout=TIMEOUT)
    assert layout_problems(window._pages["conv"], window) == []
    assert inner.width() <= port.width(), f"the panel is {inner.width()} px in a {port.width()} px view: cut"
    if folder := os.environ.get("HAN_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(folder) / f"conv-tensorcores-{size[0]}x{size[1]}.png"))
        view.mma.scroller.ensureWidgetVisible(view.mma.plot)
        qtbot.wait(300)
        window.grab().save(str(Path(folder) / f"conv-tensorcores-roofline-{size[0]}x{size[1]}.png"))
        view.mma.plot.grab().save(str(Path(folder) / f"conv-roofline-plot-{size[0]}x{size[1]}.png"))


def test_card_by_clicks_and_the_wheel_over_the_roofline_scrolls_the_tab(
    qtbot: Any, window: Any, xdo: Any
) -> None:
    """With real X events at 1024 x 700: the H100 chosen in the Counters tab's Card box (wheel down to it,
    click, arrow keys, Return) puts mma.sync's measured cap on the roofline; the wheel over the plot then
    scrolls the Tensor cores tab and leaves the plot's decades alone (pyqtgraph used to zoom it)."""

    def click(widget: Any, at: Any = None) -> None:
        g = widget.mapToGlobal(at if at is not None else widget.rect().center())
        xdo("mousemove", "--sync", str(g.x()), str(g.y()))
        xdo("click", "1")
        qtbot.wait(300)

    window.setGeometry(0, 0, 1024, 700)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    window.show_view("conv")
    conv = window.controllers["conv"]
    qtbot.waitUntil(lambda: not conv.busy, timeout=TIMEOUT)
    conv.set_params(strategy="tensorcore", mask_size=15, tile=32)
    qtbot.waitUntil(
        lambda: conv.geometry is not None and conv.geometry.strategy == "tensorcore" and not conv.busy,
        timeout=TIMEOUT,
    )
    view = conv.view
    view.panes.show_pane(view.tabs.parentWidget())  # folded at 1024 px: bring the Block pane forward
    qtbot.wait(300)
    bar = view.tabs.tabBar()
    click(bar, bar.tabRect(view.tabs.indexOf(view.counters)).center())
    assert view.tabs.currentWidget() is view.counters
    box = view.counters.card_box
    c = view.counters.mapToGlobal(view.counters.rect().center())
    xdo("mousemove", "--sync", str(c.x()), str(c.y()))
    for _ in range(60):  # the Card box sits below the counters: wheel down to it
        if box.visibleRegion().boundingRect().contains(box.rect().center()):
            break
        xdo("click", "5")
        qtbot.wait(30)
    click(box)
    steps = box.findText("NVIDIA H100 SXM") - box.currentIndex()
    for _ in range(abs(steps)):
        xdo("key", "Down" if steps > 0 else "Up")
    xdo("key", "Return")
    qtbot.waitUntil(lambda: conv.card == "NVIDIA H100 SXM", timeout=TIMEOUT)
    click(bar, bar.tabRect(view.tabs.indexOf(view.mma)).center())
    assert view.tabs.currentWidget() is view.mma
    qtbot.waitUntil(lambda: "326.6" in view.mma.roof_text.text(), timeout=TIMEOUT)
    scroll = view.mma.scroller.verticalScrollBar()
    view.mma.scroller.ensureWidgetVisible(view.mma.plot)  # the plot in sight
    qtbot.wait(300)
    plot = view.mma.plot
    decades = plot.getViewBox().viewRange()
    seen = plot.viewport().visibleRegion().boundingRect()
    assert not seen.isEmpty()
    g = plot.viewport().mapToGlobal(seen.center())
    xdo("mousemove", "--sync", str(g.x()), str(g.y()))
    top = scroll.value()
    for _ in range(3):
        xdo("click", "4")  # wheel up
    qtbot.wait(400)
    assert plot.getViewBox().viewRange() == decades
    assert scroll.value() < top, "the wheel over the roofline did not scroll the tab"
