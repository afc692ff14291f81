"""Qt-free presenters: engine values turned into the display values (:mod:`app.display`) the views paint.

A presenter may import the engine, never Qt; the views never import a presenter (import-linter).
"""

from app.present._attention import (
    Edit,
    Explained,
    attention_display,
    attention_json,
    attribution_values,
    explain_job,
    pin_text,
    preview_job,
    score_job,
)
from app.present._conv import (
    block_display,
    compare_display,
    compare_job,
    counters_display,
    counters_job,
    grid_display,
    hardware_job,
    image_job,
    run_job,
    shared_parts,
)
from app.present._conv_benchmark import (
    benchmark_choices,
    benchmark_registers,
    compare_from_benchmark,
)
from app.present._conv_mma import mma_display, roofline_display
from app.present._gru import TraceRequest, flow_display, flow_job, gru_display, has_flow, trace_job

__all__ = [
    "Edit",
    "Explained",
    "TraceRequest",
    "attention_display",
    "attention_json",
    "attribution_values",
    "benchmark_choices",
    "benchmark_registers",
    "block_display",
    "compare_display",
    "compare_from_benchmark",
    "compare_job",
    "counters_display",
    "counters_job",
    "explain_job",
    "flow_display",
    "flow_job",
    "grid_display",
    "gru_display",
    "hardware_job",
    "has_flow",
    "image_job",
    "mma_display",
    "pin_text",
    "preview_job",
    "roofline_display",
    "run_job",
    "score_job",
    "shared_parts",
    "trace_job",
]
