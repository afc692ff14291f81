"""Train a HAN: a generator of progress records that a CLI bar, a GUI worker or torchrun drives.

``train(config)`` prepares the data (dev split carved from train, vocabulary and length limits from
the training part only), then yields :class:`Progress` records. It writes the best model by dev
accuracy to ``out/model`` and a resumable checkpoint to ``out/checkpoint``, both atomically.

Under ``torchrun --nproc_per_node=N`` it trains with DistributedDataParallel (gloo on CPU, NCCL on
GPUs): every rank reads the data, then trains on its own shard of each epoch's batches; dev
accuracy is computed on dev shards and summed, so every rank takes the same early-stopping step.

With ``probe`` (a review), rank 0 re-scores it after every evaluation and before the first step, and
puts its :class:`~engine.analyze.Analysis` in ``Progress.extra["probe"]`` of those records (the last
"setup" record and every "eval" record), so a viewer can watch its attention form. The probe is
scored in eval mode without touching any random state: it never changes what training computes.

Cancelling means closing the generator (or no longer iterating it). Records are yielded only between
writes, and the model and checkpoint directories are replaced atomically, so a cancelled run leaves
the last complete checkpoint and best model as they were, and no temporary files.
:mod:`engine.train_process` runs this generator in a child process, for a front end (the GUI) whose
own threads must not wait on training.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from engine import checkpoint
from engine.analyze import Analysis, analyze, read_document
from engine.atomic import WriteError
from engine.batching import (
    EncodedDoc,
    LengthLimits,
    Truncation,
    bucket_batches,
    choose_limits,
    collate,
    count_truncation,
)
from engine.bundle import ModelBundle, save_bundle
from engine.data import Dataset, load_dataset
from engine.distill import DataRows, check_teachers, distill_loss, parse_teachers, teacher_targets
from engine.judgements import JudgementPool, build_pool, judgement_documents
from engine.lexicon import (
    Lexicon,
    LexiconError,
    Retrofit,
    check_lexicon,
    load_lexicon,
    plan_retrofit,
    valence_loss,
)
from engine.model import HAN, HANConfig
from engine.negate import Candidate, NegationWords, find_candidates, negate_documents
from engine.preprocess import encode_words
from engine.runs import check_run_dir
from engine.splice import splice_documents
from engine.train_config import TrainConfig
from engine.vocab import Vocab
from engine.word2vec import train_word2vec
from engine.word_cache import cached_words

__all__ = ["Diverged", "Progress", "TrainConfig", "evaluate_docs", "resolve_device", "split_dev", "train"]


@dataclass(frozen=True)
class Progress:
    """One record of a training run. ``kind``: "setup", "step", "eval" or "done"."""

    kind: str
    step: int = 0
    epoch: int = 0
    total_steps: int = 0
    loss: float | None = None
    dev_accuracy: float | None = None
    best_dev_accuracy: float | None = None
    docs_per_s: float | None = None
    lr: float | None = None
    elapsed_s: float = 0.0
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def split_dev(labels: tuple[int, ...], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified split of indices into (train, dev), seeded."""
    rng = np.random.default_rng(seed)
    lab = np.asarray(labels)
    train_idx, dev_idx = [], []
    for c in np.unique(lab):
        idx = rng.permutation(np.flatnonzero(lab == c))
        n_dev = round(len(idx) * fraction)
        dev_idx += idx[:n_dev].tolist()
        train_idx += idx[n_dev:].tolist()
    return sorted(train_idx), sorted(dev_idx)


@dataclass(frozen=True)
class _Negation:
    """What :func:`engine.negate.negate_documents` needs each epoch: ``n`` documents from ``candidates``."""

    n: int
    candidates: list[Candidate]
    positive: int
    negative: int
    negator: int


@dataclass(frozen=True)
class _Judgements:
    """What :func:`engine.judgements.judgement_documents` needs each epoch: ``n`` documents from ``pool``."""

    n: int
    pool: JudgementPool
    positive: int
    negative: int


JUDGEMENT_POOL = 20000  # written judgements drawn once per run (engine.judgements), half of each polarity


