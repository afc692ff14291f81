"""Qt-free values the views paint: frozen dataclasses of numpy arrays and the words that go with them.

Built by the presenters (:mod:`app.present`) from engine values; painted by :mod:`app.widgets`. Importable
and tested without Qt, torch or the engine (an import-linter contract).
"""

from app.display._attention import MODES, AttentionDisplay, Mode
from app.display._conv import (
    COLORS,
    LEGEND,
    OPTIONAL_LEGEND,
    BlockDisplay,
    CompareDisplay,
    ConvParams,
    CountersDisplay,
    GridDisplay,
    LoadTable,
    Rect,
    RunDisplay,
    phase_steps,
)
from app.display._gru import (
    GATES,
    QUANTITIES,
    FlowDisplay,
    GateTerms,
    GRUDisplay,
    UnitReading,
    axis_labels,
    chip_labels,
    chip_tip,
    equations_html,
    parse_units,
    read_unit,
    step_info,
)
from app.display._training import (
    CutSummary,
    DatasetSummary,
    HistogramData,
    ProbeSnapshot,
    RunProgress,
    duration,
)
from app.display._words import count, plural

__all__ = [
    "COLORS",
    "GATES",
    "LEGEND",
    "MODES",
    "OPTIONAL_LEGEND",
    "QUANTITIES",
    "AttentionDisplay",
    "BlockDisplay",
    "CompareDisplay",
    "ConvParams",
    "CountersDisplay",
    "CutSummary",
    "DatasetSummary",
    "FlowDisplay",
    "GRUDisplay",
    "GateTerms",
    "GridDisplay",
    "HistogramData",
    "LoadTable",
    "Mode",
    "ProbeSnapshot",
    "Rect",
    "RunDisplay",
    "RunProgress",
    "UnitReading",
    "axis_labels",
    "chip_labels",
    "chip_tip",
    "count",
    "duration",
    "equations_html",
    "parse_units",
    "phase_steps",
    "plural",
    "read_unit",
    "step_info",
]
