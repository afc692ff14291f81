"""Written judgements (engine.judgements) and ``train --judgement-fraction`` (issue 17)."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import engine.train
from engine import judgements as J
from engine.preprocess import doc_words
from engine.train import Progress, TrainConfig, split_dev, train
from engine.vocab import UNK_ID, Vocab
from tests.engine.test_negate import _suite_words
from tests.toy_data import TINY_TRAIN_ARGS

ToyConfig = Callable[..., TrainConfig]

NEGATION_MARKERS = re.compile(
    r"n't|n’t|\b(not|cannot|never|hardly|barely|seldom|rarely|far from|by no means|in no way|anything but|"
    r"nobody|no one|none|no part|nothing|at no point|not once|no|less)\b|\b(better|worse) than\b"
)


def _polarities() -> dict[str, int]:
    """Every sentiment word of the lexicon and its polarity (+1/-1)."""
    out: dict[str, int] = {}
    for table in (J.ADJ, J.NOUN, J.FEELING):
        for p, words in table.items():
            out |= dict.fromkeys(words, p)
    for table2 in (J.VERB, J.ACTS):
        for p, forms in table2.items():
            out |= {w: p for f in forms for w in f}
    return out


def test_the_sentiment_words_are_disjoint_from_the_behaviour_suite() -> None:
    assert "honestly" not in {w for phrase in J.OPENERS for w in phrase.split()}  # the suite's opener
    suite = _suite_words()
    assert {"awful", "superb", "failure", "bored", "drags", "loved", "acting"} <= suite  # it reads them
    words = set(_polarities())
    words |= {w for phrase in (*J.ASPECTS, *J.EXPECTATIONS) for w in re.findall(r"[a-z]+", phrase.lower())}
    # the openers' words, but for those of "to be fair", "in all honesty", "in the end"
    words |= {w for phrase in J.OPENERS for w in phrase.split()} - {"to", "be", "in", "all", "the", "end"}
    words |= {w.lower() for phrase in (*J.TITLE_FIRST, *J.TITLE_SECOND) for w in phrase.split()} - {"the"}
    structural = {"i", "its", "the"}  # in the expectations ("I anticipated", "its reputation", "the poster")
    assert (words - structural).isdisjoint(suite), sorted((words - structural) & suite)
    from engine.behaviour import _lexicon

    assert not set(J.NEUTRAL) & set(_lexicon.NEUTRAL_SENTENCES)  # our own neutral sentences
    neutral_words = {w for text in J.NEUTRAL for w in re.findall(r"[a-z]+", text.lower())}
    assert neutral_words.isdisjoint(_polarities())
    pol = _polarities()
    assert len(pol) == sum(len(v) for t in (J.ADJ, J.NOUN, J.FEELING) for v in t.values()) + sum(
        len(f) for t in (J.VERB, J.ACTS) for v in t.values() for f in v
    )  # no word twice, none both ways


@pytest.mark.parametrize(("seed", "temporal_share"), [(0, 0.2), (1, 0.2), (2, 0.2), (3, 0.5), (4, 1.0)])
def test_every_judgement_means_its_label(seed: int, temporal_share: float) -> None:
    """Read with the lexicon: a plain judgement's words all carry its polarity; a negated one has a
    negation or a comparison and words of the other polarity (or "better"/"worse" alone); a temporal
    one starts with the other polarity and ends with its own. The kinds come in their shares."""
    pol = _polarities() | {"praising": 1, "mocking": -1}  # "I cannot stop praising it."
    r = random.Random(seed)
    kinds: Counter[str] = Counter()
    for i in range(3000):
        meaning = 1 if i % 2 else -1
        j = J.write_judgement(r, meaning, temporal_share)
        assert j.polarity == meaning
        kinds[j.kind] += 1
        text = j.text.lower()
        found = [pol[w] for w in re.findall(r"[a-z]+", text) if w in pol]
        if j.kind == "plain":
            assert found and set(found) == {meaning}, j
            kept = re.sub(r"not only|(can not|can't|cannot) (stop|help)", "", text)  # negations that keep it
            assert not NEGATION_MARKERS.search(kept), j
        elif j.kind == "negated":
            assert NEGATION_MARKERS.search(text), j
            if found:
                assert set(found) == {-meaning}, j
            else:
                assert ("better" if meaning > 0 else "worse") in text.split(), j
        else:
            assert j.kind == "temporal"
            assert found[0] == -meaning and found[-1] == meaning, j
        assert j.text[:1].isupper() and j.text.endswith(".") and " i " not in f" {j.text} "
    shares = J.kind_shares(temporal_share)
    assert set(kinds) == {k for k, share in shares.items() if share > 0}
    for kind, share in shares.items():
        assert abs(kinds[kind] / 3000 - share) < 0.04


def test_the_kind_shares_keep_negated_to_plain_and_default_to_kind_shares() -> None:
    assert J.kind_shares() == pytest.approx(J.KIND_SHARES)
    assert TrainConfig(data="x").judgement_temporal_share == J.KIND_SHARES["temporal"]  # the same default
    half = J.kind_shares(0.5)
    assert half["temporal"] == 0.5 and sum(half.values()) == pytest.approx(1)
    assert half["negated"] / half["plain"] == pytest.approx(0.55 / 0.25)
    assert J.kind_shares(1.0) == {"negated": 0, "plain": 0, "temporal": 1.0}
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError, match="temporal share"):
            J.kind_shares(bad)
        with pytest.raises(ValueError, match="judgement temporal share"):
            TrainConfig(data="x", judgement_temporal_share=bad)


def test_every_temporal_template_is_drawn_and_reads_in_order() -> None:
    """Each temporal template writes a past opinion, then a present one that decides."""
    r = random.Random(0)
    pol = _polarities()
    for template in J.TEMPORAL:
        for then in (1, -1):
            text = template(r, then, -then)
            found = [pol[w] for w in re.findall(r"[a-z]+", text) if w in pol]
            assert found[0] == then and found[-1] == -then, text
            assert sum(a != b for a, b in itertools.pairwise(found)) == 1, text  # one change
    seen = {J.write_judgement(r, 1, 1.0).text.split(" ")[0] for _ in range(2000)}
    assert len(seen) >= 8  # many openings, not one template


def _vocab(extra: tuple[str, ...] = ()) -> Vocab:
    words: set[str] = set()
    for polarity in (1, -1):
        for i in range(4000):
            for s in doc_words(J.write_judgement(random.Random(i), polarity).text):
                words.update(s)
    words |= {w for text in J.NEUTRAL for s in doc_words(text) for w in s}
    return Vocab(("<pad>", "<unk>", *sorted(words - set(extra))))


def test_the_pool_is_encoded_balanced_seeded_and_drops_unknown_words() -> None:
    vocab = _vocab()
    pool = J.build_pool(vocab, 600, seed=1, workers=1)
    assert 580 <= len(pool) <= 600 and abs(len(pool.docs[1]) - len(pool.docs[-1])) <= 20
    assert pool == J.build_pool(vocab, 600, seed=1, workers=1)
    assert pool != J.build_pool(vocab, 600, seed=2, workers=1)
    # what was encoded is what the tokenizer reads in the written text
    r = random.Random(1)
    written: list[J.Judgement] = []
    while len(written) < 5:
        j = J.write_judgement(r, 1 if len(written) % 2 == 0 else -1)
        written.append(j)
    first = [[vocab.itos[w] for w in s] for s in pool.docs[written[0].polarity][0]]
    assert first == doc_words(written[0].text)
    # a judgement with a word outside the vocabulary is dropped, never encoded as <unk>
    missing = _vocab(extra=("dazzling", "fiasco"))
    thin = J.build_pool(missing, 600, seed=1, workers=1)
    assert len(thin) < len(pool)
    ids = {w for docs in thin.docs.values() for d in docs for s in d for w in s}
    assert UNK_ID not in ids


def _corpus() -> tuple[list[list[list[int]]], list[int]]:
    """Ten training reviews of 6 sentences each, sentence ids unique: (docs, labels 0/1)."""
    docs = [[[1000 + 10 * d + s, 5] for s in range(6)] for d in range(10)]
    return docs, [d % 2 for d in range(10)]


def test_a_judged_review_is_a_body_of_the_other_class_then_the_judgement() -> None:
    docs, labels = _corpus()
    pool = J.build_pool(_vocab(), 400, seed=0, workers=1)
    meaning_of = {tuple(map(tuple, d)): p for p, ds in pool.docs.items() for d in ds}
    where = {tuple(s): (d, j) for d, doc in enumerate(docs) for j, s in enumerate(doc)}
    out, out_labels = J.judgement_documents(docs, labels, pool, 400, np.random.default_rng(0), 1, 0, 3)
    assert Counter(out_labels) == {0: 200, 1: 200}
    alone = 0
    neutral = {tuple(s) for s in pool.neutral}
    assert len(neutral) == len(J.NEUTRAL)  # every neutral sentence is in the vocabulary, one sentence each
    ends: Counter[bool] = Counter()
    for doc, label in zip(out, out_labels, strict=True):
        ends[tuple(doc[-1]) in neutral] += 1
        if tuple(doc[-1]) in neutral:
            doc = doc[:-1]
        body = [s for s in doc if tuple(s) in where]
        tail = tuple(map(tuple, doc[len(body) :]))
        assert meaning_of[tail] == (1 if label == 1 else -1)  # labelled by what the judgement means
        if not body:
            alone += 1
            continue
        assert 1 <= len(body) <= 3
        donors = {where[tuple(s)][0] for s in body}
        assert len(donors) == 1 and labels[donors.pop()] != label  # a review of the other class
    assert 60 <= alone <= 140
    assert 80 <= ends[True] <= 160  # a neutral sentence last in 30% of them


@pytest.mark.parametrize("turn_share", [0.0, 0.3, 1.0])
def test_the_turn_share_is_the_share_of_bodies_of_the_other_class(turn_share: float) -> None:
    docs, labels = _corpus()
    pool = J.build_pool(_vocab(), 200, seed=0, workers=1)
    where = {tuple(s): d for d, doc in enumerate(docs) for s in doc}
    out, out_labels = J.judgement_documents(
        docs, labels, pool, 2000, np.random.default_rng(1), 1, 0, turn_share=turn_share
    )
    turns = [
        labels[where[tuple(doc[0])]] != label
        for doc, label in zip(out, out_labels, strict=True)
        if tuple(doc[0]) in where
    ]
    assert len(turns) > 1300  # three quarters have a body
    assert abs(sum(turns) / len(turns) - turn_share) < 0.04


def test_judgements_are_seeded_copies_and_need_both_classes() -> None:
    docs, labels = _corpus()
    pool = J.build_pool(_vocab(), 200, seed=0, workers=1)

    def run(seed: int, n: int = 30, p: J.JudgementPool = pool) -> tuple[list[list[list[int]]], list[int]]:
        return J.judgement_documents(docs, labels, p, n, np.random.default_rng(seed), 1, 0)

    a, b, c = run(3), run(3), run(4)
    assert a == b and a != c
    before = json.dumps([docs, pool.docs[1]])
    a[0][0][-1][0] = -1
    assert json.dumps([docs, pool.docs[1]]) == before
    one_sided = J.JudgementPool({1: pool.docs[1], -1: []}, {1: pool.kinds[1], -1: []})
    assert run(0, p=one_sided) == ([], [])
    assert run(0, n=0) == ([], [])
    assert J.judgement_documents(docs, [0] * 10, pool, 5, np.random.default_rng(0), 1, 0) == ([], [])
    with pytest.raises(ValueError):
        J.judgement_documents(docs, labels, pool, 5, np.random.default_rng(0), 1, 1)
    with pytest.raises(ValueError):
        J.judgement_documents(docs, labels, pool, 5, np.random.default_rng(0), 1, 0, max_body=0)
    with pytest.raises(ValueError):
        J.judgement_documents(docs, labels, pool, 5, np.random.default_rng(0), 1, 0, turn_share=1.5)
    for bad in (-0.1, 10.5):
        with pytest.raises(ValueError, match="judgement fraction"):
            TrainConfig(data="x", judgement_fraction=bad)
        with pytest.raises(ValueError, match="judgement turn share"):
            TrainConfig(data="x", judgement_turn_share=bad)


# ------------------------------------------------------------------------------------------- training
def _write_reviews(path: Path, n: int = 120) -> Path:
    """Reviews made of written judgements (so the vocabulary holds the lexicon) with a name only that
    review has ("Film7")."""
    r = random.Random(5)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        sentences = [J.write_judgement(r, 1 if label == "pos" else -1).text for _ in range(30)]
        rows.append({"text": f"I saw Film{i}. " + " ".join(sentences), "label": label})
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def _setup(records: list[Progress]) -> str:
    return " ".join(r.message for r in records if r.kind == "setup")


def test_judged_training_adds_steps_is_seeded_and_uses_the_training_vocabulary(
    tmp_path: Path, toy_config: ToyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _write_reviews(tmp_path / "j.jsonl")
    seen: list[tuple[object, ...]] = []
    real = J.judgement_documents

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        seen.append(args)
        return out

    monkeypatch.setattr(engine.train, "judgement_documents", spy)
    monkeypatch.setattr(engine.train, "JUDGEMENT_POOL", 500)
    plain = list(train(toy_config(data, tmp_path / "p", epochs=2)))
    a = list(train(toy_config(data, tmp_path / "a", epochs=2, judgement_fraction=0.5)))
    b = list(train(toy_config(data, tmp_path / "b", epochs=2, judgement_fraction=0.5)))
    digest = [r[-1].extra["weights_sha256"] for r in (plain, a, b)]
    assert digest[1] == digest[2] != digest[0]
    # 108 training documents + 54 judged ones per epoch, in batches of 16
    assert [r.total_steps for r in plain if r.kind == "done"] == [2 * 7]
    assert [r.total_steps for r in a if r.kind == "done"] == [2 * 11]
    assert "54 reviews ending in a written judgement per epoch (from " in _setup(a)
    assert len(seen) == 4
    _docs, labels, pool, n, _rng, positive, negative, max_body, turn_share = seen[0]
    assert (n, positive, negative, max_body, turn_share) == (54, 1, 0, 4, 1.0)
    assert isinstance(pool, J.JudgementPool) and len(pool) > 400
    from engine.data import load_dataset

    ds = load_dataset(data, "jsonl")
    train_idx, _ = split_dev(ds.labels, 0.1, 13)
    assert list(labels) == [ds.labels[i] for i in train_idx]  # type: ignore[call-overload]
    meta = json.loads((tmp_path / "a" / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["train_config"]["judgement_fraction"] == 0.5
    assert meta["augmentation"]["judgements_per_epoch"] == 54
    assert meta["augmentation"]["judgement_pool"] == len(pool)


def test_judged_training_resumes_mid_epoch_exactly(
    tmp_path: Path, cut_and_resume: Callable[..., tuple[list[Progress], list[Progress]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(engine.train, "JUDGEMENT_POOL", 300)
    data = _write_reviews(tmp_path / "j.jsonl")
    straight, resumed = cut_and_resume(data, tmp_path, judgement_fraction=0.3, splice_fraction=0.2)
    assert "22 spliced reviews per epoch, 32 reviews ending in a written judgement" in _setup(straight)
    assert resumed[-1].extra["weights_sha256"] == straight[-1].extra["weights_sha256"]


def test_without_the_lexicon_in_the_vocabulary_training_says_so(
    tmp_path: Path, toy_config: ToyConfig
) -> None:
    from tests.toy_data import write_toy

    data = write_toy(tmp_path / "toy.jsonl", 120, seed=1)
    plain = list(train(toy_config(data, tmp_path / "p", epochs=1)))
    judged = list(train(toy_config(data, tmp_path / "n", epochs=1, judgement_fraction=0.5)))
    assert "no written judgements: the vocabulary lacks their words" in _setup(judged)
    assert judged[-1].extra["weights_sha256"] == plain[-1].extra["weights_sha256"]


def test_the_cli_flag_reaches_the_config_and_the_recorded_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import main

    monkeypatch.setattr(engine.train, "JUDGEMENT_POOL", 200)
    data = _write_reviews(tmp_path / "j.jsonl", 60)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet", "--device", "cpu"]
    shares: list[tuple[object, ...]] = []
    real = J.build_pool

    def spy(*a: object, **k: object) -> J.JudgementPool:
        shares.append((a[4], k["opener_share"], k["title_share"]))
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.train, "build_pool", spy)
    flags = [
        "--judgement-fraction",
        "0.25",
        "--judgement-temporal-share",
        "0.5",
        "--judgement-opener-share",
        "0.4",
        "--judgement-title-share",
        "0.3",
    ]
    assert main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", *flags]) == 0
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert (
        "--judgement-fraction 0.25 --judgement-temporal-share 0.5 --judgement-opener-share 0.4 "
        "--judgement-title-share 0.3" in meta["command"]
    )
    assert meta["train_config"]["judgement_temporal_share"] == 0.5
    assert meta["train_config"]["judgement_opener_share"] == 0.4 and shares == [(0.5, 0.4, 0.3)]
    assert (
        meta["augmentation"]["judgements_per_epoch"] == round(0.25 * meta["dataset"]["train_documents"]) > 0
    )


# ------------------------------------------------------------------------------------ --init-model
def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}


def test_init_model_starts_from_its_weights_and_records_where_it_came_from(
    tmp_path: Path, toy_config: ToyConfig
) -> None:
    data = _write_reviews(tmp_path / "j.jsonl", 60)
    list(train(toy_config(data, tmp_path / "a", epochs=1)))
    start = tmp_path / "a" / "model"
    # a learning rate too small to move a weight: the fine-tuned model is the one it started from
    still = list(train(toy_config(data, tmp_path / "b", epochs=1, lr=1e-12, init_model=str(start))))
    assert still[-1].kind == "done"
    a, b = _weights(start), _weights(tmp_path / "b" / "model")
    assert a.keys() == b.keys() and all(np.allclose(a[k], b[k], atol=1e-6) for k in a)
    list(train(toy_config(data, tmp_path / "c", epochs=1, lr=1e-12)))
    fresh = _weights(tmp_path / "c" / "model")
    assert not np.allclose(fresh["embedding.weight"], a["embedding.weight"], atol=1e-3)
    meta = json.loads((tmp_path / "b" / "model" / "model.json").read_text(encoding="utf-8"))
    import hashlib

    assert meta["init_model"]["path"] == str(start)
    assert (
        meta["init_model"]["weights_sha256"]
        == hashlib.sha256((start / "model.safetensors").read_bytes()).hexdigest()
    )
    assert meta["init_model"]["command"] == "test"


def test_init_model_refuses_another_vocabulary_or_other_sizes(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = _write_reviews(tmp_path / "j.jsonl", 60)
    list(train(toy_config(data, tmp_path / "a", epochs=1)))
    start = str(tmp_path / "a" / "model")
    with pytest.raises(ValueError, match="its vocabulary"):
        list(train(toy_config(data, tmp_path / "b", epochs=1, init_model=start, min_count=2)))
    with pytest.raises(ValueError, match="its sizes differ"):
        list(train(toy_config(data, tmp_path / "c", epochs=1, init_model=start, word_hidden=8)))
    (tmp_path / "bad").mkdir()
    with pytest.raises(ValueError, match="cannot start from"):
        list(train(toy_config(data, tmp_path / "d", epochs=1, init_model=str(tmp_path / "bad"))))


def test_some_judgements_open_with_a_phrase_that_leaves_the_verdict_alone() -> None:
    r = random.Random(3)
    drawn = [J.write_judgement(r, p) for p in (1, -1) for _ in range(2000)]
    opened = [j for j in drawn if any(j.text.lower().startswith(o + ", ") for o in J.OPENERS)]
    assert 0.1 < len(opened) / len(drawn) < 0.2  # OPENER_SHARE 0.15
    assert {j.polarity for j in opened} == {1, -1} and {j.kind for j in opened} == {
        "negated",
        "plain",
        "temporal",
    }
    assert all(j.text[0].isupper() for j in opened)


def _opened_share(opener_share: float) -> float:
    r = random.Random(5)
    drawn = [J.write_judgement(r, p, opener_share=opener_share) for p in (1, -1) for _ in range(1500)]
    return sum(any(j.text.lower().startswith(o + ", ") for o in J.OPENERS) for j in drawn) / len(drawn)


def test_the_opener_share_sets_how_many_judgements_open_with_a_phrase() -> None:
    assert TrainConfig(data="x").judgement_opener_share == J.OPENER_SHARE  # the same default
    assert _opened_share(0.0) == 0
    assert abs(_opened_share(0.5) - 0.5) < 0.04
    assert _opened_share(1.0) == 1
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="opener share"):
            J.write_judgement(random.Random(0), 1, opener_share=bad)
        with pytest.raises(ValueError, match="judgement opener share"):
            TrainConfig(data="x", judgement_opener_share=bad)


def test_the_title_share_names_a_title_where_the_judgement_said_it() -> None:
    """A title replaces the first "it"; a share of 0 (the default) draws exactly what runs before it drew."""
    assert TrainConfig(data="x").judgement_title_share == 0
    before = [J.write_judgement(random.Random(9), p) for p in (1, -1)]
    assert [J.write_judgement(random.Random(9), p, title_share=0.0) for p in (1, -1)] == before
    titles = {f"{a} {b}" for a in J.TITLE_FIRST for b in J.TITLE_SECOND}
    r = random.Random(4)
    drawn = [J.write_judgement(r, p, title_share=0.5, opener_share=0.0) for p in (1, -1) for _ in range(1500)]
    named = [j for j in drawn if any(t in j.text for t in titles)]
    assert 0.2 < len(named) / len(drawn) < 0.4  # half of those with an "it" (about 53% have one)
    assert {j.kind for j in named} == {"negated", "plain", "temporal"} and {j.polarity for j in named} == {
        1,
        -1,
    }
    assert all(j.text[0].isupper() for j in named)
    everywhere = [J.write_judgement(r, 1, title_share=1.0) for _ in range(300)]
    untitled = [j.text for j in everywhere if not any(t in j.text for t in titles)]
    assert 0 < len(untitled) < 250 and not [t for t in untitled if re.search(r"\bit\b", t, re.I)]
    with pytest.raises(ValueError, match="title share"):
        J.write_judgement(random.Random(0), 1, title_share=2)
    with pytest.raises(ValueError, match="judgement title share"):
        TrainConfig(data="x", judgement_title_share=-1)
