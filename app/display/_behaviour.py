"""What the Behaviour explorer paints: the capability x test-type table and a cell's failing cases.

Plain strings and numbers; every string that comes from the suite (a case's text) is shown as plain
text by the view.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TEST_TYPES", "TYPE_MEANINGS", "BehaviourTable", "CellDisplay", "FailureRow"]

TEST_TYPES = ("MFT", "INV", "DIR")
TYPE_MEANINGS = {
    "MFT": "minimum functionality: a case fails when the prediction is not its label",
    "INV": "invariance: a case fails when a harmless change flips the prediction",
    "DIR": "directional expectation: a case fails when a change moves the confidence the wrong way "
    "by more than 0.1",
}


@dataclass(frozen=True)
class CellDisplay:
    """One capability's tests of one type, pooled."""

    rate: float  # failures / n, in [0, 1]
    n: int
    failures: int
    tip: str  # every test of the cell with its own rate

    @property
    def text(self) -> str:
        return f"{self.rate:.1%}"


@dataclass(frozen=True)
class BehaviourTable:
    """Rows: capabilities in the suite's order; ``cells[row][col]`` for :data:`TEST_TYPES` (None: the
    capability has no test of that type)."""

    names: tuple[str, ...]
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    cells: tuple[tuple[CellDisplay | None, ...], ...]

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class FailureRow:
    """A failing case as the list shows it; ``text`` is what opens in the Attention view."""

    test: str
    expected: str
    predicted: str
    confidence: str  # "P(pos) 0.83"
    text: str
    original: str | None  # INV/DIR: the unperturbed text
    detail: str  # every field, for the detail box
