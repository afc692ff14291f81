"""The GRU stepper's presenter: the engine's prepared cell and traces as the arrays the view paints.

:func:`trace_job` and :func:`flow_job` are what the controller runs off the GUI thread. The engine
does the work once (:func:`engine.gru.prepare`: one tokenization; the gate terms come with the trace);
this module only reorders and converts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.display import FlowDisplay, GateTerms, GRUDisplay

if TYPE_CHECKING:
    from engine.gru import GradientFlow, Prepared, Trace
    from engine.preview_gru import PreviewPrepared

__all__ = ["TraceRequest", "flow_display", "flow_job", "gru_display", "has_flow", "trace_job"]


@dataclass(frozen=True, eq=False)
class TraceRequest:
    """What the stepper asks the engine for: a text, which GRU, which way, which sentence, what-if."""

    bundle: Any  # a ModelBundle, or a Preview (engine.preview: traced in numpy, no gradient flow)
    text: str
    encoder: str
    direction: str
    sentence: int
    offsets: tuple[tuple[str, float], ...] = ()
    prepared: Prepared | PreviewPrepared | None = None  # reused when made for the same question

    def fits(self, prepared: Prepared | PreviewPrepared | None) -> bool:
        """Whether ``prepared`` was made for this text, GRU, direction and sentence."""
        if prepared is None:
            return False
        same = (prepared.text, prepared.encoder, prepared.direction) == (
            self.text,
            self.encoder,
            self.direction,
        )
        return same and (self.encoder == "sentence" or prepared.sentence == self.sentence)


def trace_job(req: TraceRequest) -> tuple[Prepared | PreviewPrepared, GRUDisplay]:
    """Trace ``req`` (reusing ``req.prepared`` when it fits: a what-if change only steps the cell),
    with torch (:mod:`engine.gru`), or in numpy where ``req.bundle`` is a Preview."""
    from engine.preview import Preview

    if isinstance(req.bundle, Preview):  # the same trace to float32 rounding (engine.preview_gru)
        from engine.preview_gru import prepare, retrace
    else:
        from engine.gru import prepare, retrace  # type: ignore[assignment]

    t0 = time.perf_counter()
    prep = (
        req.prepared
        if req.prepared is not None and req.fits(req.prepared)
        else prepare(req.bundle, req.text, req.encoder, req.direction, req.sentence, clamp_sentence=True)
    )
    offsets = {g: float(v) for g, v in req.offsets if v}
    return prep, gru_display(prep, retrace(prep, offsets), time.perf_counter() - t0)  # type: ignore[arg-type]


def has_flow(prepared: Prepared | PreviewPrepared) -> bool:
    """Whether :func:`flow_job` can measure ``prepared``'s gradient flow (autograd: torch's only)."""
    from engine.preview_gru import PreviewPrepared

    return not isinstance(prepared, PreviewPrepared)


def flow_job(prepared: Prepared, offsets: tuple[tuple[str, float], ...]) -> FlowDisplay:
    """The gradient flow of the prepared cell (offsets folded into its biases) against a plain RNN."""
    from engine.gru import prepared_flow

    t0 = time.perf_counter()
    off = {g: float(v) for g, v in offsets if v}
    return flow_display(prepared_flow(prepared, off), off, time.perf_counter() - t0)


def gru_display(prep: Prepared | PreviewPrepared, tr: Trace, seconds: float = 0.0) -> GRUDisplay:
    """An engine trace (stepped order) and its prepared inputs as the arrays the view draws."""
    T = len(tr.tokens)
    order = np.arange(T)[::-1] if tr.direction == "backward" else np.arange(T)  # text index of each step
    terms = {
        g: GateTerms(
            t.input.astype(np.float64),
            t.b_i.astype(np.float64),
            t.hidden.astype(np.float64),
            t.b_h.astype(np.float64),
            float(tr.offsets.get(g, 0.0)),
        )
        for g, t in tr.terms.items()
    }
    moved = np.abs(tr.h - tr.h_prev).sum(axis=0)  # (H,)
    return GRUDisplay(
        text=prep.text,
        encoder=prep.encoder,
        direction=tr.direction,
        sentence=prep.sentence,
        n_sentences=prep.n_sentences,
        tokens=tuple(tr.tokens),
        keys=tuple(prep.keys[i] for i in order),
        known=prep.known[order],
        text_index=order,
        attention=prep.attention[order],
        z=tr.z,
        r=tr.r,
        n=tr.n,
        h=tr.h,
        h_prev=tr.h_prev,
        terms=terms,
        offsets={g: float(v) for g, v in tr.offsets.items() if v},
        suggested_units=tuple(int(u) for u in np.argsort(-moved, kind="stable")[:3]),
        seconds=seconds,
    )


def flow_display(flow: GradientFlow, offsets: dict[str, float], seconds: float = 0.0) -> FlowDisplay:
    return FlowDisplay(flow.gru, flow.rnn, dict(offsets), seconds)
