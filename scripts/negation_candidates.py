"""Count the sentences engine.negate can negate in a dataset's training split (issue 17).

    PYTHONPATH=$PWD .venv/bin/python scripts/negation_candidates.py --data PATH [--cache-dir DIR]

Reads the data as ``han-explorer train`` does (same dev split, tokenizer, cache and vocabulary
settings, the shipped model's by default), and prints, for the training part and for all rows, how
many candidate sentences :func:`engine.negate.find_candidates` finds, by polarity, with examples.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from engine.data import load_dataset
from engine.negate import NegationWords, find_candidates
from engine.preprocess import encode_words
from engine.train import TrainConfig, split_dev
from engine.vocab import Vocab
from engine.word_cache import cached_words


def main() -> None:
    d = TrainConfig(data="")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--examples", type=int, default=12)
    a = p.parse_args()
    ds = load_dataset(a.data, limit=a.limit)
    words, _ = cached_words(ds, a.cache_dir)
    train_idx, _dev = split_dev(ds.labels, d.dev_fraction, d.seed)
    vocab = Vocab.build((words[i] for i in train_idx), d.min_count, d.max_vocab)
    lex = NegationWords.from_vocab(vocab)
    enc = encode_words(words, vocab)
    for name, idx in (("training split", train_idx), ("all rows", list(range(len(ds))))):
        docs = [enc[i] for i in idx]
        found = find_candidates(docs, lex)
        pol = Counter(c.polarity for c in found)
        reviews = len({c.doc for c in found})
        print(
            f"{name}: {len(idx)} reviews, {len(found)} candidate sentences "
            f"({pol[1]} positive adjective, {pol[-1]} negative) in {reviews} reviews"
        )
    found = find_candidates([enc[i] for i in train_idx], lex)
    adjectives = Counter(
        vocab.itos[w] for c in found for w in enc[train_idx[c.doc]][c.sentence] if lex and w in lex.polarity
    )
    print("most common adjectives:", adjectives.most_common(20))
    for c in random.Random(0).sample(found, min(a.examples, len(found))):
        s = [vocab.itos[w] for w in enc[train_idx[c.doc]][c.sentence]]
        print(f"  [{'+' if c.polarity > 0 else '-'}] {' '.join(s[: c.at])} [not] {' '.join(s[c.at :])}")


if __name__ == "__main__":
    main()
