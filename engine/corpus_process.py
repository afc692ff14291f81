"""Run :func:`engine.corpus.score_corpus` in a child process and read its rows in this one.

Scoring in a thread of the desktop app starved its GUI thread: tokenizing is pure Python and holds
the GIL, so the event loop waited 100-200 ms at a time. In a child process scoring shares no GIL
with the window; a thread of the parent waits on a pipe, which does not hold the GIL either.

* :func:`score_to_pipe` is the child's target. It receives the dataset in chunks (so no single
  pickling of 25,000 texts holds the parent's GIL), scores it, and sends ``("rows", CorpusProgress)``
  at most every ``chunk_s`` seconds (the batches of that time merged into one record),
  ``("error", exception)`` on failure, and always ``("end", None)`` last. It stops at the next batch
  once the stop event is set.
* :class:`CorpusProcess` is the parent's side: :meth:`~CorpusProcess.results` starts the child and
  is a generator with :func:`score_corpus`'s contract (the same records, then the same result,
  built here from the streamed rows), re-raising the child's error; :meth:`~CorpusProcess.kill`
  ends the child at once (a scoring run has nothing to save); closing the generator kills it too.

Children come from the fork server (:mod:`engine.train_process` does the same), or from spawn where
there is none; never from a plain fork of a parent that runs Qt and torch threads.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import torch

from engine._child import child_context, reporting, settle, start_server
from engine.corpus import (
    TOP_K,
    CorpusBuilder,
    CorpusProgress,
    CorpusResult,
    _Rows,
    cache_key,
    model_truth,
    score_corpus,
)
from engine.data import Dataset

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = ["CorpusProcess", "score_to_pipe"]

CHUNK_S = 0.25  # the child sends at most this often: a fast (GPU) run does not flood the GUI
TEXTS_PER_MESSAGE = 512  # the dataset crosses the pipe in pieces this size


class _Conn(Protocol):
    def send(self, obj: Any) -> None: ...
    def recv(self) -> Any: ...
    def close(self) -> None: ...


class _Flag(Protocol):
    def is_set(self) -> bool: ...


def _send_bundle(conn: Any, bundle: ModelBundle) -> None:
    """The model as its parts: one small pickle, then each tensor's raw bytes. Writing bytes releases
    the GIL (pickling the whole bundle held it ~50 ms, a pause of the parent's GUI thread)."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in bundle.model.state_dict().items()}
    device = str(next(bundle.model.parameters()).device)
    names = [(k, str(v.dtype).removeprefix("torch."), tuple(v.shape)) for k, v in state.items()]
    conn.send(
        (
            bundle.model.config,
            names,
            device,
            bundle.vocab,
            bundle.label_names,
            bundle.limits,
            bundle.metadata,
            bundle.path,
        )
    )
    for k, _, _ in names:
        t = state[k]
        conn.send_bytes(t.reshape(-1).view(torch.uint8).numpy() if t.numel() else b"")


def _receive_bundle(conn: Any) -> ModelBundle:
    from engine.bundle import ModelBundle
    from engine.model import HAN

    config, names, device, vocab, labels, limits, metadata, path = conn.recv()
    state = {}
    for k, dtype, shape in names:
        raw = bytearray(conn.recv_bytes())
        state[k] = (
            torch.frombuffer(raw, dtype=getattr(torch, dtype)).reshape(shape)
            if raw
            else torch.zeros(shape, dtype=getattr(torch, dtype))
        )
    model = HAN(config)
    model.load_state_dict(state)
    model.to(device).eval()
    return ModelBundle(model, vocab, labels, limits, metadata, path)


def _receive_dataset(conn: _Conn) -> Dataset:
    head = conn.recv()
    texts: list[str] = []
    while len(texts) < head["n"]:
        texts.extend(conn.recv())
    return Dataset(
        texts=tuple(texts),
        labels=tuple(head["labels"]),
        label_names=tuple(head["label_names"]),
        format=head["format"],
        source=head["source"],
        sha256=head["sha256"],
        skipped=(),
    )


def _merge(records: list[CorpusProgress]) -> CorpusProgress:
    last = records[-1]
    if len(records) == 1:
        return last
    return CorpusProgress(last.done, last.total, last.seconds, _Rows.concat([r.rows for r in records]))


def score_to_pipe(
    conn: Any,
    stop: _Flag,
    options: dict[str, Any],
    threads: int | None = None,
    nice: int = 0,
    chunk_s: float = CHUNK_S,
) -> None:
    """Receive a dataset on ``conn``, score it with ``score_corpus(bundle, ds, **options)`` and send
    its records back (see the module docstring). The model arrives first, as the parent holds it
    (never read from a file). ``threads``/``nice`` as in
    :func:`engine.train_process.train_to_pipe`."""
    with reporting(conn):
        settle(threads, nice)
        bundle = _receive_bundle(conn)
        ds = _receive_dataset(conn)
        key = cache_key(bundle, ds, options.get("top_k", TOP_K)) if options.get("words", True) else ""
        conn.send(("key", key))
        gen = score_corpus(bundle, ds, key=key, **options)
        pending: list[CorpusProgress] = []
        sent = time.monotonic()
        try:
            for p in gen:
                pending.append(p)
                if stop.is_set():
                    break
                if time.monotonic() - sent >= chunk_s or p.done == p.total:
                    conn.send(("rows", _merge(pending)))
                    pending, sent = [], time.monotonic()
        finally:
            gen.close()
        if pending and not stop.is_set():
            conn.send(("rows", _merge(pending)))


class CorpusProcess:
    """One scoring run in a child process (see the module docstring).

    ``options`` are :func:`score_corpus`'s keyword arguments (``batch_size``, ``top_k``, ``seed``,
    ``words``...). ``threads``: torch threads of the child; ``nice``: how much CPU priority it gives
    up to this process.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        ds: Dataset,
        *,
        threads: int | None = None,
        nice: int = 0,
        chunk_s: float = CHUNK_S,
        **options: Any,
    ) -> None:
        # nothing of multiprocessing here: its first semaphore starts the resource tracker (a process),
        # which is results()' work, off the GUI thread
        self.bundle, self.ds, self.options = bundle, ds, options
        self.threads, self.nice, self.chunk_s = threads, nice, chunk_s
        self.process: Any = None
        self._stop: Any = None
        self._killed = False
        self._lock = threading.Lock()

    def results(self) -> Generator[CorpusProgress, None, CorpusResult]:
        """Start the child; yield its records; return the result (as :func:`score_corpus` does).

        Starting may wait for the fork server to import the engine (seconds, the first time): call
        this off the GUI thread. A child that dies (killed, out of memory, a crash in native code)
        raises :class:`ChildProcessError` with its exit code, unless :meth:`kill` was called.
        """
        top_k = self.options.get("top_k", TOP_K)
        builder = CorpusBuilder(self.bundle.label_names, model_truth(self.bundle, self.ds), top_k)
        start_server(self.nice)  # at the child's priority, if this is the first child
        ctx = child_context()
        here, there = ctx.Pipe(duplex=True)
        with self._lock:
            if self._killed:
                return builder.result()
            self._stop = ctx.Event()
            self.process = ctx.Process(
                target=score_to_pipe,
                name="han-explorer scoring",
                args=(
                    there,
                    self._stop,
                    self.options,
                    self.threads,
                    self.nice,
                    self.chunk_s,
                ),
                daemon=True,
            )
            self.process.start()
        there.close()
        error: Exception | None = None
        finished = False
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                _send_bundle(here, self.bundle)
                self._send_dataset(here)  # a child that failed early has left its error to read
            while True:
                try:
                    kind, value = here.recv()
                except (EOFError, ConnectionResetError):
                    break
                if kind == "rows":
                    builder.add(value.rows, value.seconds)
                    yield value
                elif kind == "key":
                    builder.key = value
                elif kind == "error":
                    error = value  # raised once the child has said "end"
                else:
                    finished = True
                    break
        finally:
            here.close()
            died = not finished and not self._killed
            if not finished:
                self.kill()  # the caller stopped reading (cancel, a newer run), or the child died
        self.process.join()
        if error is not None:
            raise error
        if died:
            code = self.process.exitcode
            raise ChildProcessError(f"the scoring process ended unexpectedly (exit code {code})")
        return builder.result()

    def _send_dataset(self, conn: _Conn) -> None:
        ds = self.ds
        conn.send(
            {
                "n": len(ds),
                "labels": ds.labels,
                "label_names": ds.label_names,
                "format": ds.format,
                "source": ds.source,
                "sha256": ds.sha256,
            }
        )
        for k in range(0, len(ds), TEXTS_PER_MESSAGE):
            conn.send(ds.texts[k : k + TEXTS_PER_MESSAGE])

    def kill(self) -> None:
        """End the child now (safe from any thread, before or after it started)."""
        with self._lock:
            self._killed = True
            if self._stop is not None:
                self._stop.set()
            if self.process is not None and self.process.pid is not None and self.process.exitcode is None:
                self.process.kill()
