"""``--strategy fastest``: the strategy and tile that measured fastest for a mask size, per card.

The tables are the ``fastest`` field of benchmark records in bench/results/ (engine.conv_bench.fastest:
our fastest verified kernel at 8192^2 per mask, all strategies and tiles timed in one run), one per
card; ``SOURCES`` names each record. A mask that was not measured takes the nearest measured one (the
larger on a tie), and a tile the geometry refuses for that mask falls back to the largest smaller tile
that it takes. A card without a table uses the H200's (the card the targets were set on).
"""

from __future__ import annotations

from engine.provenance import card_slug
from engine.tiling import geometry

__all__ = ["DEFAULT_CARD", "FASTEST", "SOURCES", "choose"]

DEFAULT_CARD = "h200"
# card slug -> {mask side: (strategy, tile)}
FASTEST: dict[str, dict[int, tuple[str, int]]] = {
    # Mask 31: tensorcore (commit e9a99ce, 3xTF32) measured 2.931 ms against tma's 2.967 ms on the H200,
    # but the kernel changed after that run (TF32 + BF16 split, 58e0338); the current kernel has run on an
    # H100 only: the H200 keeps tma.
    "h200": {3: ("tma", 16), 5: ("tma", 32), 9: ("tma", 16), 15: ("tma", 32), 31: ("tma", 16)},
    # Masks 3, 5: every strategy and tile (9c7206e). Masks 3 .. 31: tma and the TF32 + BF16 tensorcore
    # (d412268, h rounded by an integer add): tensorcore 1.641 ms against tma's 2.958 ms at mask 31;
    # tma ahead at 9 (0.230 against 0.295 ms) and 15 (0.548 against 0.581 ms), and at 3 and 5.
    "h100": {3: ("tma", 16), 5: ("tma", 16), 9: ("tma", 16), 15: ("tma", 32), 31: ("tensorcore", 64)},
}
SOURCES = {
    "h200": "bench/results/2026-12-07-conv-h200-tc20-1.json (tma; tensorcore as of e9a99ce not taken)",
    "h100": "bench/results/2026-12-07-conv-h100-d412268.json (masks 3 .. 31: tma and tensorcore), "
    "2026-12-07-conv-h100-9c7206e.json (3, 5: every strategy)",
}


def choose(mask_size: int, card: str | None = None) -> tuple[str, int, str]:
    """``(strategy, tile, why)`` for a ``mask_size`` mask on ``card`` (a GPU name; None: the H200's table).

    ``why`` says which table and measured mask the choice came from, for the user.
    """
    slug = card_slug(card) if card else DEFAULT_CARD
    table_slug = slug if slug in FASTEST else DEFAULT_CARD
    table = FASTEST[table_slug]
    measured = min(table, key=lambda k: (abs(k - mask_size), -k))
    strategy, tile = table[measured]
    for t in sorted({tile, 64, 32, 16, 8, 4}, reverse=True):
        if t > tile:
            continue
        try:
            geometry(64, 64, mask_size, strategy, t)
        except ValueError:
            continue
        tile = t
        break
    else:
        strategy, tile = "output_tile", 16
    why = f"fastest measured on the {table_slug.upper()} at mask {measured} ({SOURCES[table_slug]})"
    if table_slug != slug:
        why += f"; no table for {card}"
    return strategy, tile, why