@dataclass
class _Prepared:
    dataset: Dataset
    vocab: Vocab
    limits: LengthLimits
    train_docs: list[EncodedDoc]
    train_labels: list[int]
    dev_docs: list[EncodedDoc]
    dev_labels: list[int]
    dropped_empty: int
    train_index: list[int]  # the dataset rows of train_docs


def _prepare(
    cfg: TrainConfig, vocab: Vocab | None, limits: LengthLimits | None
) -> Iterator[Progress | _Prepared]:
    ds = load_dataset(cfg.data, cfg.format, limit=cfg.limit)
    yield Progress("setup", message=f"read {len(ds)} documents ({ds.format}) from {cfg.data}")
    if ds.skipped:
        yield Progress("setup", message=ds.skipped_summary())
    if len(set(ds.labels)) < 2:
        raise ValueError(
            f"training data has a single class {ds.label_names[ds.labels[0]]!r}; need at least 2"
        )
    train_idx, dev_idx = split_dev(ds.labels, cfg.dev_fraction, cfg.seed)
    if not dev_idx or not train_idx:
        raise ValueError(f"dataset of {len(ds)} rows is too small for a dev split of {cfg.dev_fraction}")
    yield Progress("setup", message=f"tokenizing {len(ds)} documents")
    words, note = cached_words(ds, cfg.cache_dir, cfg.workers)
    if note:
        yield Progress("setup", message=note)
    if vocab is None:
        vocab = Vocab.build((words[i] for i in train_idx), cfg.min_count, cfg.max_vocab)
    encoded = encode_words(words, vocab)
    keep = [i for i in range(len(ds)) if any(encoded[i])]
    dropped = len(ds) - len(keep)
    kept = set(keep)
    train_idx = [i for i in train_idx if i in kept]
    dev_idx = [i for i in dev_idx if i in kept]
    if limits is None:
        limits = choose_limits([encoded[i] for i in train_idx], cfg.word_quantile, cfg.sentence_quantile)
    yield _Prepared(
        ds,
        vocab,
        limits,
        [encoded[i] for i in train_idx],
        [ds.labels[i] for i in train_idx],
        [encoded[i] for i in dev_idx],
        [ds.labels[i] for i in dev_idx],
        dropped,
        train_idx,
    )


