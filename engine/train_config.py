"""The settings of a training run, importable without torch (the CLI builds its flags from them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on.

    Defaults are the shipped model's settings (chosen on the IMDB dev split, see README), except
    ``embedding_dtype``, which the shipped model sets to float16 to stay small.
    """

    data: str
    out: str = "runs/han"
    format: str = "auto"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # "cosine" decays to 5% over all epochs; "constant"
    weight_decay: float = 0.0
    clip: float = 5.0  # gradient norm; GRUs occasionally spike
    dev_fraction: float = 0.1
    patience: int = 3  # epochs without dev improvement before stopping
    seed: int = 13
    init_seed: int | None = None  # seeds all but the dev split (None: ``seed``); runs differ, dev stays
    device: str = "auto"
    min_count: int = 3  # rarer words become <unk>
    max_vocab: int = 30000  # keeps the shipped model small
    word_quantile: float = 0.95
    sentence_quantile: float = 0.95
    embed_dim: int = 200
    word_hidden: int = 100  # with embed_dropout 0.4: dev 0.930, vs 0.925 at 50 units
    sentence_hidden: int = 100
    dropout: float = 0.5
    embed_dropout: float = 0.4  # whole embedding features dropped per sentence
    word2vec_epochs: int = 5  # >0: start the embedding from word2vec on the training text
    freeze_embedding_epochs: int = 0
    label_smoothing: float = 0.0  # share of each target spread over all classes (0 = plain cross-entropy)
    ema_decay: float = 0.0  # >0: dev-evaluate and save a moving average of the weights (decay per step)
    splice_fraction: float = 0.0  # extra spliced reviews per epoch, as a share of the training split
    splice_sentences: int = 4  # a spliced review's body has 1 to this many sentences
    negate_fraction: float = 0.0  # extra reviews ending in a negated sentence per epoch (engine.negate)
    judgement_fraction: float = 0.0  # extra reviews ending in a written judgement (engine.judgements)
    judgement_turn_share: float = 1.0  # of those with a body, the share whose body is of the other class
    judgement_temporal_share: float = 0.2  # of the written judgements, the share that are temporal
    judgement_opener_share: float = 0.15  # of the written judgements, the share after an opener ("Frankly,")
    judgement_title_share: float = 0.0  # of the written judgements, the share naming a title for "it"
    lexicon_weight: float = 0.0  # >0: the embedding must hold VADER's word valences (engine.lexicon)
    lexicon_retrofit_rank: int = 0  # >0: rated words of this vocabulary id on take their rating's neighbours
    distill_from: str | None = None  # comma-separated trained model folders: teachers (engine.distill)
    distill_weight: float = 1.0  # share of the teachers' targets in the loss on the training split's reviews
    distill_temperature: float = 1.0  # teachers' and student's logits are divided by this before softmax
    init_model: str | None = None  # start from this model's weights (fine-tuning; same vocabulary and sizes)
    embedding_dtype: str = "float32"  # "float16" halves the saved embedding
    checkpoint_every: int = 0  # steps; 0 = at the end of each epoch only
    resume: bool = False
    limit: int | None = None  # use the first N rows of the data (quick runs)
    workers: int | None = None  # tokenizer processes
    cache_dir: str | None = None  # keep tokenized text here, keyed by the data's hash
    command: str = ""  # the command line that made the run, recorded in the model
    force: bool = False  # replace a run already in ``out`` (else: resume or refuse)

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (0 < self.lr < math.inf, "learning rate must be positive and finite"),
            (0 < self.clip < math.inf, "clip must be positive and finite"),
            (0 <= self.weight_decay < math.inf, "weight decay must be >= 0 and finite"),
            (self.lr_schedule in ("cosine", "constant"), "lr schedule must be cosine or constant"),
            (0 < self.dev_fraction < 1, "dev fraction must be between 0 and 1"),
            (self.patience >= 1, "patience must be at least 1"),
            (
                0 < self.word_quantile <= 1 and 0 < self.sentence_quantile <= 1,
                "length quantiles must be in (0, 1]",
            ),
            (self.min_count >= 1 and self.max_vocab >= 3, "min count >= 1 and max vocab >= 3"),
            (min(self.embed_dim, self.word_hidden, self.sentence_hidden) >= 1, "sizes must be positive"),
            (0 <= self.dropout < 1 and 0 <= self.embed_dropout < 1, "dropout must be in [0, 1)"),
            (self.word2vec_epochs >= 0 and self.freeze_embedding_epochs >= 0, "epochs must be >= 0"),
            (0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)"),
            (0 <= self.ema_decay < 1, "ema decay must be in [0, 1)"),
            (0 <= self.distill_weight <= 1, "distill weight must be in [0, 1]"),
            (0 < self.distill_temperature <= 100, "distill temperature must be in (0, 100]"),
            (0 <= self.splice_fraction <= 10, "splice fraction must be in [0, 10]"),
            (self.splice_sentences >= 1, "splice sentences must be at least 1"),
            (0 <= self.negate_fraction <= 10, "negate fraction must be in [0, 10]"),
            (0 <= self.judgement_fraction <= 10, "judgement fraction must be in [0, 10]"),
            (0 <= self.judgement_turn_share <= 1, "judgement turn share must be in [0, 1]"),
            (0 <= self.judgement_temporal_share <= 1, "judgement temporal share must be in [0, 1]"),
            (0 <= self.judgement_opener_share <= 1, "judgement opener share must be in [0, 1]"),
            (0 <= self.judgement_title_share <= 1, "judgement title share must be in [0, 1]"),
            (0 <= self.lexicon_weight <= 100, "lexicon weight must be in [0, 100]"),
            (self.lexicon_retrofit_rank >= 0, "lexicon retrofit rank must be >= 0"),
            (self.embedding_dtype in ("float32", "float16"), "embedding dtype must be float32 or float16"),
            (self.limit is None or self.limit >= 1, "limit must be at least 1"),
            (self.init_seed is None or self.init_seed >= 0, "init seed must be >= 0"),
        ]
        bad = [msg for ok, msg in checks if not ok]
        if bad:
            raise ValueError("; ".join(bad))

    @property
    def run_seed(self) -> int:
        """The seed of initialisation, word2vec, batch order, splicing and negation (not of the dev split)."""
        return self.seed if self.init_seed is None else self.init_seed
