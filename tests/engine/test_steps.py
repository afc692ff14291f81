"""engine.steps.run_to_end: a generator's return value, every yielded value, errors and closing."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from engine.steps import run_to_end


def _count(n: int, log: list[str]) -> Generator[int, None, str]:
    try:
        yield from range(n)
        return f"done {n}"
    finally:
        log.append("closed")


def test_returns_the_generators_value_and_reports_every_yield() -> None:
    seen: list[int] = []
    log: list[str] = []
    assert run_to_end(_count(4, log), seen.append) == "done 4"
    assert seen == [0, 1, 2, 3]
    assert log == ["closed"]


def test_without_a_callback_and_with_nothing_yielded() -> None:
    assert run_to_end(_count(0, [])) == "done 0"
    assert run_to_end(_count(3, [])) == "done 3"


def test_an_error_in_the_generator_propagates() -> None:
    def bad() -> Generator[int, None, None]:
        yield 1
        raise ValueError("boom")

    seen: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        run_to_end(bad(), seen.append)
    assert seen == [1]


def test_an_error_in_the_callback_closes_the_generator_at_once() -> None:
    log: list[str] = []
    gen = _count(5, log)

    def stop(value: int) -> None:
        if value == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_to_end(gen, stop)
    assert log == ["closed"]  # its finally ran before the error reached us
    assert gen.gi_frame is None  # and it is finished


def test_analyze_and_dataset_stats_drain_through_it(monkeypatch: pytest.MonkeyPatch, shipped: object) -> None:
    import engine.analyze

    calls: list[object] = []
    real = engine.analyze.run_to_end
    monkeypatch.setattr(engine.analyze, "run_to_end", lambda gen, *a: calls.append(gen) or real(gen, *a))
    analysis = engine.analyze.analyze(shipped, "A fine film. I loved it.")  # type: ignore[arg-type]
    assert len(calls) == 1 and len(analysis.sentences) == 2