@torch.no_grad()
def evaluate_docs(
    model: nn.Module,
    docs: list[EncodedDoc],
    labels: list[int],
    device: torch.device,
    limits: LengthLimits | None = None,
    batch_size: int = 128,
) -> tuple[int, int]:
    """(correct, total) over ``docs``; batches by length for speed."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(docs)), key=lambda i: sum(map(len, docs[i])))
    correct = 0
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        ids, _ = collate([docs[i] for i in idx], limits)
        pred = model(ids.to(device)).logits.argmax(-1).cpu()
        correct += int((pred == torch.tensor([labels[i] for i in idx])).sum())
    model.train(was_training)
    return correct, len(docs)


def _lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    if cfg.lr_schedule == "constant" or total <= 0:
        return cfg.lr
    warm = max(1, total // 100)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def _weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class _Dist:
    """Rank, world size and the collective calls we need; a no-op outside torchrun."""

    def __init__(self, device_name: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = resolve_device(device_name)
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        self.device = device
        self.owns_group = False
        if self.world > 1 and not dist.is_initialized():
            if device.type == "cuda":
                dist.init_process_group("nccl", device_id=device)
            else:
                dist.init_process_group("gloo")
            self.owns_group = True

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, *values: float) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.world > 1:
            dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group:
            dist.destroy_process_group()


def _model_metadata(
    cfg: TrainConfig,
    prep: _Prepared,
    state: checkpoint.TrainState,
    trunc: Truncation,
    augmentation: dict[str, int],
) -> dict[str, Any]:
    ds = prep.dataset
    return {
        "dataset": {
            "path": cfg.data,
            "format": ds.format,
            "sha256": ds.sha256,
            "rows": len(ds),
            "skipped_rows": len(ds.skipped),
            "empty_documents": prep.dropped_empty,
            "train_documents": len(prep.train_docs),
            "dev_documents": len(prep.dev_docs),
            "class_counts": ds.class_counts(),
        },
        "dev_accuracy": state.best_dev_accuracy,
        "best_epoch": state.best_epoch,
        "test_accuracy": None,
        "command": cfg.command,
        "train_config": asdict(cfg),
        "truncation_in_training": asdict(trunc),
        "augmentation": augmentation,
        "torch_version": torch.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _init_embedding(
    cfg: TrainConfig, model: HAN, prep: _Prepared, device: torch.device
) -> Iterator[Progress]:
    if cfg.word2vec_epochs <= 0:
        return
    vectors = None
    for epoch, loss, vec in train_word2vec(
        prep.train_docs, len(prep.vocab), cfg.embed_dim, cfg.word2vec_epochs, seed=cfg.run_seed, device=device
    ):
        vectors = vec
        if vec is None:
            yield Progress("setup", message=f"word2vec epoch {epoch}/{cfg.word2vec_epochs}: loss {loss:.4f}")
    assert vectors is not None
    vectors = vectors.to(model.embedding.weight.device)
    with torch.no_grad():
        # word2vec vectors are tiny (init 0.5/dim); rescale to the embedding's usual spread
        scale = model.embedding.weight[2:].std() / vectors[2:].std().clamp(min=1e-8)
        model.embedding.weight[2:] = vectors[2:] * scale


def _init_from_model(directory: str, model: HAN, prep: _Prepared) -> dict[str, Any]:
    """Copy the weights of the model in ``directory`` into ``model`` (fine-tuning).

    The model must read words as this run does: the same vocabulary, word for word (it is built from
    the training split, so the same data, dev split and vocabulary settings give the same one), the
    same label names, and the same sizes. Anything else raises ``ValueError`` naming what differs.
    Returns what the new model's record keeps of its origin (``init_model`` in its model.json): the
    folder, its weights' SHA-256, and its own record's command and test accuracy.
    """
    from engine.bundle import ModelError, load_bundle

    try:
        start = load_bundle(directory, "cpu")
    except ModelError as e:
        raise ValueError(f"cannot start from {directory}: {e}") from None
    if start.vocab.itos != prep.vocab.itos:
        raise ValueError(
            f"cannot start from {directory}: its vocabulary ({len(start.vocab)} words) is not the one "
            f"this run builds ({len(prep.vocab)} words); train on the same data with the same --seed, "
            "--dev-fraction, --min-count and --max-vocab"
        )
    if list(start.label_names) != list(prep.dataset.label_names):
        raise ValueError(
            f"cannot start from {directory}: its classes ({', '.join(start.label_names)}) are not this "
            f"data's ({', '.join(prep.dataset.label_names)})"
        )
    mine = model.state_dict()
    theirs = start.model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in theirs.items()}
    if shapes != {k: tuple(v.shape) for k, v in mine.items()}:
        raise ValueError(
            f"cannot start from {directory}: its sizes differ from this run's (--embed-dim, --word-hidden, "
            "--sentence-hidden)"
        )
    with torch.no_grad():
        for k, v in theirs.items():
            mine[k].copy_(v.to(mine[k].dtype))
    weights = Path(directory) / "model.safetensors"
    return {
        "path": str(directory),
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "command": start.metadata.get("command"),
        "test_accuracy": start.metadata.get("test_accuracy"),
    }


def train(cfg: TrainConfig, probe: str | None = None) -> Generator[Progress, None, None]:
    """Run training; yields progress records. See the module docstring.

    ``probe``: a review to re-score at each evaluation (None or blank: none). A text without a word
    raises :class:`~engine.analyze.InputError` before any data is read.
    """
    probe = probe if probe is not None and probe.strip() else None
    if probe is not None:
        read_document(probe)
    out = _writable(check_run_dir(cfg.out, cfg.resume, cfg.force))
    dd = _Dist(cfg.device)
    try:
        yield from _train(cfg, out, dd, probe)
    finally:
        dd.close()


def _writable(out: Path) -> Path:
    """Create ``out``; :class:`~engine.atomic.WriteError` now rather than after hours of training."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(out, e) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise WriteError(out, "the folder is read-only")
    return out


