"""A tiny synthetic sentiment dataset: one keyword in one sentence decides the label."""

from __future__ import annotations

import json
import random
from pathlib import Path

TINY_TRAIN_ARGS = [  # `han-explorer train` options for a model small enough to train in seconds
    *("--min-count", "1", "--embed-dim", "16", "--word-hidden", "8", "--sentence-hidden", "8"),
    *("--batch-size", "16", "--lr", "0.01", "--lr-schedule", "constant", "--dropout", "0"),
    *("--embed-dropout", "0", "--workers", "1"),
]

POS = ["great", "wonderful", "superb", "loved", "brilliant"]
NEG = ["awful", "boring", "terrible", "hated", "dull"]
FILLER = [
    "the",
    "film",
    "was",
    "a",
    "story",
    "about",
    "some",
    "people",
    "in",
    "a",
    "town",
    "and",
    "it",
    "had",
    "scenes",
]


def toy_rows(n: int = 400, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 1
        sents = [" ".join(rng.sample(FILLER, 6)).capitalize() + "." for _ in range(rng.randint(2, 5))]
        k = rng.randrange(len(sents))
        words = sents[k][:-1].split()
        words.insert(rng.randrange(len(words) + 1), rng.choice(POS if positive else NEG))
        sents[k] = " ".join(words) + "."
        rows.append({"text": " ".join(sents), "label": "pos" if positive else "neg"})
    return rows


def write_toy(path: Path, n: int = 400, seed: int = 0) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in toy_rows(n, seed)) + "\n", encoding="utf-8")
    return path
