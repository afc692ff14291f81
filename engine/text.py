"""Split a raw review into sentences of word tokens, keeping character spans.

Segmentation and tokenization use `syntok <https://github.com/fnl/syntok>`_, the maintained
successor of segtok: pure Python, aware of abbreviations (``Dr.``, ``U.S.``), ellipses and
quotes, and it reports the offset of every token in the text it was given.

Around syntok this module adds what IMDB reviews need:

* ``<br />`` tags (any case, any ``<br>`` variant) and blank lines are hard sentence boundaries
  and never become tokens. The input is cut at them and syntok runs on each chunk, which also
  keeps the work linear in the input length.
* Characters syntok folds into token spacing (a hyphen or underscore inside a word) become
  tokens of their own, so no non-space character of the input is lost.
* Chinese and Japanese text, which has no spaces, is split into one token per ideograph or
  kana, and sentences end after ``。``, ``！`` or ``？``.

Every span is a code-point offset into the original string: ``text[tok.start:tok.end] == tok.text``.

``tokenize(text, reuse=True)`` (the interactive path, :func:`engine.analysis.read_document`) keeps the
tokens of recent chunks: a chunk's tokens depend on its own text only, so while a user types, only
the edited chunk goes through syntok again (syntok is ~half of scoring a 500-word review).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import syntok.segmenter as segmenter

__all__ = ["Document", "Sentence", "Token", "normalize", "tokenize"]


@dataclass(frozen=True, slots=True)
class Token:
    """A word or punctuation token; ``text`` is exactly ``original[start:end]``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """A non-empty run of tokens; the span runs from the first token's start to the last's end."""

    start: int
    end: int
    tokens: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """The original text and its sentences, in order."""

    text: str
    sentences: tuple[Sentence, ...]

    @property
    def n_tokens(self) -> int:
        """Total number of tokens over all sentences."""
        return sum(len(sentence.tokens) for sentence in self.sentences)