def _score_probe(model: HAN, prep: _Prepared, text: str | None) -> dict[str, Analysis]:
    """``{"probe": Analysis}`` of ``text`` by the model as it is now (eval mode), or ``{}``."""
    if text is None:
        return {}
    was_training = model.training
    model.eval()
    try:
        bundle = ModelBundle(model, prep.vocab, prep.dataset.label_names, prep.limits)
        return {"probe": analyze(bundle, text)}
    finally:
        model.train(was_training)


def _train(cfg: TrainConfig, out: Path, dd: _Dist, probe: str | None = None) -> Iterator[Progress]:
    if cfg.lexicon_weight > 0 or cfg.lexicon_retrofit_rank > 0:
        check_lexicon()  # before minutes of tokenizing and word2vec
    check_teachers(cfg.distill_from)  # the same
    resumed = checkpoint.load(out / "checkpoint", cfg) if cfg.resume else None
    prep: _Prepared | None = None
    for item in _prepare(cfg, resumed.vocab if resumed else None, resumed.limits if resumed else None):
        if isinstance(item, _Prepared):
            prep = item
        elif dd.main:
            yield item
    assert prep is not None
    if resumed and resumed.data_sha256 != prep.dataset.sha256:
        raise ValueError("cannot resume: the dataset changed since the checkpoint was written")
    torch.manual_seed(cfg.run_seed)
    mcfg = HANConfig(
        len(prep.vocab),
        len(prep.dataset.label_names),
        cfg.embed_dim,
        cfg.word_hidden,
        cfg.sentence_hidden,
        2 * cfg.word_hidden,
        2 * cfg.sentence_hidden,
        cfg.dropout,
        cfg.embed_dropout,
    )
    model = HAN(mcfg).to(dd.device)
    started: dict[str, Any] | None = None
    if cfg.init_model:  # checked again on resume: the checkpoint holds the weights, the record the origin
        started = _init_from_model(cfg.init_model, model if not resumed else HAN(mcfg), prep)
    if not resumed and not cfg.init_model:
        for p in _init_embedding(cfg, model, prep, dd.device):
            if dd.main:
                yield p
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # --ema-decay: an average of the weights, updated after each step, is what dev sees and what is saved;
    # it starts as a copy at the first step (n_averaged 0), and training itself never reads it
    ema = (
        AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        if cfg.ema_decay > 0
        else None
    )
    state = checkpoint.TrainState()
    if resumed:
        checkpoint.restore(resumed, model, opt, ema)
        state = resumed.state
    judged = cast(HAN, ema.module) if ema is not None else model
    net: nn.Module = DistributedDataParallel(model) if dd.world > 1 else model
    lengths = [sum(map(len, d)) for d in prep.train_docs]
    n_spliced = round(cfg.splice_fraction * len(prep.train_docs))
    negation, negation_note = _plan_negation(cfg, prep)
    n_negated = negation.n if negation else 0
    judgements, judgement_note = _plan_judgements(cfg, prep)
    n_judged = judgements.n if judgements else 0
    lexicon, lexicon_note = _plan_lexicon(cfg, prep, dd.device)
    augmentation = {
        "spliced_per_epoch": n_spliced,
        "negated_per_epoch": n_negated,
        "negation_candidates": len(negation.candidates) if negation else 0,
        "judgements_per_epoch": n_judged,
        "judgement_pool": len(judgements.pool) if judgements else 0,
    }
    # the number of batches depends only on the number of documents, not on their lengths
    n_extra = n_spliced + n_negated + n_judged
    n_batches = (
        len(bucket_batches([0] * (len(lengths) + n_extra), cfg.batch_size, np.random.default_rng(0)))
        // dd.world
    )
    total = n_batches * cfg.epochs
    log = _RankLog(out, dd.rank, cfg.resume)
    if dd.main:
        yield Progress(
            "setup",
            total_steps=total,
            message=(
                f"{len(prep.train_docs)} train / {len(prep.dev_docs)} dev documents, vocabulary "
                f"{len(prep.vocab)}, limits {prep.limits.max_sentences} sentences x {prep.limits.max_words} "
                f"words (quantiles {cfg.sentence_quantile}/{cfg.word_quantile}), device {dd.device}"
                + (f", {dd.world} ranks" if dd.world > 1 else "")
                + (f", {n_spliced} spliced reviews per epoch" if n_spliced else "")
                + negation_note
                + judgement_note
                + lexicon_note
            ),
            extra={
                "limits": asdict(prep.limits),
                "vocab_size": len(prep.vocab),
                "train_documents": len(prep.train_docs),
                "dev_documents": len(prep.dev_docs),
                **_score_probe(model, prep, probe),
            },
        )
    if lexicon is not None and lexicon.retrofit is not None and not resumed:
        lexicon.retrofit.apply(model.embedding.weight)  # from the first step (after word2vec or --init-model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    labels_all = torch.tensor(prep.train_labels)
    teachers = None
    if cfg.distill_from:  # every rank scores the same reviews the same way (no communication needed)
        paths = parse_teachers(cfg.distill_from)
        if dd.main:
            what = f"{len(prep.train_docs)} training reviews with {len(paths)} teacher(s)"
            yield Progress("setup", message=f"scoring {what}")
        teachers = teacher_targets(
            paths,
            [prep.dataset.texts[i] for i in prep.train_index],
            prep.train_labels,
            prep.dataset.label_names,
            cfg.distill_temperature,
            dd.device,
            cfg.workers,
            DataRows(prep.dataset.sha256, len(prep.dataset), prep.train_index),
        )
        if dd.main:
            yield Progress(
                "setup",
                message=f"teachers agree with {teachers.record['ensemble_train_accuracy']:.4f} of the "
                "training split's labels",
            )
    t_start = time.perf_counter()
    trunc_total = count_truncation(prep.train_docs, prep.limits)
    while state.epoch < cfg.epochs and state.bad_epochs < cfg.patience:
        epoch = state.epoch
        docs, labels, doc_lengths = _epoch_documents(
            cfg, prep, epoch, n_spliced, negation, labels_all, lengths, judgements
        )
        batches = bucket_batches(doc_lengths, cfg.batch_size, np.random.default_rng([cfg.run_seed, epoch]))
        mine = batches[dd.rank :: dd.world][:n_batches]
        freeze = epoch < cfg.freeze_embedding_epochs
        model.embedding.weight.requires_grad_(not freeze)
        net.train()
        t0, docs_seen, loss_sum, lexicon_sum = time.perf_counter(), 0, 0.0, 0.0
        for b in range(state.step_in_epoch, len(mine)):
            idx = mine[b]
            ids, _ = collate([docs[i] for i in idx], prep.limits)
            lr = _lr_at(cfg, state.step, total)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = net(ids.to(dd.device)).logits
            if teachers is None:
                loss = loss_fn(logits, labels[idx].to(dd.device))
            else:  # rows past the training split are the run's own writing: labels only
                rows = torch.as_tensor(idx)
                taught = rows < len(prep.train_docs)
                loss = distill_loss(
                    logits,
                    labels[idx].to(dd.device),
                    teachers.targets[rows.clamp_max(len(prep.train_docs) - 1)].to(dd.device),
                    taught.to(dd.device),
                    cfg.distill_weight,
                    cfg.distill_temperature,
                    cfg.label_smoothing,
                )
            total_loss = loss
            if lexicon is not None and lexicon.weight > 0 and not freeze:  # the same on every rank
                lexicon_loss = valence_loss(model.embedding.weight, *lexicon.tensors)
                total_loss = loss + cfg.lexicon_weight * lexicon_loss
                lexicon_sum += lexicon_loss.item()
            opt.zero_grad(set_to_none=True)
            total_loss.backward()
            # the norm is taken after DDP's all-reduce: every rank sees the same value and stops together
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            loss_value = loss.item()
            if not (math.isfinite(loss_value) and math.isfinite(float(grad_norm))):
                raise Diverged(_diverged(cfg, out, state, epoch, loss_value, float(grad_norm)))
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            state.step += 1
            state.step_in_epoch = b + 1
            docs_seen += len(idx)
            loss_sum += loss_value
            rate = docs_seen * dd.world / max(time.perf_counter() - t0, 1e-9)
            rec = Progress(
                "step",
                state.step,
                epoch + 1,
                total,
                loss_value,
                None,
                state.best_dev_accuracy,
                rate,
                lr,
                time.perf_counter() - t_start,
            )
            log.write(rec)
            if dd.main:
                yield rec
            if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                _save_checkpoint(cfg, out, dd, model, opt, state, prep, ema)
        if lexicon is not None and lexicon.retrofit is not None:  # identical weights, identical result
            lexicon.retrofit.apply(model.embedding.weight)
            if ema is not None:
                lexicon.retrofit.apply(judged.embedding.weight)
        correct, n = dd.sum(
            *evaluate_docs(
                judged, prep.dev_docs[dd.rank :: dd.world], prep.dev_labels[dd.rank :: dd.world], dd.device
            )
        )
        dev_acc = correct / max(n, 1)
        state.epoch, state.step_in_epoch = epoch + 1, 0
        state.history.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(len(mine), 1),
                **(
                    {"lexicon_loss": lexicon_sum / max(len(mine), 1)}
                    if lexicon and lexicon.weight > 0
                    else {}
                ),
                "dev_accuracy": dev_acc,
                "seconds": time.perf_counter() - t0,
            }
        )
        if not (_finite_weights(model) and _finite_weights(judged)):
            raise Diverged(_diverged(cfg, out, state, epoch, math.nan, math.nan))
        if dev_acc > (state.best_dev_accuracy or -1.0):
            state.best_dev_accuracy, state.best_epoch, state.bad_epochs = dev_acc, epoch + 1, 0
            if dd.main:
                bundle = ModelBundle(judged, prep.vocab, prep.dataset.label_names, prep.limits)
                bundle.metadata = _model_metadata(cfg, prep, state, trunc_total, augmentation)
                bundle.metadata["history"] = state.history
                if started is not None:
                    bundle.metadata["init_model"] = started
                if lexicon is not None:
                    bundle.metadata["lexicon"] = lexicon.record()
                if teachers is not None:
                    bundle.metadata["distillation"] = {"weight": cfg.distill_weight, **teachers.record}
                save_bundle(bundle, out / "model", cfg.embedding_dtype)
        else:
            state.bad_epochs += 1
        _save_checkpoint(cfg, out, dd, model, opt, state, prep, ema)
        rec = Progress(
            "eval",
            state.step,
            epoch + 1,
            total,
            loss_sum / max(len(mine), 1),
            dev_acc,
            state.best_dev_accuracy,
            docs_seen * dd.world / (time.perf_counter() - t0),
            None,
            time.perf_counter() - t_start,
            message=f"epoch {epoch + 1}: dev accuracy {dev_acc:.4f}",
            extra=_score_probe(judged, prep, probe) if dd.main else {},
        )
        log.write(rec)
        if dd.main:
            yield rec
    done = Progress(
        "done",
        state.step,
        state.epoch,
        total,
        None,
        None,
        state.best_dev_accuracy,
        None,
        None,
        time.perf_counter() - t_start,
        message=f"best dev accuracy {state.best_dev_accuracy:.4f} at epoch {state.best_epoch}; "
        f"model in {out / 'model'}",
        extra={
            "weights_sha256": _weights_digest(model),
            **({"ema_weights_sha256": _weights_digest(judged)} if ema is not None else {}),
            "rank": dd.rank,
            "world": dd.world,
            "model_dir": str(out / "model"),
            "history": state.history,
        },
    )
    log.write(done)
    yield done


