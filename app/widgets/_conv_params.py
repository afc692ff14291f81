"""The parameter panel: image, mask (with its K x K table), tile and strategy.

The spin boxes accept values the engine refuses (an even mask, a tile of 0, a 9000-pixel side ...)
on purpose: the engine checks them, and its message is shown inline in ``error``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.display import ConvParams

__all__ = ["CUSTOM_MASK", "MAX_TABLE", "MaskTable", "ParamsPanel"]

CUSTOM_MASK = "custom"
MAX_TABLE = 15  # larger masks are set by kind only: a 63 x 63 table helps nobody


class MaskTable(QTableWidget):
    """Editable K x K mask values.

    Signals
    -------
    mask_edited(object)
        The ``(K, K)`` float32 values after the user changed a cell.
    """

    mask_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.horizontalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(24)
        self.verticalHeader().hide()
        self.setMinimumHeight(110)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.setFont(font)
        self.itemChanged.connect(self._on_item_changed)

    def set_mask(self, values: np.ndarray) -> None:
        k = values.shape[0]
        with QSignalBlocker(self):
            self.clear()
            shown = k if k <= MAX_TABLE else 0
            self.setRowCount(shown)
            self.setColumnCount(shown)
            for i in range(shown):
                for j in range(shown):
                    self.setItem(i, j, QTableWidgetItem(f"{values[i, j]:.3g}"))
            self.resizeRowsToContents()
        self.setEnabled(k <= MAX_TABLE)

    def values(self) -> np.ndarray:
        k = self.rowCount()
        out = np.zeros((k, k), np.float32)
        for i in range(k):
            for j in range(k):
                item = self.item(i, j)
                out[i, j] = _number(item.text() if item is not None else "0") or 0.0
        return out

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if _number(item.text()) is None:
            with QSignalBlocker(self):
                item.setText("0")  # "abc" becomes 0: what the mask now holds
        self.mask_edited.emit(self.values())


def _number(text: str) -> float | None:
    """The cell's value; None when it is not a finite number."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


class ParamsPanel(QWidget):
    """Signals
    -------
    params_changed(object)
        A :class:`ConvParams` after any size, tile or strategy edit.
    pattern_selected(str)
        A built-in pattern was picked.
    open_image_requested()
        "Open PNG/JPEG…".
    mask_kind_selected(str)
    mask_edited(object)
        ``(K, K)`` float32 values typed into the table.
    """

    params_changed = Signal(object)
    pattern_selected = Signal(str)
    open_image_requested = Signal()
    mask_kind_selected = Signal(str)
    mask_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.height_box, self.width_box = _spin(0, 16384), _spin(0, 16384)
        self.mask_box, self.tile_box = _spin(0, 99), _spin(0, 256)
        self.strategy_box = QComboBox()
        self.pattern_box = QComboBox()
        self.open_button = QPushButton("Open PNG/JPEG…")
        self.source = QLabel()
        self.source.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.source.setWordWrap(True)
        self.kind_box = QComboBox()
        self.table = MaskTable()
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build()
        for box in (self.height_box, self.width_box, self.mask_box, self.tile_box):
            box.valueChanged.connect(self._emit_params)
        self.strategy_box.currentIndexChanged.connect(self._emit_params)
        self.pattern_box.textActivated.connect(self.pattern_selected)
        self.open_button.clicked.connect(self.open_image_requested)
        self.kind_box.textActivated.connect(self.mask_kind_selected)
        self.table.mask_edited.connect(self.mask_edited)

    def _build(self) -> None:
        image = QGroupBox("Image")
        f = QFormLayout(image)
        size = QHBoxLayout()
        size.addWidget(self.height_box)
        size.addWidget(QLabel("×"))
        size.addWidget(self.width_box)
        f.addRow("Height × width", size)
        f.addRow("Pattern", self.pattern_box)
        f.addRow(self.open_button)
        f.addRow(self.source)
        mask = QGroupBox("Mask")
        m = QFormLayout(mask)
        m.addRow("Size K", self.mask_box)
        m.addRow("Kind", self.kind_box)
        m.addRow(self.table)
        tiling = QGroupBox("Tiling")
        t = QFormLayout(tiling)
        t.addRow("Tile T", self.tile_box)
        t.addRow("Strategy", self.strategy_box)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        for w in (image, mask, tiling):
            col.addWidget(w)
        col.addWidget(self.error)
        col.addStretch(1)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_choices(self, strategies: list[str], patterns: list[str], mask_kinds: list[str]) -> None:
        for box, items in (
            (self.strategy_box, strategies),
            (self.pattern_box, patterns),
            (self.kind_box, [*mask_kinds, CUSTOM_MASK]),
        ):
            with QSignalBlocker(box):
                box.clear()
                box.addItems(items)

    def set_params(self, p: ConvParams) -> None:
        for box, value in (
            (self.height_box, p.height),
            (self.width_box, p.width),
            (self.mask_box, p.mask_size),
            (self.tile_box, p.tile),
        ):
            with QSignalBlocker(box):
                box.setValue(value)
        with QSignalBlocker(self.strategy_box):
            self.strategy_box.setCurrentText(p.strategy)

    def set_pattern(self, name: str) -> None:
        with QSignalBlocker(self.pattern_box):
            self.pattern_box.setCurrentText(name)

    def set_mask(self, kind: str, values: np.ndarray) -> None:
        with QSignalBlocker(self.kind_box):
            self.kind_box.setCurrentText(kind)
        self.table.set_mask(values)

    def set_source(self, text: str) -> None:
        self.source.setText(text)

    def set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def params(self) -> ConvParams:
        return ConvParams(
            self.height_box.value(),
            self.width_box.value(),
            self.mask_box.value(),
            self.tile_box.value(),
            self.strategy_box.currentText(),
        )

    def _emit_params(self, *_: object) -> None:
        self.params_changed.emit(self.params())


def _spin(lo: int, hi: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setKeyboardTracking(False)  # typing "4096" is one change, not four
    return box
