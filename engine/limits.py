"""The largest inputs HAN Explorer accepts, in one place for the CLI, the app and the engine.

Every limit is checked before the memory it guards is allocated, and a refusal is one line that
names the limit. They are not tuning knobs: each one says what the program promises to handle.

Text
    ``MAX_TEXT_CHARS`` is the longest review that ``predict``, ``gru-trace`` and the app's
    Attention and GRU views accept (1,000,000 characters, about 170,000 words: far beyond any
    review). Inference memory grows linearly with the text (``engine.inference`` encodes
    sentences in chunks under ``INFERENCE_BUDGET``), so a review at the limit is scored on a CPU
    in seconds and under 1 GB peak RSS (``bench/bench_memory.py``). A text file or a stream may
    hold at most ``MAX_TEXT_BYTES`` bytes (four per character: any UTF-8 text at the limit fits);
    reading stops one byte past it, so an endless stream (``/dev/zero``, ``yes |``) is refused,
    not read forever. Datasets are not bound by these: ``evaluate`` and ``train`` read rows of
    any length, with the same linear memory.

Images and masks (the convolution explorer and ``han-explorer conv``)
    ``MAX_IMAGE_PIXELS`` (8192 x 8192: 256 MiB of float32, and as much again for the output) and
    ``MAX_IMAGE_SIDE``; masks up to ``MAX_MASK`` (the constant-memory bank's limit, see
    ``engine.tiling.MAX_CONSTANT_MASK``).

Model files
    ``model.json`` up to ``MAX_META_BYTES``; vocabularies up to ``MAX_VOCAB`` words; every layer
    width up to ``MAX_WIDTH``; up to ``MAX_CLASSES`` classes and ``MAX_PARAMETERS`` weights in all.
    The shipped model (30,000 words, widths 200) is far inside every one.
"""

from __future__ import annotations

from engine.tiling import MAX_CONSTANT_MASK

__all__ = [
    "INFERENCE_BUDGET",
    "MAX_CLASSES",
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_SIDE",
    "MAX_MASK",
    "MAX_META_BYTES",
    "MAX_PARAMETERS",
    "MAX_TEXT_BYTES",
    "MAX_TEXT_CHARS",
    "MAX_VOCAB",
    "MAX_WIDTH",
]

MAX_TEXT_CHARS = 1_000_000  # ~170,000 words; scored in seconds, < 1 GB peak RSS
MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARS  # UTF-8 needs at most 4 bytes per character

# Floats one chunk of the word encoder may hold per activation tensor: padded tokens x width.
# 2^22 floats = 16 MiB; a chunk holds a handful of such tensors, so inference stays near 100 MiB
# above the model whatever the text, while a normal review still runs as a single chunk.
INFERENCE_BUDGET = 1 << 22

MAX_IMAGE_PIXELS = 1 << 26  # 8192 x 8192 float32 = 256 MiB
MAX_IMAGE_SIDE = 16384  # a 16384 x 4096 strip is fine; 32768 on a side is not
MAX_MASK = MAX_CONSTANT_MASK  # 63: K*K float32 must fit the 64 KiB constant bank

MAX_META_BYTES = 256 << 20  # model.json / state.json: a 2M-word vocabulary is ~40 MB
MAX_VOCAB = 2_000_000  # words (an embedding of 2M x 200 float32 is 1.6 GB)
MAX_WIDTH = 4096  # embedding, hidden and attention sizes
MAX_CLASSES = 10_000
MAX_PARAMETERS = 1_000_000_000  # 4 GB of float32 weights