def _epoch_documents(
    cfg: TrainConfig,
    prep: _Prepared,
    epoch: int,
    n_spliced: int,
    negation: _Negation | None,
    labels: torch.Tensor,
    lengths: list[int],
    judgements: _Judgements | None = None,
) -> tuple[list[EncodedDoc], torch.Tensor, list[int]]:
    """An epoch's documents, labels and lengths: the training split, its spliced reviews, its
    negated ones, then those ending in a written judgement.

    Spliced reviews (:mod:`engine.splice`), negated ones (:mod:`engine.negate`) and judged ones
    (:mod:`engine.judgements`, from a pool written once per run) are drawn afresh each epoch, from
    the training split only, by generators seeded with (seed, epoch): every rank and a resumed run
    draw the same ones.
    """
    extra: list[EncodedDoc] = []
    extra_labels: list[int] = []
    if n_spliced:
        rng = np.random.default_rng([cfg.run_seed, epoch, 1])
        more, more_labels = splice_documents(
            prep.train_docs, prep.train_labels, n_spliced, rng, cfg.splice_sentences
        )
        extra += more
        extra_labels += more_labels
    if negation:
        rng = np.random.default_rng([cfg.run_seed, epoch, 2])
        more, more_labels = negate_documents(
            prep.train_docs,
            prep.train_labels,
            negation.candidates,
            negation.n,
            rng,
            negation.positive,
            negation.negative,
            negation.negator,
            cfg.splice_sentences,
        )
        extra += more
        extra_labels += more_labels
    if judgements:
        rng = np.random.default_rng([cfg.run_seed, epoch, 3])
        more, more_labels = judgement_documents(
            prep.train_docs,
            prep.train_labels,
            judgements.pool,
            judgements.n,
            rng,
            judgements.positive,
            judgements.negative,
            cfg.splice_sentences,
            cfg.judgement_turn_share,
        )
        extra += more
        extra_labels += more_labels
    if not extra:
        return prep.train_docs, labels, lengths
    return (
        prep.train_docs + extra,
        torch.cat([labels, torch.tensor(extra_labels, dtype=labels.dtype)]),
        lengths + [sum(map(len, d)) for d in extra],
    )


