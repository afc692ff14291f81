"""Tests for engine.text: sentence splitting, tokenization and exact character spans."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import re
import time
from pathlib import Path

import pytest

from engine.text import Document, Sentence, Token, normalize, tokenize

REPO_ROOT = Path(__file__).resolve().parents[2]
IMDB_TRAIN = REPO_ROOT.parent / "shared" / "data" / "aclimdb" / "train.jsonl.gz"
BR_TAG = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)

TRICKY = [
    'This movie was great.<br /><br />The acting, however, was "meh"... I\'d give it 7/10',
    'He said "wow!" and left. Then? Nothing.',
    "Wait... what… really…",
    "Dr. Smith met Mr. Jones in the U.S. on Jan. 5, e.g. last year. Fine",
    "Loved it 😀😀 so much 👍🏽! Would watch again 🎬",
    "Это был отличный фильм. Очень понравился!",
    "日本語のテキスト。もう一つ。",
    "no final punctuation here",
    "multiple   spaces\tand\ttabs\n\nand\n\n\nnewlines  \n  end  ",
    "Upper <BR />case<Br/>tags<br>everywhere<br / >done",
    "I don't know, they can't, won't and shouldn't.",
    "well-known snake_case re-\nhyphenated a\u200bb",
    "  \t leading and trailing whitespace \n ",
    "Καλημέρα κόσμε! مرحبا بالعالم. 안녕하세요 세계.",
    "<i>Italic</i> and <hr> other tags.",
    "(Parenthesised (nested) text.) [Brackets]",
]

ENGLISH = ["the", "movie", "was", "Great", "don't", "Dr.", "U.S.", "well-known", "x", "1,000", "3.14"]
WORDS = [*ENGLISH, "café", "ÉCOLE", "Привет", "日本語", "テキスト"]
PUNCT = [".", ",", "!", "?", "...", "…", '"', "'", "(", ")", "。", "！", "-", ";", ":"]
TAGS = ["<br />", "<br/>", "<br>", "<BR />", "<Br/>"]
EMOJI = ["😀", "👍🏽", "🎬", "❤️"]
SPACE = [" ", "  ", "\t", "\n", "\n\n", " \n \n ", "\r\n"]


def is_space(char: str) -> bool:
    return char.isspace() or char == "\u200b"


def all_tokens(doc: Document) -> list[Token]:
    return [token for sentence in doc.sentences for token in sentence.tokens]


def assert_invariants(text: str, doc: Document) -> None:
    """Spans are exact, ordered and non-overlapping; sentences cover their tokens; no tag fragments."""
    assert doc.text == text
    previous_end = 0
    for sentence in doc.sentences:
        assert sentence.tokens, "empty sentence"
        assert sentence.start == sentence.tokens[0].start
        assert sentence.end == sentence.tokens[-1].end
        for token in sentence.tokens:
            assert token.text, "empty token"
            assert text[token.start : token.end] == token.text
            assert token.start >= previous_end, f"overlap or disorder at {token}"
            previous_end = token.end
            assert "<br" not in token.text.lower()
            assert "/>" not in token.text
    assert doc.n_tokens == len(all_tokens(doc))


def assert_nothing_dropped(text: str, doc: Document) -> None:
    """Every character that is neither whitespace nor part of a <br> tag lies inside some token."""
    covered = [False] * len(text)
    for match in BR_TAG.finditer(text):
        covered[match.start() : match.end()] = [True] * (match.end() - match.start())
    for token in all_tokens(doc):
        covered[token.start : token.end] = [True] * (token.end - token.start)
    dropped = [(i, text[i]) for i, done in enumerate(covered) if not done and not is_space(text[i])]
    assert not dropped, f"characters dropped: {dropped[:10]}"


def texts(doc: Document) -> list[list[str]]:
    return [[token.text for token in sentence.tokens] for sentence in doc.sentences]


@pytest.mark.parametrize("text", TRICKY)
def test_spans_on_tricky_inputs(text: str) -> None:
    doc = tokenize(text)
    assert_invariants(text, doc)
    assert_nothing_dropped(text, doc)
    assert doc.sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. He left", 2),
        ("Great film<br /><br />Loved it", 2),
        ("Great film<BR/>Loved it<br>Really", 3),
        ("One sentence without a full stop", 1),
        ("First paragraph\n\nSecond paragraph", 2),
        ("Mr. Jones lives in the U.S. and likes it.", 1),
        ("I waited... and waited. Nothing happened", 2),
        ("日本語のテキスト。もう一つ。", 2),
        ("すごい！？本当に？「はい。」と言った。", 4),
        ("Это хорошо. Это плохо.", 2),
    ],
)
def test_sentence_counts(text: str, expected: int) -> None:
    assert len(tokenize(text).sentences) == expected


@pytest.mark.parametrize("text", ["", " ", "   \n\t  \n", "<br /><br />", " <BR/> <br> \n\n <br / > "])
def test_no_sentences(text: str) -> None:
    doc = tokenize(text)
    assert doc.sentences == ()
    assert doc.n_tokens == 0
    assert doc.text == text


def test_br_tags_are_boundaries_not_tokens() -> None:
    doc = tokenize("Great film<br /><br />Loved it")
    assert texts(doc) == [["Great", "film"], ["Loved", "it"]]


def test_abbreviation_does_not_split() -> None:
    doc = tokenize("Dr. Smith arrived. He left")
    assert texts(doc)[0][:3] == ["Dr", ".", "Smith"]
    assert texts(doc)[1] == ["He", "left"]


def test_contraction_split_keeps_exact_spans() -> None:
    text = "I don't care"
    tokens = all_tokens(tokenize(text))
    assert [t.text for t in tokens] == ["I", "do", "n't", "care"]
    assert (tokens[2].start, tokens[2].end) == (4, 7)


def test_emoji_token_span() -> None:
    text = "Fun 😀 film"
    tokens = all_tokens(tokenize(text))
    assert Token("😀", 4, 5) in tokens


def test_cjk_split_per_character() -> None:
    doc = tokenize("日本語のテキスト。もう一つ。")
    assert texts(doc) == [
        ["日", "本", "語", "の", "テ", "キ", "ス", "ト", "。"],
        ["も", "う", "一", "つ", "。"],
    ]


def test_mixed_cjk_keeps_non_cjk_runs() -> None:
    tokens = [t.text for t in all_tokens(tokenize("東京abc123日本"))]
    assert tokens == ["東", "京", "abc123", "日", "本"]


def test_hangul_stays_word_level() -> None:
    assert texts(tokenize("안녕하세요 세계.")) == [["안녕하세요", "세계", "."]]


def test_hyphen_inside_word_is_kept_as_token() -> None:
    assert texts(tokenize("a well-known film")) == [["a", "well", "-", "known", "film"]]


def test_ellipsis_tokens() -> None:
    tokens = [t.text for t in all_tokens(tokenize("Hmm... okay…"))]
    assert "..." in tokens
    assert "…" in tokens


def test_dataclasses_are_frozen() -> None:
    token = Token("a", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.start = 3  # type: ignore[misc]
    sentence = Sentence(0, 1, (token,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sentence.end = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("The", "the"),
        ("MOVIE", "movie"),
        ("Straße", "strasse"),
        ("Привет", "привет"),
        ("42", "<num>"),
        ("1,000", "<num>"),
        ("3.14", "<num>"),
        ("1,000,000.50", "<num>"),
        ("3D", "3d"),
        ("7/10", "7/10"),
        (".", "."),
        ("...", "..."),
        ("!", "!"),
        ("n't", "n't"),
        ("😀", "😀"),
        ("日", "日"),
    ],
)
def test_normalize(token: str, expected: str) -> None:
    assert normalize(token) == expected


def random_text(rng: random.Random) -> str:
    pools = [WORDS, WORDS, WORDS, PUNCT, TAGS, EMOJI, SPACE, SPACE]
    parts = []
    for _ in range(rng.randint(0, 40)):
        parts.append(rng.choice(rng.choice(pools)))
        if rng.random() < 0.7:
            parts.append(" ")
    return "".join(parts)


def test_random_strings_keep_span_invariants() -> None:
    rng = random.Random(20240601)
    for _ in range(200):
        text = random_text(rng)
        doc = tokenize(text)
        assert_invariants(text, doc)
        assert_nothing_dropped(text, doc)
        assert bool(doc.sentences) == bool(BR_TAG.sub("", text).strip())


def test_long_text_without_punctuation_finishes() -> None:
    rng = random.Random(7)
    text = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(20_000))[:100_000]
    start = time.perf_counter()
    doc = tokenize(text)
    assert time.perf_counter() - start < 30
    assert_invariants(text, doc)
    assert doc.n_tokens > 10_000


def test_long_run_without_spaces_finishes() -> None:
    text = "a" * 100_000
    doc = tokenize(text)
    assert texts(doc) == [[text]]


@pytest.mark.slow
def test_one_megabyte_is_fast_enough() -> None:
    rng = random.Random(1)
    vocabulary = [*WORDS, *PUNCT, "<br /><br />", "\n\n", "😀"]
    pieces: list[str] = []
    size = 0
    while size < 1_000_000:
        piece = rng.choice(vocabulary)
        pieces.append(piece)
        size += len(piece) + 1
    text = " ".join(pieces)
    start = time.perf_counter()
    doc = tokenize(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 30, f"1 MB took {elapsed:.1f} s"
    assert doc.n_tokens > 100_000
    assert_invariants(text, doc)


@pytest.mark.skipif(not IMDB_TRAIN.exists(), reason=f"IMDB data not found at {IMDB_TRAIN}")
def test_real_imdb_reviews() -> None:
    with gzip.open(IMDB_TRAIN, "rt", encoding="utf-8") as handle:
        reviews = [json.loads(line)["text"] for line, _ in zip(handle, range(50), strict=False)]
    assert len(reviews) == 50
    for text in reviews:
        doc = tokenize(text)
        assert_invariants(text, doc)
        assert_nothing_dropped(text, doc)
        assert doc.sentences


def test_reused_chunks_give_the_same_document_through_edits() -> None:
    """``reuse=True`` (the interactive path) equals a fresh tokenization: on tricky and random texts, on
    a chunk seen at another offset, and through a run of edits (typing, deleting, splitting a chunk)."""
    from engine.text import _chunk_tokens

    rng = random.Random(11)
    samples = TRICKY + [random_text(rng) for _ in range(150)]
    for text in samples + samples:  # the second pass is served from the cache
        assert tokenize(text, reuse=True) == tokenize(text)
    moved = "Padding first.<br /><br />" + TRICKY[0]  # the same chunks, now at other offsets
    assert tokenize(moved, reuse=True) == tokenize(moved)
    text = "\n\n".join(TRICKY)
    for step in range(60):
        pos = rng.randrange(len(text) + 1)
        edit = rng.choice(["typing", "delete", "<br />", "\n\n", ". Then", "日本。"])
        text = text[:pos] + text[pos + 6 :] if edit == "delete" else text[:pos] + edit + text[pos:]
        doc = tokenize(text, reuse=True)
        assert doc == tokenize(text), step
        assert_invariants(text, doc)
    assert _chunk_tokens.cache_info().hits > 0
    huge = "word " * 2_000  # one chunk over the cache's limit: read, not kept
    before = _chunk_tokens.cache_info().currsize
    assert tokenize(huge, reuse=True) == tokenize(huge)
    assert _chunk_tokens.cache_info().currsize == before
