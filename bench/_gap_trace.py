"""Why the GUI thread was late: a sampler thread that records its Python stack during long gaps.

The GUI thread calls :meth:`GapTracer.beat` from a short QTimer. A daemon thread wakes every
``every_ms``; while the last beat is older than ``after_ms`` it takes the GUI thread's stack
(``sys._current_frames``) and counts it. A gap's samples are one record: its length and the stacks
seen most, innermost frames last. A stack the sampler cannot take (the GUI thread holds the GIL in C
code the whole time) shows as the frame it was in when the sampler got the GIL, or as no sample at
all (an OS wait, or C++ work that held the GIL throughout).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import Any

__all__ = ["GapTracer"]


def _stack(frame: Any, depth: int) -> tuple[str, ...]:
    out = []
    while frame is not None and len(out) < depth:
        code = frame.f_code
        path = code.co_filename.rsplit("/", 2)
        out.append(f"{'/'.join(path[-2:])}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return tuple(reversed(out))


class GapTracer:
    def __init__(self, after_ms: float = 25.0, every_ms: float = 2.0, depth: int = 14) -> None:
        self.after, self.every, self.depth = after_ms / 1000, every_ms / 1000, depth
        self.gui = threading.get_ident()
        self.last = time.perf_counter()
        self.records: list[dict[str, Any]] = []
        self._samples: Counter[tuple[str, ...]] = Counter()
        self._started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gap tracer", daemon=True)
        self._t0 = time.perf_counter()

    def start(self) -> None:
        self.last = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def beat(self) -> None:
        now = time.perf_counter()
        gap = now - self.last
        self.last = now
        if self._samples and gap >= 2 * self.after:
            self.records.append(
                {
                    "at_s": round(self._started - self._t0, 3),
                    "gap_ms": round(gap * 1000, 1),
                    "samples": sum(self._samples.values()),
                    "stacks": [{"n": n, "stack": list(s)} for s, n in self._samples.most_common(4)],
                }
            )
        self._samples = Counter()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if time.perf_counter() - self.last < self.after:
                continue
            frame = sys._current_frames().get(self.gui)
            if not self._samples:
                self._started = self.last
            self._samples[_stack(frame, self.depth) if frame is not None else ("<no Python frame>",)] += 1

    def report(self, limit: int = 12) -> str:
        lines = []
        for r in sorted(self.records, key=lambda r: -r["gap_ms"])[:limit]:
            lines.append(f"gap {r['gap_ms']} ms at {r['at_s']} s, {r['samples']} samples")
            for s in r["stacks"][:2]:
                lines.append(f"  x{s['n']}:")
                lines.extend(f"    {f}" for f in s["stack"][-10:])
        return "\n".join(lines)