def _plan_negation(cfg: TrainConfig, prep: _Prepared) -> tuple[_Negation | None, str]:
    """The negated reviews each epoch adds (None: none) and what the setup line says about them.

    Candidates are found once, in the training split; they need classes named "pos" and "neg", "not"
    in the vocabulary, and a candidate of each polarity, else there are none and the note says why.
    """
    n = round(cfg.negate_fraction * len(prep.train_docs))
    if not n:
        return None, ""
    names = prep.dataset.label_names
    if "pos" not in names or "neg" not in names:
        return None, f", no negated reviews: the classes are not pos and neg ({', '.join(names)})"
    words = NegationWords.from_vocab(prep.vocab)
    candidates = find_candidates(prep.train_docs, words)
    n_pos = sum(1 for c in candidates if c.polarity > 0)
    n_neg = len(candidates) - n_pos
    if words is None or not n_pos or not n_neg:
        return None, (
            f", no negated reviews: the training split has {n_pos} negatable sentences with a positive "
            f"adjective and {n_neg} with a negative one (both are needed)"
        )
    negation = _Negation(n, candidates, names.index("pos"), names.index("neg"), words.negator)
    return negation, (
        f", {n} negated reviews per epoch (from {len(candidates)} negatable sentences: "
        f"{n_pos} positive, {n_neg} negative)"
    )


