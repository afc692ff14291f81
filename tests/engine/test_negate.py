"""Negated sentences (engine.negate) and ``train --negate-fraction`` (issue 17)."""

from __future__ import annotations

import ast
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine.train
from engine import negate
from engine.behaviour import build_suite
from engine.data import load_dataset
from engine.negate import Candidate, NegationWords, find_candidates, negate_documents
from engine.preprocess import doc_words, encode_words
from engine.train import Progress, TrainConfig, split_dev, train
from engine.vocab import PAD, UNK, UNK_ID, Vocab
from tests.toy_data import TINY_TRAIN_ARGS, write_toy

ToyConfig = Callable[..., TrainConfig]
CutAndResume = Callable[..., tuple[list[Progress], list[Progress]]]
BEHAVIOUR = Path(engine.train.__file__).parent / "behaviour"

# sentence -> (where "not" goes, polarity), or None where it must not be a candidate
SENTENCES: dict[str, tuple[int, int] | None] = {
    "The plot was really predictable.": (3, -1),
    "It's so hilarious!": (2, 1),
    "It’s quite amazing.": (2, 1),
    "They're lame, and the music is loud.": (2, -1),
    "I am pretty impressed and this is good.": (7, 1),
    "The songs are very very catchy and the acting is very good.": (10, 1),
    "The cast were excellent but the story is silly.": None,  # a contrast
    "The plot was not predictable.": None,  # negated already
    "The plot isn't predictable.": None,
    "Was it good?": None,
    "If the plot was good, I would like it.": None,  # hypothetical
    "John's amazing.": None,  # a possessive, not "is"
    "This is a good film.": None,  # an article between
    "The film is very very very good.": None,  # three adverbs
    "The film is good for kids.": None,  # the adjective does not end the judgement
    "Good film.": None,  # no copula
    "The acting is good and the plot is bad.": None,  # two judgements
    "The acting is good and the plot is too.": (3, 1),  # one: "too" is an adverb here, not a judgement
    "The music is bad, in every single scene of the film from the first to the last, and I mean that, "
    "every single one of them.": None,  # too long
}


def _vocab(extra: tuple[str, ...] = ()) -> Vocab:
    words = sorted({w for s in SENTENCES for w in doc_words(s)[0]} | {"not", *extra})
    return Vocab((PAD, UNK, *words))


def _encode(text: str, vocab: Vocab) -> list[int]:
    (words,) = doc_words(text)
    return vocab.encode(words)


def test_candidates_are_one_judgement_after_a_copula() -> None:
    vocab = _vocab()
    docs = [[_encode(s, vocab)] for s in SENTENCES]
    found = {c.doc: c for c in find_candidates(docs, NegationWords.from_vocab(vocab))}
    got = {s: (found[i].at, found[i].polarity) if i in found else None for i, s in enumerate(SENTENCES)}
    assert got == SENTENCES
    assert all(c.sentence == 0 for c in found.values())


def test_lexicon_words_missing_from_the_vocabulary_are_skipped() -> None:
    full = _vocab()
    without = Vocab(tuple(w for w in full.itos if w != "hilarious"))
    assert "hilarious" not in without  # encoded as <unk>: no candidate
    docs = [[_encode(s, without)] for s in SENTENCES]
    words = NegationWords.from_vocab(without)
    assert words is not None and UNK_ID not in words.polarity
    found = [c.doc for c in find_candidates(docs, words)]
    assert list(SENTENCES).index("It's so hilarious!") not in found
    assert len(found) == sum(v is not None for v in SENTENCES.values()) - 1
    # without "not" nothing can be negated
    no_not = Vocab(tuple(w for w in full.itos if w != "not"))
    assert NegationWords.from_vocab(no_not) is None
    assert find_candidates([[_encode(s, no_not)] for s in SENTENCES], None) == []


