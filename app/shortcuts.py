"""Every keyboard shortcut of the app, in one table: the views bind from it, Help → Keyboard shows it.

Qt-free (plain strings in Qt's portable key-sequence syntax), so the table is tested and documented
without a display.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GRU_STEPPER", "SECTIONS", "Shortcut"]


@dataclass(frozen=True)
class Shortcut:
    keys: tuple[str, ...]  # each a QKeySequence string, e.g. "Alt+Right"
    action: str  # the slot's name on the view (GRU stepper) or "" for a menu/widget key
    what: str  # what it does, for Help → Keyboard


# The stepper's keys work whenever its tab is shown. Plain keys are left to a text box being edited
# (it claims them first: Qt's ShortcutOverride); the Alt forms step even while you type.
GRU_STEPPER: tuple[Shortcut, ...] = (
    Shortcut(("Right", "Alt+Right"), "step_forward", "next step"),
    Shortcut(("Left", "Alt+Left"), "step_back", "previous step"),
    Shortcut(("Space", "Alt+Space"), "toggle_play", "play / pause"),
    Shortcut(("Home", "Alt+Home"), "go_start", "first step"),
    Shortcut(("End", "Alt+End"), "go_end", "last step"),
)

_WINDOW = (
    Shortcut(("Ctrl+O",), "", "open a review (text file)"),
    Shortcut(("Ctrl+Shift+O",), "", "open a model folder"),
    Shortcut(("Ctrl+Shift+D",), "", "open a dataset in the Dataset tab"),
    Shortcut(("Ctrl+E",), "", "export the Attention view (HTML, PNG or JSON)"),
    Shortcut(("Ctrl+Shift+C",), "", "copy the Attention view as HTML"),
    Shortcut(("Ctrl+Shift+I",), "", "copy the Attention view as an image"),
    Shortcut(
        ("Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5", "Ctrl+6"), "", "show the first … sixth explorer"
    ),
    Shortcut(("F1",), "", "this page"),
    Shortcut(("Ctrl+Q",), "", "quit"),
)
_ATTENTION = (
    Shortcut(("Click",), "", "select a sentence (a word's sentence); typing goes on where you clicked"),
    Shortcut(("Ctrl+Enter",), "", "step through the selected sentence in the GRU stepper"),
    Shortcut(
        ("Ctrl+Click",), "", "leave a word out of what the model reads, or bring it back (the text stays)"
    ),
    Shortcut(("Ctrl+Shift+Click",), "", "leave the word's whole sentence out, or bring it back"),
    Shortcut(("Ctrl+Click on a bar",), "", "leave that sentence out, or bring it back"),
    Shortcut(
        ("Alt+Left",),
        "",
        "back to the Dataset or Behaviour tab, as you left it (after opening a text from it)",
    ),
)
_GRU_TEXT = (
    Shortcut(("Enter", "Escape"), "", "in the sentence box: leave it, so the plain keys step again"),
)
_CONV = (
    Shortcut(("Arrows",), "", "on the image: select the neighbouring block"),
    Shortcut(("Shift+Arrows",), "", "on the image: move the chosen output pixel"),
)

_DATASET = (
    Shortcut(("Enter", "Double-click"), "", "open the review in the Attention view"),
    Shortcut(("Click",), "", "on a confusion cell or a word: show only its reviews (again: show all)"),
)

_BEHAVIOUR = (
    Shortcut(("Enter", "Double-click"), "", "open the failing case in the Attention view"),
    Shortcut(("Click",), "", "on a cell of the table: list its failing cases"),
)

SECTIONS: tuple[tuple[str, tuple[Shortcut, ...]], ...] = (
    ("Everywhere", _WINDOW),
    ("Attention", _ATTENTION),
    ("GRU stepper (whenever its tab is shown)", GRU_STEPPER + _GRU_TEXT),
    ("Convolution tiles", _CONV),
    ("Dataset", _DATASET),
    ("Behaviour", _BEHAVIOUR),
)