@dataclass(frozen=True)
class _LexiconTerm:
    lexicon: Lexicon
    tensors: tuple[torch.Tensor, torch.Tensor]  # ids (N,), values (N,) on the training device
    weight: float  # of the valence term (0: none)
    retrofit: Retrofit | None

    def record(self) -> dict[str, object]:
        return (
            self.lexicon.record()
            | {"weight": self.weight}
            | (self.retrofit.record() if self.retrofit else {})
        )


def _plan_lexicon(cfg: TrainConfig, prep: _Prepared, device: torch.device) -> tuple[_LexiconTerm | None, str]:
    """The valence term of ``--lexicon-weight`` and the retrofit of ``--lexicon-retrofit-rank`` (None:
    neither) and the setup line's note."""
    if cfg.lexicon_weight <= 0 and cfg.lexicon_retrofit_rank <= 0:
        return None, ""
    lex = load_lexicon(prep.vocab)
    if len(lex.ids) < 2:
        raise LexiconError(f"the vocabulary has {len(lex.ids)} of the lexicon's words")
    retrofit = plan_retrofit(lex, cfg.lexicon_retrofit_rank) if cfg.lexicon_retrofit_rank > 0 else None
    ids = torch.from_numpy(lex.ids).to(device)
    values = torch.from_numpy(lex.values).to(device)
    notes = []
    if cfg.lexicon_weight > 0:
        notes.append(f"valence of {len(lex.ids)} lexicon words at weight {cfg.lexicon_weight:g}")
    if retrofit is not None:
        notes.append(f"{len(retrofit.targets)} rare rated words retrofitted (id >= {retrofit.rank})")
    return _LexiconTerm(
        lex, (ids, values), cfg.lexicon_weight, retrofit
    ), f", {', '.join(notes)} ({lex.source})"


