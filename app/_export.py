"""Pictures for exports: whole documents and whole plots (never the viewport), encoded in memory.

Every function returns bytes for the atomic writer (:mod:`engine.atomic`); ``QImage.save`` and
``QSvgGenerator(fileName)`` would write in place, so a failed export could truncate a user's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QImageWriter,
    QPainter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtSvg import QSvgGenerator

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PySide6.QtWidgets import QPlainTextEdit, QWidget

__all__ = [
    "IMAGE_FORMATS",
    "Composed",
    "captioned",
    "encode_image",
    "export_suffix",
    "painted_svg",
    "shaded_document",
    "widget_image",
]

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
PAGE_WIDTH = 900  # px: a readable line length for a review


def export_suffix(path: str | Path, formats: Sequence[tuple[str, str]]) -> str:
    """The suffix of ``path`` if it is one of ``formats`` (``(suffix, description)``), else ValueError."""
    suffix = Path(path).suffix.lower()
    allowed = [s for s, _ in formats]
    if suffix not in allowed:
        kind = suffix or "a file without a suffix"
        raise ValueError(f"cannot export this view as {kind}: use {', '.join(allowed)}")
    return suffix


def encode_image(image: QImage, suffix: str) -> bytes:
    """``image`` as PNG or JPEG bytes (by ``suffix``); OSError (one line) if Qt cannot encode it."""
    fmt = IMAGE_FORMATS[suffix.lower()]
    if fmt == "JPEG":  # no alpha in JPEG: flatten on white, not black
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.setDevicePixelRatio(image.devicePixelRatio())
        flat.fill(Qt.GlobalColor.white)
        p = QPainter(flat)
        p.drawImage(0, 0, image)
        p.end()
        image = flat
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(fmt.encode()))
    if fmt == "JPEG":
        writer.setQuality(92)
    if not writer.write(image):
        raise OSError(f"could not encode the image as {fmt}: {writer.errorString()}")
    return bytes(data.data())


def painted_svg(size: QSize, paint: Callable[[QPainter], None], title: str, description: str) -> bytes:
    """An SVG of what ``paint`` draws on a ``size`` canvas, with ``title`` and ``description``."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buffer)
    gen.setSize(size)
    gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription(description)
    p = QPainter(gen)
    try:
        paint(p)
    finally:
        p.end()
    return bytes(data.data())


# -- documents ----------------------------------------------------------------------------------------
def shaded_document(editor: QPlainTextEdit, header: Sequence[str], width: int = PAGE_WIDTH) -> QTextDocument:
    """A copy of ``editor``'s whole text with the shading its layout shows, under ``header`` lines.

    The shading lives in the layout (a syntax highlighter), not the document, so it is read back
    block by block and applied to the copy as character formats.
    """
    doc = QTextDocument()
    doc.setDocumentMargin(16)
    font = QFont(editor.font())
    doc.setDefaultFont(font)
    cursor = QTextCursor(doc)
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    small = QTextCharFormat()
    small.setForeground(QColor(87, 96, 106))
    for k, line in enumerate(header):
        cursor.insertText(line, bold if k == 0 else small)
        cursor.insertBlock()
    if header:
        cursor.insertBlock()
    offset = cursor.position()
    cursor.insertText(editor.toPlainText(), QTextCharFormat())
    block = editor.document().begin()
    while block.isValid():
        for r in block.layout().formats():
            c = QTextCursor(doc)
            c.setPosition(offset + block.position() + r.start)
            c.setPosition(offset + block.position() + r.start + r.length, QTextCursor.MoveMode.KeepAnchor)
            c.mergeCharFormat(r.format)
        block = block.next()
    doc.setTextWidth(width)
    return doc


def _header_document(lines: Sequence[str], width: float, font: QFont) -> QTextDocument:
    doc = QTextDocument()
    doc.setDocumentMargin(16)
    doc.setDefaultFont(font)
    cursor = QTextCursor(doc)
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    small = QTextCharFormat()
    small.setForeground(QColor(87, 96, 106))
    for k, line in enumerate(lines):
        if k:
            cursor.insertBlock()
        cursor.insertText(line, bold if k == 0 else small)
    doc.setTextWidth(width)
    return doc


class Composed:
    """``header`` lines across the top, then ``legend`` (an image: what the colours mean, if given),
    then one shaded document per pane, side by side, each whole."""

    LEGEND_MARGIN = 16

    def __init__(
        self,
        header: Sequence[str],
        panes: Sequence[tuple[QPlainTextEdit, str]],
        width: int,
        legend: QImage | None = None,
    ) -> None:
        each = width if len(panes) == 1 else max(width // len(panes), 300)
        self.head = _header_document(header, each * len(panes), QFont(panes[0][0].font()))
        self.docs = [shaded_document(ed, [title] if title else [], each) for ed, title in panes]
        self.each = each
        self.legend = legend
        self.top = self.head.size().height()
        if legend is not None:
            self.top += legend.height() / max(legend.devicePixelRatio(), 1.0) + 4
        self.size = QSize(each * len(panes), int(self.top + max(d.size().height() for d in self.docs)) + 1)

    def paint(self, p: QPainter) -> None:
        p.fillRect(QRectF(0, 0, self.size.width(), self.size.height()), Qt.GlobalColor.white)
        self.head.drawContents(p)
        if self.legend is not None:
            p.drawImage(QPointF(self.LEGEND_MARGIN, self.head.size().height()), self.legend)
        for k, doc in enumerate(self.docs):
            p.save()
            p.translate(k * self.each, self.top)
            doc.drawContents(p)
            p.restore()

    def image(self) -> QImage:
        """The whole composition, however long, as one image."""
        image = QImage(self.size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.white)
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.paint(p)
        p.end()
        return image

    def svg(self, title: str, description: str) -> bytes:
        return painted_svg(self.size, self.paint, title, description)


# -- widgets ------------------------------------------------------------------------------------------
def widget_image(widget: QWidget) -> QImage:
    return widget.grab().toImage()


def captioned(image: QImage, lines: Sequence[str]) -> QImage:
    """``image`` with ``lines`` of caption text (model, program) under it, on white, wrapped to its width."""
    from PySide6.QtGui import QFontMetrics

    pad = 8
    font = QFont()
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWrapAnywhere)
    width = max(image.width() - 2 * pad, 100)
    metrics = QFontMetrics(font)
    rects = [metrics.boundingRect(0, 0, width, 10_000, flags, line) for line in lines]
    h = image.height() + pad + sum(r.height() for r in rects) + pad
    out = QImage(max(image.width(), width + 2 * pad), h, QImage.Format.Format_ARGB32)
    out.fill(Qt.GlobalColor.white)
    p = QPainter(out)
    p.drawImage(0, 0, image)
    p.setFont(font)
    p.setPen(QColor(87, 96, 106))
    y = image.height() + pad
    for line, r in zip(lines, rects, strict=True):
        p.drawText(QRectF(pad, y, width, r.height()), flags, line)
        y += r.height()
    p.end()
    return out
