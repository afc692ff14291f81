"""Counting in words: "1 sentence", "2 sentences", "1,024 words"."""

from __future__ import annotations

__all__ = ["count", "plural"]

_IRREGULAR = {"was": "were", "is": "are", "this": "these", "child": "children", "matrix": "matrices"}


def plural(n: int, singular: str, many: str | None = None) -> str:
    """``singular`` for exactly one, else ``many`` (default: the regular English plural)."""
    if n == 1:
        return singular
    if many is not None:
        return many
    if singular in _IRREGULAR:
        return _IRREGULAR[singular]
    if singular.endswith(("s", "x", "ch", "sh")):
        return singular + "es"
    if singular.endswith("y") and singular[-2:-1] not in "aeiou":
        return singular[:-1] + "ies"
    return singular + "s"


def count(n: int, singular: str, many: str | None = None) -> str:
    """``n`` with thousands separators and the noun in the right number: ``count(1, "step")``."""
    return f"{n:,} {plural(n, singular, many)}"