def _plan_judgements(cfg: TrainConfig, prep: _Prepared) -> tuple[_Judgements | None, str]:
    """The reviews ending in a written judgement each epoch adds (None: none) and the setup line's note.

    They need classes named "pos" and "neg"; the pool is written once, seeded by the run's seed, and
    keeps only judgements whose every word is in the vocabulary.
    """
    n = round(cfg.judgement_fraction * len(prep.train_docs))
    if not n:
        return None, ""
    names = prep.dataset.label_names
    if "pos" not in names or "neg" not in names:
        return None, f", no written judgements: the classes are not pos and neg ({', '.join(names)})"
    pool = build_pool(
        prep.vocab,
        JUDGEMENT_POOL,
        cfg.run_seed,
        cfg.workers,
        cfg.judgement_temporal_share,
        opener_share=cfg.judgement_opener_share,
        title_share=cfg.judgement_title_share,
    )
    if not all(pool.docs.values()):
        return None, ", no written judgements: the vocabulary lacks their words"
    return _Judgements(n, pool, names.index("pos"), names.index("neg")), (
        f", {n} reviews ending in a written judgement per epoch (from {len(pool)} judgements)"
    )


class Diverged(ValueError):
    """Training stopped because the loss or the weights stopped being finite numbers."""


def _finite_weights(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _diverged(
    cfg: TrainConfig, out: Path, state: checkpoint.TrainState, epoch: int, loss: float, grad_norm: float
) -> str:
    what = (
        f"the loss became {loss}"
        if not math.isfinite(loss)
        else f"the gradient norm became {grad_norm}"
        if not math.isfinite(grad_norm)
        else "the weights became NaN or infinite"
    )
    kept = (
        f"the last good model is in {out / 'model'} (dev accuracy {state.best_dev_accuracy:.4f})"
        if state.best_dev_accuracy is not None
        else "no model was saved"
    )
    return (
        f"training stopped at step {state.step + 1} (epoch {epoch + 1}): {what}; {kept}; "
        f"try a lower --lr (now {cfg.lr:g}) or --clip"
    )


def _save_checkpoint(
    cfg: TrainConfig,
    out: Path,
    dd: _Dist,
    model: HAN,
    opt: torch.optim.Optimizer,
    state: checkpoint.TrainState,
    prep: _Prepared,
    ema: nn.Module | None = None,
) -> None:
    if dd.main:
        checkpoint.save(
            out / "checkpoint", cfg, model, opt, state, prep.vocab, prep.limits, prep.dataset.sha256, ema
        )
    dd.barrier()


class _RankLog:
    """Progress records as JSON lines in ``out/logs/rank{r}.jsonl`` (one file per rank).

    Opened per record, so a cancelled run (generator closed mid-way) leaves no open file behind.
    """

    def __init__(self, out: Path, rank: int, append: bool) -> None:
        (out / "logs").mkdir(parents=True, exist_ok=True)
        self._path = out / "logs" / f"rank{rank}.jsonl"
        if not append:
            self._path.write_text("", encoding="utf-8")

    def write(self, rec: Progress) -> None:
        with self._path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(rec)) + "\n")
