"""Inference memory grows with the text, not with (sentences x longest sentence) (issue 13, item 1).

The padding-shaped inputs run in a child capped at 4 GiB of address space: padded to the longest
sentence they need 3 to 9 GB, so before the fix they fail; now they take well under 1 GiB.
"""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from engine.analyze import InputError, analyze, build_analysis, encode_document, read_document
from engine.batching import collate
from engine.model import HAN, HANConfig
from tests.reliability.helpers import assert_one_line, call, run_python

# one sentence of 2,000 words, then 2,000 short ones: ~20 KB of text
PADDING_SHAPED = ("word " * 2000).strip() + ". " + " ".join(["Good film."] * 2000)


def _model() -> HAN:
    torch.manual_seed(1)
    cfg = HANConfig(
        vocab_size=50,
        num_classes=3,
        embed_dim=12,
        word_hidden=5,
        sentence_hidden=6,
        word_attention_dim=7,
        sentence_attention_dim=9,
    )
    return HAN(cfg).eval()


DOCS = st.lists(
    st.lists(st.lists(st.integers(1, 49), min_size=1, max_size=14), min_size=1, max_size=7),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(docs=DOCS, budget=st.integers(1, 4000))
def test_chunked_forward_equals_the_padded_forward(docs: list[list[list[int]]], budget: int) -> None:
    from engine.inference import score_documents

    model = _model()
    with torch.inference_mode():
        padded = model(collate(docs)[0])
        chunked = score_documents(model, docs, budget=budget)
    for b, (doc, scores) in enumerate(zip(docs, chunked, strict=True)):
        tol = {"rtol": 1e-5, "atol": 1e-6}
        assert_close(scores.logits, padded.logits[b], **tol)
        assert_close(scores.sentence_attention, padded.sentence_attention[b, : len(doc)], **tol)
        words = torch.cat([padded.word_attention[b, i, : len(s)] for i, s in enumerate(doc)])
        assert_close(scores.word_attention, words, **tol)
        assert scores.word_counts == tuple(map(len, doc))


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 300), max_size=60), width=st.integers(1, 64), budget=st.integers(1, 20000)
)
def test_length_chunks_cover_everything_once_within_the_budget(
    lengths: list[int], width: int, budget: int
) -> None:
    from engine.inference import length_chunks

    chunks = length_chunks(lengths, width, budget)
    assert sorted(i for c in chunks for i in c) == list(range(len(lengths)))
    for c in chunks:
        assert c == sorted(c)
        assert len(c) == 1 or len(c) * max(lengths[i] for i in c) * width <= budget


def test_a_review_that_fits_one_chunk_is_scored_exactly_as_before(shipped: object) -> None:
    import resources

    for path in resources.sample_texts().values():
        text = path.read_text(encoding="utf-8")
        new = analyze(shipped, text)
        with torch.inference_mode():
            doc = read_document(text)
            ids = collate([encode_document(shipped, doc)])[0]
            old = build_analysis(shipped, doc, ids, shipped.model(ids))
        assert new == old


def _run_capped(body: str) -> dict[str, float]:
    """Run ``body`` with the shipped model as ``b`` in a child capped at 4 GiB; it sets ``n``."""
    code = (
        "import json, resource, resources\n"
        "from engine.bundle import load_bundle\n"
        "b = load_bundle(resources.model_dir())\n"
        f"{body}\n"
        # VmHWM is this program's own peak: ru_maxrss survives exec, so a child forked from a
        # large pytest process (the GUI suite loads models) would report the parent's size.
        "status = open('/proc/self/status').read().split('VmHWM:')\n"
        "peak = (int(status[1].split()[0]) if len(status) > 1 else\n"
        "        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024\n"
        "print(json.dumps({'n': n, 'peak_mib': peak}))\n"
    )
    proc = run_python(code, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    "call_",
    [
        "from engine.analyze import analyze; n = len(analyze(b, text).sentences)",
        "from engine.gru import trace_text; n = len(trace_text(b, text, 'sentence'))",
    ],
)
def test_padding_shaped_review_is_answered_in_bounded_memory(call_: str) -> None:
    result = _run_capped(f"text = {PADDING_SHAPED!r}\n{call_}")
    assert result["n"] == 2001
    assert result["peak_mib"] < 1500


def test_evaluate_a_batch_with_one_huge_document_in_bounded_memory() -> None:
    # padded as one batch: 128 documents x 3,001 sentences x 3,000 words = 1.15 G ids (9 GB)
    result = _run_capped(
        "from engine.evaluate import predict_labels\n"
        "huge = ('word ' * 3000).strip() + '. ' + ' '.join(['Good film.'] * 3000)\n"
        "texts = ['A fine film. I liked it a lot.'] * 127 + [huge]\n"
        "n = int((predict_labels(b, texts, batch_size=128, workers=1) >= 0).sum())"
    )
    assert result["n"] == 128
    assert result["peak_mib"] < 1500


def test_text_over_the_limit_is_refused_in_one_line(
    shipped: object, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.limits import MAX_TEXT_CHARS

    text = "Fine. " * (MAX_TEXT_CHARS // 6 + 1)
    with pytest.raises(InputError, match=f"{MAX_TEXT_CHARS:,}") as err:
        analyze(shipped, text)
    assert "\n" not in str(err.value)
    path = tmp_path / "long.txt"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    rc, out, err_text = call(capsys, "predict", str(path))
    assert_one_line(rc, out, err_text, "1,000,000")
