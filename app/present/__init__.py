"""Qt-free presenters: engine values and counts turned into the words and numbers the views show.

Importable and tested without a QApplication (and without torch).
"""

from app.present._words import count, plural

__all__ = ["count", "plural"]