def _suite_words() -> set[str]:
    """Every word a behaviour test can contain: the lexicons' and templates' strings (docstrings
    aside), and the words of a large generated suite (the same words, as a check of the first)."""
    words: set[str] = set()
    for name in ("_lexicon.py", "_templates.py"):
        tree = ast.parse((BEHAVIOUR / name).read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings:
                words |= {w.lower() for w in re.findall(r"[A-Za-z]+", n.value)}
    generated = {
        w for t in build_suite(seed=0, cases=300) for c in t.cases for x in (c.text, c.original) if x
        for s in doc_words(x) for w in s
    }  # fmt: skip
    return words | generated


def test_the_lexicon_is_disjoint_from_the_behaviour_suite() -> None:
    suite = _suite_words()
    assert {"awful", "clever", "superb", "mess", "worse", "bored", "really"} <= suite  # it reads them
    lexicon = set(negate.POSITIVE) | set(negate.NEGATIVE)
    assert lexicon.isdisjoint(suite), sorted(lexicon & suite)
    assert len(negate.POSITIVE) >= 40 and len(negate.NEGATIVE) >= 40
    assert len(lexicon) == len(negate.POSITIVE) + len(negate.NEGATIVE)  # no duplicates, no word both ways


def _corpus(n_docs: int = 40, seed: int = 0) -> tuple[list[list[list[int]]], list[int], Vocab, set[int]]:
    """Documents of unique filler sentences ("word{d}_{s} filler ."), most with one judgement.
    Returns docs, labels, the vocabulary and the ids of the copulas."""
    rng = random.Random(seed)
    judgements = [  # each review's is its own: "film{d}"
        "film{d} is very good .", "it 's bad , film{d} .", "the jokes{d} were lame !",
        "plot{d} was predictable .", "this is amazing , film{d} .", "the acting{d} is pretty silly .",
        "we{d} are so impressed .",
    ]  # fmt: skip
    texts = []
    for d in range(n_docs):
        sents = [f"word{d}_{s} filler ." for s in range(rng.randint(1, 6))]
        if rng.random() < 0.7:
            sents.insert(rng.randrange(len(sents) + 1), rng.choice(judgements).format(d=d))
        texts.append(sents)
    words = sorted({w for t in texts for s in t for w in s.split()} | {"not", "impressed", "is", "'s"})
    vocab = Vocab((PAD, UNK, *words))
    docs = [[vocab.encode(s.split()) for s in t] for t in texts]
    labels = [d % 2 for d in range(n_docs)]
    copulas = {vocab.id(w) for w in ("is", "'s", "were", "was", "are")}
    return docs, labels, vocab, copulas


def _negated_source(
    sentence: list[int], not_id: int, sources: set[tuple[int, ...]], copulas: set[int]
) -> int:
    """The position of the one inserted "not"; fails unless removing it gives a source sentence and
    the word before it is a copula."""
    positions = [i for i, w in enumerate(sentence) if w == not_id]
    assert len(positions) == 1, sentence
    (p,) = positions
    assert tuple(sentence[:p] + sentence[p + 1 :]) in sources
    assert p > 0 and sentence[p - 1] in copulas
    return p


def test_a_negated_review_is_a_body_then_a_negated_sentence_of_the_other_class() -> None:
    docs, labels, vocab, copulas = _corpus()
    words = NegationWords.from_vocab(vocab)
    assert words is not None
    cands = find_candidates(docs, words)
    polarity = {tuple(docs[c.doc][c.sentence]): c.polarity for c in cands}
    assert set(polarity.values()) == {1, -1}
    sentences = {tuple(s): (d, j) for d, doc in enumerate(docs) for j, s in enumerate(doc)}
    rng = np.random.default_rng(0)
    out, out_labels = negate_documents(docs, labels, cands, 400, rng, 1, 0, words.negator, 3)
    assert len(out) == len(out_labels) == 400
    assert Counter(out_labels) == {0: 200, 1: 200}
    alone: Counter[bool] = Counter()
    for doc, label in zip(out, out_labels, strict=True):
        last = doc[-1]
        p = _negated_source(last, words.negator, set(polarity), copulas)
        original = tuple(last[:p] + last[p + 1 :])
        assert label == (1 if polarity[original] < 0 else 0)  # labelled by the flipped polarity
        body = [sentences[tuple(s)] for s in doc[:-1]]
        alone[not body] += 1
        if body:
            assert 1 <= len(body) <= 3
            donor = body[0][0]
            assert labels[donor] != label and all(d == donor for d, _ in body)
            js = [j for _, j in body]
            assert js == list(range(js[0], js[0] + len(js)))
            assert js[-1] < max(1, len(docs[donor]) - 2)  # not the donor's last sentences
    assert 60 <= alone[True] <= 140  # a quarter alone, drawn per document


def test_negation_is_seeded_copies_and_needs_both_polarities() -> None:
    docs, labels, vocab, _ = _corpus()
    words = NegationWords.from_vocab(vocab)
    assert words is not None
    cands = find_candidates(docs, words)

    def run(seed: int, c: list[Candidate] = cands, n: int = 50) -> tuple[list[Any], list[int]]:
        assert words is not None
        return negate_documents(docs, labels, c, n, np.random.default_rng(seed), 1, 0, words.negator)

    a, b, c = run(3), run(3), run(4)
    assert a == b and a != c
    before = json.dumps(docs)
    a[0][0][0][0] = -1
    assert json.dumps(docs) == before  # the training documents are left alone
    assert run(0, []) == ([], [])
    assert run(0, [x for x in cands if x.polarity > 0]) == ([], [])  # no negated-positive sentence
    assert run(0, n=0) == ([], [])
    with pytest.raises(ValueError):
        negate_documents(docs, labels, cands, 5, np.random.default_rng(0), 1, 1, words.negator)
    with pytest.raises(ValueError):
        negate_documents(docs, labels, cands, 5, np.random.default_rng(0), 1, 0, words.negator, max_body=0)


def test_config_checks_the_negate_fraction() -> None:
    for bad in (-0.1, 10.5):
        with pytest.raises(ValueError, match="negate fraction"):
            TrainConfig(data="x", negate_fraction=bad)


# ------------------------------------------------------------------------------------------- training
JUDGEMENTS = {
    "pos": ("The story was very silly.", "The jokes are lame.", "It's predictable."),
    "neg": ("The plot was quite amazing.", "The jokes are hilarious.", "It's so good."),
}  # what each class's reviews say, negated in the augmentation to read as the class


def _write_negatable(path: Path, n: int = 120) -> Path:
    """Reviews that each say one judgement of JUDGEMENTS, with a name that only that review has
    ("Film7"): a dev review's sentences hold a word the training vocabulary lacks."""
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        rows.append(
            {
                "text": f"I saw Film{i} today. {JUDGEMENTS[label][i % 3][:-1]}, Film{i}. "
                f"Film{i} was not made for me. {'Loved' if label == 'pos' else 'Hated'} it.",
                "label": label,
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _digest(records: list[Progress]) -> str:
    assert records[-1].kind == "done"
    return str(records[-1].extra["weights_sha256"])


def _setup(records: list[Progress]) -> str:
    return " ".join(r.message for r in records if r.kind == "setup")


def test_negated_training_adds_steps_is_seeded_and_draws_from_train_only(
    tmp_path: Path, toy_config: ToyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _write_negatable(tmp_path / "neg.jsonl")
    seen: list[tuple[Any, ...]] = []
    real = negate.negate_documents

    def spy(*args: Any) -> Any:
        out = real(*args)
        seen.append((*args, out))
        return out

    monkeypatch.setattr(engine.train, "negate_documents", spy)
    plain = list(train(toy_config(data, tmp_path / "p", epochs=2)))
    a = list(train(toy_config(data, tmp_path / "a", epochs=2, negate_fraction=0.5)))
    b = list(train(toy_config(data, tmp_path / "b", epochs=2, negate_fraction=0.5)))
    assert _digest(a) == _digest(b) != _digest(plain)
    # 108 training documents + 54 negated ones per epoch, in batches of 16
    assert [r.total_steps for r in plain if r.kind == "done"] == [2 * 7]
    assert [r.total_steps for r in a if r.kind == "done"] == [2 * 11]
    assert "54 negated reviews per epoch (from 108 negatable sentences: 54 positive, 54 negative)" in (
        _setup(a)
    )
    assert len(seen) == 4  # once per epoch per run; none for the plain run
    # what was negated is the training split: no dev document, no dev sentence
    ds = load_dataset(data, "jsonl")
    train_idx, _dev = split_dev(ds.labels, 0.1, 13)
    words = [doc_words(t) for t in ds.texts]
    vocab = Vocab.build((words[i] for i in train_idx), 1, 1000)
    enc = encode_words(words, vocab)
    docs, labels, cands, n, _rng, positive, negative, negator, max_body, (out, out_labels) = seen[0]
    assert (n, max_body, positive, negative, negator) == (54, 4, 1, 0, vocab.id("not"))
    assert docs == [enc[i] for i in train_idx] and list(labels) == [ds.labels[i] for i in train_idx]
    assert {c.doc for c in cands} == set(range(len(train_idx)))  # one judgement per review
    train_sentences = {tuple(s) for i in train_idx for s in enc[i]}
    copulas = {vocab.id(w) for w in ("is", "was", "are", "'s")}
    for doc in out:
        assert all(UNK_ID not in s for s in doc)  # a dev review's name is <unk>: none is used
        assert all(tuple(s) in train_sentences for s in doc[:-1])
        _negated_source(doc[-1], negator, train_sentences, copulas)
    assert Counter(out_labels) == {0: 27, 1: 27}
    meta = json.loads((tmp_path / "a" / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["train_config"]["negate_fraction"] == 0.5
    augmentation = {"spliced_per_epoch": 0, "negated_per_epoch": 54, "negation_candidates": 108}
    augmentation |= {"judgements_per_epoch": 0, "judgement_pool": 0}
    assert meta["augmentation"] == augmentation


def test_negated_and_spliced_training_resumes_mid_epoch_exactly(
    tmp_path: Path, cut_and_resume: CutAndResume
) -> None:
    data = _write_negatable(tmp_path / "neg.jsonl")
    straight, resumed = cut_and_resume(data, tmp_path, negate_fraction=0.3, splice_fraction=0.2)
    assert "22 spliced reviews per epoch, 32 negated reviews per epoch" in _setup(straight)
    assert next(r.step for r in resumed if r.kind == "step") == 14
    assert _digest(resumed) == _digest(straight)


def test_without_candidates_training_says_so_and_adds_nothing(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "toy.jsonl", 120, seed=1)  # "great", "awful": not in the lexicon
    plain = list(train(toy_config(data, tmp_path / "p", epochs=1)))
    negated = list(train(toy_config(data, tmp_path / "n", epochs=1, negate_fraction=0.5)))
    assert "no negated reviews: the training split has 0 negatable sentences" in _setup(negated)
    assert _digest(negated) == _digest(plain)
    assert [r.total_steps for r in negated if r.kind == "done"] == [7]


def test_the_cli_flag_reaches_the_config_and_the_recorded_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    data = _write_negatable(tmp_path / "neg.jsonl", 60)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet", "--device", "cpu"]
    assert main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", "--negate-fraction", "0.25"]) == 0
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert "--negate-fraction 0.25" in meta["command"]
    assert meta["train_config"]["negate_fraction"] == 0.25
    assert meta["augmentation"]["negated_per_epoch"] == round(0.25 * meta["dataset"]["train_documents"]) > 0
    capsys.readouterr()
