"""The one job runner: newest result wins, every exception reaches the controller, nothing piles up."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

pytest.importorskip("PySide6")

from app.jobs import Jobs, error_message

TIMEOUT = 10_000


def slow(value: Any, steps: int = 50, gate: threading.Event | None = None) -> Generator[int, None, Any]:
    for i in range(steps):
        if gate is not None:
            gate.wait(5)
        time.sleep(0.01)
        yield i
    return value


def fails(exc: BaseException) -> Generator[int, None, None]:
    yield 0
    raise exc


@pytest.fixture
def jobs(qapp: Any) -> Any:
    j = Jobs()
    yield j
    j.shutdown()


def test_newest_result_wins_and_stale_ones_are_counted(qtbot: Any, jobs: Jobs) -> None:
    results: list[tuple[int, Any]] = []
    first = jobs.submit("k", slow, "old", on_result=lambda g, v: results.append((g, v)))
    second = jobs.submit("k", slow, "new", 5, on_result=lambda g, v: results.append((g, v)))
    assert second == first + 1
    qtbot.waitUntil(lambda: not jobs.busy, timeout=TIMEOUT)
    qtbot.wait(700)  # the superseded generator stops at its next yield; nothing of it arrives
    assert results == [(second, "new")]


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("kernel launch failed"),
        MemoryError(),
        ValueError("bad input"),
        KeyError("x"),
        OSError(28, "No space left on device"),
    ],
)
def test_every_exception_reaches_on_error(qtbot: Any, jobs: Jobs, exc: BaseException) -> None:
    """superqt only warns when a RuntimeError ends a generator worker: the runner must not rely on it
    (the Attention view hung on "Scoring…" that way)."""
    errors: list[str] = []
    with qtbot.waitSignal(jobs.failed, timeout=TIMEOUT) as sig:
        jobs.submit("k", fails, exc, on_result=lambda g, v: None, on_error=lambda g, m: errors.append(m))
    assert errors and sig.args[0] == "k" and "\n" not in errors[0]
    qtbot.waitUntil(lambda: not jobs.busy, timeout=TIMEOUT)


def test_messages_are_one_line() -> None:
    assert error_message(ValueError("first line\nsecond line")) == "first line"
    assert error_message(MemoryError()).startswith("not enough memory")
    assert error_message(KeyError("k")).startswith("unexpected error")
    assert len(error_message(ValueError("x" * 2000))) <= 400


def test_queue_runs_one_at_a_time_and_keeps_only_the_newest_waiting(qtbot: Any, jobs: Jobs) -> None:
    gate = threading.Event()
    results: list[Any] = []
    jobs.submit("q", slow, "a", 3, gate, on_result=lambda g, v: results.append(v), policy="queue")
    jobs.submit("q", slow, "b", 3, on_result=lambda g, v: results.append(v), policy="queue")
    last = jobs.submit("q", slow, "c", 3, on_result=lambda g, v: results.append(v), policy="queue")
    assert jobs.busy_with("q")
    gate.set()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=TIMEOUT)
    assert results == ["c"] and jobs.generation("q") == last  # "a" finished stale; "b" never ran


def test_cancel_drops_the_result(qtbot: Any, jobs: Jobs) -> None:
    results: list[Any] = []
    jobs.submit("k", slow, "x", on_result=lambda g, v: results.append(v))
    jobs.cancel("k")
    assert not jobs.busy
    qtbot.wait(700)
    assert results == []


def test_progress_of_the_current_job_only(qtbot: Any, jobs: Jobs) -> None:
    seen: list[int] = []
    jobs.submit("k", slow, "x", 4, on_result=lambda g, v: None, on_progress=lambda g, v: seen.append(v))
    qtbot.waitUntil(lambda: not jobs.busy, timeout=TIMEOUT)
    assert seen == [0, 1, 2, 3]


def test_synchronous_mode_runs_inline(qapp: Any) -> None:
    jobs = Jobs(asynchronous=False)
    results: list[Any] = []
    errors: list[str] = []
    jobs.submit("k", slow, "v", 2, on_result=lambda g, v: results.append(v))
    jobs.submit("k", lambda: 1 / 0, on_result=lambda g, v: None, on_error=lambda g, m: errors.append(m))
    assert results == ["v"] and errors and "division" in errors[0]
    assert not jobs.busy


def test_busy_signal(qtbot: Any, jobs: Jobs) -> None:
    states: list[bool] = []
    jobs.busy_changed.connect(states.append)
    jobs.submit("k", slow, "x", 2, on_result=lambda g, v: None)
    qtbot.waitUntil(lambda: not jobs.busy, timeout=TIMEOUT)
    assert states == [True, False]


def test_nothing_arrives_after_shutdown(qtbot: Any, qapp: Any) -> None:
    jobs = Jobs()
    results: list[Any] = []
    jobs.submit("k", slow, "x", 5, on_result=lambda g, v: results.append(v))
    jobs.shutdown()
    jobs.submit("k", slow, "y", 1, on_result=lambda g, v: results.append(v))
    qtbot.wait(500)
    assert results == [] and not jobs.busy
