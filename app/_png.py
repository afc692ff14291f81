"""A Qt image as PNG bytes, for the atomic writer (``engine.atomic``): QImage.save writes in place."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QImageWriter

__all__ = ["png_bytes"]


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG; OSError (one line) if Qt cannot encode it."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"PNG"))
    if not writer.write(image):
        raise OSError(f"could not encode the image as PNG: {writer.errorString()}")
    return bytes(data.data())