# Hard boundaries: HTML line breaks (never tokens) and blank lines (syntok's paragraph rule).
_BOUNDARY = re.compile(r"<br\s*/?\s*>|\r?\n(?:\s*\r?\n)+", re.IGNORECASE)
# What syntok treats as space between tokens (it also splits at the zero-width space).
_NON_SPACE = re.compile(r"[^\s\u200b]+")
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK_OR_ENDER = re.compile(f"[{_CJK_CHARS}。！？｡]")
_CJK_ENDERS = frozenset("。！？｡")
# Further terminators, closing brackets and quotes stay with the sentence a CJK terminator ended.
_CJK_TRAILERS = _CJK_ENDERS | frozenset("」』）】〕〉》〙〗\"'”’)]")
_CJK_PIECE = re.compile(f"[{_CJK_CHARS}]|[。！？｡]|[^{_CJK_CHARS}。！？｡]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def tokenize(text: str, reuse: bool = False) -> Document:
    """Split ``text`` into sentences of tokens whose spans index ``text``.

    Parameters
    ----------
    text
        A raw review; may contain ``<br />`` tags, blank lines, emoji and any script.
    reuse
        Take the tokens of a chunk (the text between hard boundaries) seen recently from a small
        cache instead of running syntok on it again. The result is the same.

    Returns
    -------
    Document
        ``text`` unchanged plus its sentences. Empty, whitespace-only and tag-only input
        gives zero sentences.
    """
    sentences: list[Sentence] = []
    for start, end in _chunks(text):
        if reuse and end - start <= _CACHED_CHUNK_CHARS:
            for relative in _chunk_tokens(text[start:end]):
                shifted = tuple(Token(t, start + a, start + b) for t, a, b in relative)
                sentences.append(Sentence(shifted[0].start, shifted[-1].end, shifted))
            continue
        for tokens in _chunk_sentences(text, start, end):
            sentences.append(Sentence(tokens[0].start, tokens[-1].end, tuple(tokens)))
    return Document(text, tuple(sentences))


def _chunk_sentences(text: str, start: int, end: int) -> Iterator[list[Token]]:
    """The sentences of the chunk ``text[start:end]``, with spans into ``text``."""
    chunk = _fill_gaps(text, start, end, _syntok_sentences(text, start, end))
    if _CJK_OR_ENDER.search(text, start, end):  # most reviews have none: skip the per-token pass
        chunk = _split_cjk(chunk)
    return chunk


# The cache of ``reuse``: at most 256 chunks of at most 5,000 characters (a few MB at worst).
_CACHED_CHUNK_CHARS = 5_000


@functools.lru_cache(maxsize=256)
def _chunk_tokens(chunk: str) -> tuple[tuple[tuple[str, int, int], ...], ...]:
    """The sentences of one chunk as ``(text, start, end)`` triples relative to the chunk."""
    return tuple(
        tuple((t.text, t.start, t.end) for t in tokens) for tokens in _chunk_sentences(chunk, 0, len(chunk))
    )


def normalize(token: str) -> str:
    """Return the vocabulary key of a token text.

    Case is folded, and numbers (digits with optional ``,``/``.`` group or decimal
    separators, e.g. ``1,000.5``) map to ``"<num>"``. Punctuation is kept as itself.
    """
    if _NUMBER.fullmatch(token):
        return "<num>"
    return token.casefold()


def _chunks(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of the non-blank stretches between hard boundaries."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        if text[start : match.start()].strip():
            yield start, match.start()
        start = match.end()
    if text[start:].strip():
        yield start, len(text)


def _syntok_sentences(text: str, start: int, end: int) -> Iterator[list[Token]]:
    """Run syntok on ``text[start:end]`` and yield its sentences with absolute spans.

    syntok ends a paragraph that has trailing whitespace with an empty token; it is dropped.
    """
    for paragraph in segmenter.analyze(text[start:end]):
        for raw in paragraph:
            spans = [(start + tok.offset, start + tok.offset + len(tok.value)) for tok in raw if tok.value]
            tokens = [Token(text[a:b], a, b) for a, b in spans]
            if tokens:
                yield tokens


def _fill_gaps(text: str, start: int, end: int, sentences: Iterable[list[Token]]) -> Iterator[list[Token]]:
    """Turn non-space text that syntok left between tokens (e.g. the ``-`` of ``well-known``) into tokens.

    A gap is added to the sentence of the token that follows it; a trailing gap to the last sentence.
    """
    position = start
    last: list[Token] | None = None
    for sentence in sentences:
        filled: list[Token] = []
        for token in sentence:
            if token.start > position and not text[position : token.start].isspace():
                filled.extend(_gap_tokens(text, position, token.start))
            filled.append(token)
            position = token.end
        if last is not None:
            yield last
        last = filled
    trailing = list(_gap_tokens(text, position, end))
    if last is None:
        last = []
    last.extend(trailing)
    if last:
        yield last


def _gap_tokens(text: str, start: int, end: int) -> Iterator[Token]:
    for match in _NON_SPACE.finditer(text, start, end):
        yield Token(match.group(), match.start(), match.end())


def _split_cjk(sentences: Iterable[list[Token]]) -> Iterator[list[Token]]:
    """Split CJK tokens into one token per character and end sentences after ``。！？``."""
    for sentence in sentences:
        current: list[Token] = []
        ended = False
        for token in sentence:
            for piece in _cjk_pieces(token):
                if ended and piece.text not in _CJK_TRAILERS:
                    yield current
                    current = []
                current.append(piece)
                ended = piece.text in _CJK_ENDERS or (ended and piece.text in _CJK_TRAILERS)
        if current:
            yield current


def _cjk_pieces(token: Token) -> Iterator[Token]:
    if not _CJK_OR_ENDER.search(token.text):
        yield token
        return
    for match in _CJK_PIECE.finditer(token.text):
        yield Token(match.group(), token.start + match.start(), token.start + match.end())
