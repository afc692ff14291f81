"""The ``han-explorer`` command: ``train``, ``evaluate``, ``predict``, ``explain``, ``gru-trace``, ``conv``,
``check``.

Nothing here imports Qt, so training and evaluation run on machines without a display or Qt
(a GPU box, under torchrun, in CI). Bad input prints one clear line and exits with status 2.

Building the parser is cheap, and must stay so: ``--help``, ``--version`` and every argument error
answer before torch, numpy or Qt is imported (``import torch`` alone takes over a second;
tests/app/test_cli_imports.py guards it). The rule for every command module (``app/cli_*.py``):

- its module level imports only the standard library and :mod:`app.cli`;
- its ``add_parser(sub)`` registers the command without importing torch, numpy or an engine module
  that does; the engine is imported inside the function that runs the command;
- options that quote engine constants go in a function passed as ``arguments=`` to
  ``sub.add_parser``: it runs only when that command is parsed (:class:`CommandParser`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_USAGE = 2


class UserError(Exception):
    """A problem with what the user gave us; printed as one line, exit status 2."""


class CommandParser(argparse.ArgumentParser):
    """A command's parser whose options may be added on first use: ``arguments(parser)`` runs only
    when this command is parsed, so ``han-explorer --help`` never pays for its imports."""

    def __init__(
        self, *args: Any, arguments: Callable[[argparse.ArgumentParser], None] | None = None, **kw: Any
    ):
        super().__init__(*args, **kw)
        self._arguments = arguments

    def _fill(self) -> None:
        if self._arguments is not None:
            add, self._arguments = self._arguments, None
            add(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._fill()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._fill()
        return super().format_help()


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib import metadata

        try:
            version = metadata.version("han-explorer")
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        print(f"han-explorer {version}")
        parser.exit()


# What each training setting does (TrainConfig's fields); the default is appended from TrainConfig.
TRAIN_HELP = {
    "epochs": "passes over the training split",
    "batch_size": "documents per optimizer step",
    "lr": "Adam's learning rate",
    "lr_schedule": "cosine: decay to 5%% of --lr over all epochs; constant: keep --lr",
    "weight_decay": "AdamW weight decay (0 = none)",
    "clip": "clip the gradient norm to this (GRUs occasionally spike)",
    "dev_fraction": "share of the training data held out to choose the best epoch",
    "patience": "stop after this many epochs without a better dev accuracy",
    "seed": "random seed of the split, initialisation and batches",
    "init_seed": "seed of everything but the dev split (initialisation, word2vec, batches, splicing, "
    "negation), to compare runs on the same dev split (default: --seed)",
    "min_count": "words seen fewer times become <unk>",
    "max_vocab": "keep at most this many words (the most frequent)",
    "word_quantile": "sentences are cut to this quantile of sentence lengths, in words",
    "sentence_quantile": "documents are cut to this quantile of document lengths, in sentences",
    "embed_dim": "size of a word vector",
    "word_hidden": "units of the word GRU in each direction",
    "sentence_hidden": "units of the sentence GRU in each direction",
    "dropout": "dropout before the classifier",
    "embed_dropout": "whole embedding features dropped per sentence while training",
    "word2vec_epochs": "start the embedding from word2vec trained this many epochs on the training "
    "text (0 = random start)",
    "freeze_embedding_epochs": "keep the embedding fixed for this many first epochs",
    "label_smoothing": "spread this share of each target over all classes (0 = plain cross-entropy)",
    "ema_decay": "evaluate on dev, and save, an exponential moving average of the weights, updated after "
    "every step as avg = decay * avg + (1 - decay) * weights. The steps are unchanged; the epoch kept, and "
    "when --patience stops the run, follow the average's dev accuracy (0 = off, the weights themselves; "
    "0.998: an average over the last 500 or so steps)",
    "splice_fraction": "each epoch, add this share (of the training split) of spliced reviews: the body of "
    "one training review, then the last 1-2 sentences of a review of the other class, labelled by those",
    "splice_sentences": "a spliced review's body has 1 to this many sentences",
    "negate_fraction": "each epoch, add this share (of the training split) of reviews ending in a training "
    "sentence negated with 'not' (\"it was not predictable\"), labelled by its flipped polarity, after "
    "1 to --splice-sentences sentences of a review of the other class or alone",
    "judgement_fraction": "each epoch, add this share (of the training split) of reviews ending in a "
    'judgement written from templates (negated: "it is far from a fiasco", plain, or changed over time: '
    '"I used to mock it, but now I praise it"), labelled by its meaning, after 1 to --splice-sentences '
    "sentences of a review of the other class or alone",
    "judgement_turn_share": "of the reviews with a written judgement and a body, the share whose body is "
    "of the other class (the rest: of the judgement's own class)",
    "judgement_temporal_share": 'of the written judgements, the share that changed over time ("I used to '
    'mock it, but now I praise it"; the rest: negated and plain, 55 : 25)',
    "judgement_opener_share": "of the written judgements, the share that open with a phrase such as "
    '"Frankly," or "In all honesty," which must leave the verdict alone',
    "judgement_title_share": 'of the written judgements, the share that name a made-up title ("I used to '
    'mock The Amber Canal, but now I praise it") where the rest say "it": a title must leave the verdict '
    "alone",
    "lexicon_weight": "weight of a training term asking that each word of a published sentiment lexicon "
    "(VADER: 'loathe' -2.2 of 4) carry its rated valence along one direction of the embedding, so that "
    "words the reviews rarely use are read like those they do (0 = off; needs the vaderSentiment package)",
    "lexicon_retrofit_rank": "set each lexicon-rated word with a vocabulary id of at least this (the "
    "vocabulary is in order of frequency: the words the reviews hardly train) to the mean vector of the 10 "
    "more frequent rated words nearest its rating, at the start and after every epoch (0 = off; needs the "
    "vaderSentiment package)",
    "distill_from": "distil from these trained model folders (comma-separated; the teachers): each scores "
    "every review of the training split once, before the first step, and on those reviews the loss mixes "
    "the label with the teachers' mean softmax(logits / --distill-temperature) as (1 - --distill-weight) : "
    "--distill-weight; reviews the run writes itself (spliced, negated, judged) keep their labels. A "
    "teacher needs this data's classes; its vocabulary may differ",
    "distill_weight": "with --distill-from: the teachers' share of the loss on the training split's "
    "reviews (1 = their targets only, 0 = the labels only)",
    "distill_temperature": "with --distill-from: teachers' and student's logits are divided by this "
    "before the softmax, and the teachers' term is multiplied by its square",
    "init_model": "start from this model folder's weights instead of word2vec and a random start "
    "(fine-tuning): it must have been trained with the vocabulary this run builds (same data, dev split "
    "and vocabulary settings) and the same sizes",
    "embedding_dtype": "how the saved embedding is stored (float16 halves the largest tensor)",
    "checkpoint_every": "save a checkpoint every N steps (0 = at the end of each epoch only)",
    "limit": "use only the first N rows of the data (quick runs)",
    "workers": "tokenizer processes (default: one per core)",
    "cache_dir": "keep the tokenized text in this folder, keyed by the data's hash, for the next run",
}
TRAIN_CHOICES = {"lr_schedule": ["cosine", "constant"], "embedding_dtype": ["float32", "float16"]}
FORMAT_HELP = "how to read --data (auto: by its name; aclimdb: the unpacked IMDB folder)"
DEVICE_HELP = "where to compute: auto (a GPU when there is one), cpu, cuda or cuda:N (the N-th GPU)"
DEVICES = "{auto,cpu,cuda,cuda:N}"  # a metavar, not choices: the engine checks it, in one line


def _add_train(sub: argparse._SubParsersAction) -> None:
    from engine.train_config import TrainConfig  # no torch: engine.train imports it at run time

    p = sub.add_parser("train", help="train a HAN on a labelled dataset")
    p.add_argument("--data", required=True, help="dataset file or folder")
    p.add_argument(
        "--format", default="auto", choices=["auto", "jsonl", "csv", "aclimdb", "yelp"], help=FORMAT_HELP
    )
    p.add_argument("--out", default="runs/han", help="output folder (model/, checkpoint/, logs/)")
    p.add_argument("--device", default="auto", metavar=DEVICES, help=DEVICE_HELP)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in OUT (without it, training refuses to overwrite one)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    skip = {"data", "format", "out", "device", "resume", "command", "force"}
    for f in fields(TrainConfig):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float, "str": str, "int | None": int}.get(str(f.type), str)
        what = TRAIN_HELP.get(f.name, f.name.replace("_", " "))
        p.add_argument(
            flag,
            type=kind,
            default=None,
            choices=TRAIN_CHOICES.get(f.name),
            metavar=None if f.name in TRAIN_CHOICES else f.name.upper(),
            help=f"{what} (default: {f.default})",
        )


def _parser() -> argparse.ArgumentParser:
    from app import cli_dataset
    from app.explorers import explorer_names

    p = argparse.ArgumentParser(
        prog="han-explorer",
        description="Learn how hierarchical attention networks, GRUs and tiled GPU convolutions work:\n"
        "the desktop app, or one of the commands below ('han-explorer COMMAND --help' tells more).",
        epilog="With no command, the desktop app opens (on the shipped model, or the last one used).\n\n"
        + _examples(EXAMPLES["app"]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version, help="print the version and exit")
    g = p.add_argument_group("desktop app (no command)")
    g.add_argument(
        "--screenshot",
        metavar="OUT",
        help="render the window offscreen at 1366x768 to OUT and exit; the suffix names the format "
        "(.png, .jpg or .svg)",
    )
    g.add_argument("--view", choices=explorer_names(), default=None, help="the explorer to show")
    g.add_argument("--text", metavar="FILE", dest="gui_text", help="a review (UTF-8 text file) to show")
    g.add_argument(
        "--model",
        metavar="DIR",
        dest="gui_model",
        help="model folder (default: the last one used, else the shipped one)",
    )
    g.add_argument(
        "--mode",
        dest="gui_mode",
        default=None,
        choices=list(MODE_HELP),
        help="with --screenshot: the Attention view's shading (as predict --mode; default: the app's)",
    )
    g.add_argument(
        "--colormap",
        dest="gui_colormap",
        default=None,
        type=_colormap,
        metavar="MAP",
        help="with --screenshot: the Attention view's colour map (as predict --colormap)",
    )
    g.add_argument("--quit-after-ms", type=int, default=None, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", parser_class=CommandParser, title="commands", metavar="COMMAND")
    _add_train(sub)
    e = sub.add_parser("evaluate", help="accuracy of a model on a labelled dataset")
    e.add_argument("--data", required=True, help="labelled dataset: a file (.jsonl, .csv, .gz) or a folder")
    e.add_argument(
        "--format", default="auto", choices=["auto", "jsonl", "csv", "aclimdb", "yelp"], help=FORMAT_HELP
    )
    e.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    e.add_argument("--limit", type=int, default=None, help="only the first N rows")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.add_argument("--device", default="auto", metavar=DEVICES, help=DEVICE_HELP)
    e.add_argument(
        "--batch-size",
        type=_positive,
        default=128,
        metavar="N",
        help="documents scored together, after sorting by length (default 128)",
    )
    e.add_argument(
        "--record",
        default=None,
        metavar="FIELD",
        help="also store the result in the model's JSON under FIELD (e.g. test); needs --model "
        "(the shipped model is read-only) and the whole dataset (no --limit)",
    )
    cli_dataset.add_evaluate_args(e)
    q = sub.add_parser("predict", help="class and attention for one review")
    q.add_argument("file", nargs="?", default="-", help="text file, or - for standard input")
    q.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    q.add_argument("--json", action="store_true", help="print the analysis as JSON")
    q.add_argument(
        "--html",
        default=None,
        metavar="OUT.html",
        help="also write a self-contained HTML page, the one the app's File → Export writes",
    )
    _add_look(q, "--html")
    q.add_argument("--no-color", action="store_true", help="no colours in the terminal, even on a tty")
    cli_dataset.add_predict_args(q)
    _add_gru_trace(sub)
    for name, command in sub.choices.items():
        command.epilog = _examples(EXAMPLES[name])
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return p


# One or more examples per command, shown at the end of its --help (a test checks every command has one).
EXAMPLES = {
    "app": [
        ("open the app on a review", "han-explorer --text review.txt"),
        ("a picture of the GRU stepper", "han-explorer --view gru --screenshot gru.png"),
    ],
    "train": [
        ("a quick run on 2,000 reviews", "han-explorer train --data train.jsonl.gz --limit 2000 --epochs 2"),
        (
            "train on the IMDB folder, on a GPU",
            "han-explorer train --data aclImdb --device cuda --out runs/imdb",
        ),
    ],
    "evaluate": [
        ("accuracy of the shipped model", "han-explorer evaluate --data test.jsonl.gz"),
        (
            "500 rows, mistakes kept",
            "han-explorer evaluate --data test.jsonl.gz --sample 500 --errors err.jsonl",
        ),
    ],
    "predict": [
        ("class and attention in the terminal", "han-explorer predict review.txt"),
        (
            "the app's page, word shading in Viridis",
            "han-explorer predict review.txt --html out.html --mode word --colormap viridis",
        ),
    ],
    "explain": [
        ("which words push which way", "han-explorer explain review.txt --method ig --html why.html")
    ],
    "gru-trace": [
        ("the word GRU over sentence 2", "han-explorer gru-trace --file review.txt --sentence 2"),
        ("every gate, with attention, as JSON", "echo 'A fine film.' | han-explorer gru-trace - --json"),
    ],
    "conv": [
        (
            "a 5x5 Gaussian on a photo, on the CPU",
            "han-explorer conv --image photo.png --mask gauss:5 --backend emulator --output out.npy",
        ),
        ("a random 2048x2048 image on the GPU", "han-explorer conv --size 2048x2048 --mask 7 --backend cuda"),
    ],
    "conv-bench": [("time the kernels on this GPU", "han-explorer conv-bench --json --out bench/results/")],
    "check": [
        ("the behaviour suite on the shipped model", "han-explorer check"),
        (
            "negation only, as JSON, 50 cases a test",
            "han-explorer check --capability negation --json --max-cases 50",
        ),
    ],
}


def _examples(examples: list[tuple[str, str]]) -> str:
    return "examples:\n" + "\n".join(f"  {what}:\n    {cmd}" for what, cmd in examples)


def _add_gru_trace(sub: argparse._SubParsersAction) -> None:
    from app import cli_conv

    cli_conv.add_parser(sub)
    from app import cli_explain

    cli_explain.add_parser(sub)
    from app import cli_check

    cli_check.add_parser(sub)
    g = sub.add_parser("gru-trace", help="every gate of the HAN's word or sentence GRU, step by step")
    g.add_argument(
        "text", nargs="?", default=None, metavar="TEXT", help="the review, or - for standard input"
    )
    g.add_argument("--file", default=None, metavar="F", help="read the review from a file instead")
    g.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    g.add_argument(
        "--encoder",
        default="word",
        choices=["word", "sentence"],
        help="word: the GRU reading one sentence's words; sentence: the GRU reading sentence vectors",
    )
    g.add_argument(
        "--direction",
        default="forward",
        choices=["forward", "backward"],
        help="which half of the bidirectional GRU (backward reads from the last token)",
    )
    g.add_argument(
        "--sentence",
        type=int,
        default=1,
        metavar="N",
        help="which sentence the word encoder reads, counted from 1 as the app does (default 1)",
    )
    g.add_argument("--json", action="store_true", help="print every step's gates and states as JSON")


MODE_HELP = {
    "word": "a word's weight within its sentence",
    "product": "word weight × sentence weight, darkest for the review's heaviest product (the app's default)",
    "ig": "signed integrated gradients for the predicted class (50 steps, as the app)",
    "occlusion": "signed change in the predicted class's probability when the word is left out",
}
ATTRIBUTION_MODES = ("ig", "occlusion")  # app.display.ATTRIBUTION_MODES, spelled out: --help imports no numpy


def _add_look(p: argparse.ArgumentParser, what: str) -> None:
    """``--mode`` and ``--colormap``: the Attention tab's shading choices, same names and defaults."""
    from app.colormaps import COLORMAPS, DEFAULT_COLORMAP

    modes = "; ".join(f"{k}: {v}" for k, v in MODE_HELP.items())
    p.add_argument(
        "--mode",
        default="product",
        choices=list(MODE_HELP),
        help=f"how {what} shades words, as the app's Shading box ({modes})",
    )
    p.add_argument(
        "--colormap",
        default=DEFAULT_COLORMAP,
        type=_colormap,
        metavar="MAP",
        help=f"the colour map of {what} in the attention modes: {', '.join(map(_plain, COLORMAPS))} "
        f"(case and dashes are free; default {_plain(DEFAULT_COLORMAP)}); ig and occlusion use the "
        "app's diverging purple-orange map",
    )


def _plain(name: str) -> str:
    return name.replace("–", "-").lower()


def _colormap(text: str) -> str:
    """A colour map of :mod:`app.colormaps` by a forgiving spelling ("orange-red", "Viridis")."""
    from app.colormaps import COLORMAPS

    for name in COLORMAPS:
        if _plain(name) == _plain(text.strip()):
            return name
    raise argparse.ArgumentTypeError(
        f"unknown colour map {text!r}; choose one of {', '.join(map(_plain, COLORMAPS))}"
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def _load_model(path: str | None, device: str = "cpu") -> Any:
    import resources
    from engine.bundle import ModelError, load_bundle

    directory = Path(path) if path else resources.model_dir()
    try:
        return load_bundle(directory, device)
    except ModelError as e:
        raise UserError(str(e)) from None


def _cmd_train(a: argparse.Namespace, argv: Sequence[str]) -> int:
    from engine.train import TrainConfig, train
    from engine.word_cache import check_cache_dir

    kw = {
        f.name: getattr(a, f.name)
        for f in fields(TrainConfig)
        if getattr(a, f.name, None) is not None and f.name != "command"
    }
    try:
        cfg = TrainConfig(**kw, command=shlex.join(["han-explorer", *argv]))
        if cfg.cache_dir:
            check_cache_dir(cfg.cache_dir)
        rc = _run_training(a, train(cfg))
    except (ValueError, RuntimeError) as e:  # settings, data, checkpoint, divergence: one line
        raise UserError(_one_line(e)) from None
    return rc


def _run_training(a: argparse.Namespace, records: Any) -> int:
    """Messages to stderr; on a terminal, a ticking line while data is prepared, a word2vec bar and a
    step bar (none when piped or ``--quiet``). ``best_dev`` appears once there is an evaluation."""
    from app.cli_progress import Progress

    show = Progress(quiet=a.quiet)
    last = None
    try:
        for rec in records:
            last = rec
            if a.quiet:
                continue
            if rec.kind == "setup":
                show.setup(rec.message, rec.total_steps)
            elif rec.kind == "step":
                post = {"epoch": rec.epoch, "loss": f"{rec.loss:.3f}", "docs_s": f"{rec.docs_per_s:.0f}"}
                if rec.best_dev_accuracy is not None:
                    post["best_dev"] = f"{rec.best_dev_accuracy:.4f}"
                show.step(post)
            elif rec.kind == "eval":
                text = f"{rec.message} (best {rec.best_dev_accuracy:.4f}, {rec.docs_per_s:.0f} docs/s)"
                show.line(text, out=sys.stdout)
    finally:
        show.close()
    if last is not None and last.kind == "done" and last.extra.get("rank", 0) == 0:
        print(last.message)
    return 0


def _check_record(a: argparse.Namespace) -> None:
    """``evaluate --record`` writes into a model: refuse, before any work, what must not be written."""
    from engine.runs import is_shipped_model

    if a.model is None:
        raise UserError(
            "--record writes into the model folder, and the shipped model is read-only: "
            "give --model DIR (a copy of it, or your own model)"
        )
    if a.limit is not None:
        raise UserError("--record stores a figure for the whole dataset: drop --limit")
    if is_shipped_model(a.model):
        raise UserError(f"--record: {a.model} is the shipped model, which is read-only")
    if Path(a.model).is_dir() and not os.access(a.model, os.W_OK | os.X_OK):
        raise UserError(f"--record: cannot write {a.model}: the folder is read-only")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", a.record):
        raise UserError(f"--record {a.record!r}: use a short name of letters, digits, - or _ (e.g. test)")


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from app import cli_dataset  # sample, progress bar and --errors live with the Dataset explorer

    return cli_dataset.run_evaluate(a)


def _read_text(file: str) -> str:
    """The exact text (no newline translation), so offsets index the file as it is.

    One reader for the CLI and the app (:mod:`engine.textio`): UTF-8 or UTF-16 with a BOM, bounded
    reads (an endless stream is refused after ``MAX_TEXT_BYTES``), one-line refusals.
    """
    from engine.limits import MAX_TEXT_CHARS
    from engine.textio import TextFileError, read_text_file, read_text_stream

    try:
        if file != "-":
            return read_text_file(file)
        if hasattr(sys.stdin, "buffer"):
            return read_text_stream(sys.stdin.buffer)
        text = sys.stdin.read(MAX_TEXT_CHARS + 1)  # already text (an in-process caller replaced stdin)
    except TextFileError as e:
        raise UserError(str(e)) from None
    if len(text) > MAX_TEXT_CHARS:
        raise UserError(
            f"standard input holds more than {MAX_TEXT_CHARS:,} characters, the most a review may have"
        )
    return text


def _output_file(path: str, flag: str) -> Path:
    """Refuse, before any work, an output file that cannot be written."""
    from engine.atomic import WriteError, check_output_file

    try:
        return check_output_file(path)
    except WriteError as e:
        raise UserError(f"{flag}: {e}") from None


def _cmd_predict(a: argparse.Namespace) -> int:
    if a.batch is not None:
        from app import cli_dataset

        return cli_dataset.run_predict_batch(a)
    from app.provenance import provenance
    from app.render import json_for_terminal, render_terminal
    from engine.analyze import InputError, analyze
    from engine.atomic import write_text

    html_path = _output_file(a.html, "--html") if a.html else None
    text = _read_text(a.file)
    bundle = _load_model(a.model)
    try:
        result = analyze(bundle, text)
    except InputError as e:
        raise UserError(str(e)) from None
    if html_path is not None:
        write_text(html_path, _predict_page(bundle, result, a, provenance(bundle)))
    if a.json:
        print(json_for_terminal(result.to_dict()))
    else:
        color = not a.no_color and sys.stdout.isatty()
        print(render_terminal(result, color=color))
    return 0


def _predict_page(bundle: Any, analysis: Any, a: argparse.Namespace, stamp: Any) -> str:
    """The page the app's File → Export writes for the same mode and colour map (an attribution mode:
    the attributions for the predicted class, with the app's number of integrated-gradients steps)."""
    from app.render import render_html

    if a.mode not in ATTRIBUTION_MODES:
        return render_html(analysis, mode=a.mode, colormap=a.colormap, provenance=stamp)
    from app.render_explain import render_explain_html
    from engine.explain import AGREEMENT_MEANINGS, agreement, explain

    # the app's steps (app.attention_controller.IG_STEPS, the engine's default); target: the prediction
    attribution = explain(bundle, analysis.text, a.mode)
    target = analysis.label
    return render_explain_html(
        analysis,
        {a.mode: attribution},
        {a.mode: agreement(analysis, attribution, target)},
        target,
        AGREEMENT_MEANINGS,
        provenance=stamp,
    )


def _gru_text(a: argparse.Namespace) -> str:
    if a.file is not None and a.text is not None:
        raise UserError("give TEXT or --file, not both")
    if a.file is not None:
        return _read_text(a.file)
    if a.text is None:
        raise UserError("give the text to trace (TEXT, - for standard input, or --file F)")
    return _read_text("-") if a.text == "-" else a.text


def _cmd_gru_trace(a: argparse.Namespace) -> int:
    from engine.gru import prepare

    text = _gru_text(a)
    bundle = _load_model(a.model)
    try:
        prep = prepare(bundle, text, a.encoder, a.direction, a.sentence - 1)  # the engine counts from 0
    except ValueError as e:  # empty text (InputError), sentence out of range
        raise UserError(str(e)) from None
    result = prep.base
    if a.json:
        from app.render import json_for_terminal

        print(json_for_terminal(_gru_json(result, prep.attention, a)))
    else:
        print(_gru_table(result, a))
    return 0


def _gru_json(result: Any, attention: Any, a: argparse.Namespace) -> dict[str, Any]:
    """The trace's JSON with each step's HAN attention (the stepper's; text order turned to stepped)."""
    stepped = attention[::-1] if a.direction == "backward" else attention
    d: dict[str, Any] = result.to_dict()
    for step, weight in zip(d["steps"], stepped.tolist(), strict=True):
        step["attention"] = weight
    what = "word within its sentence" if a.encoder == "word" else "sentence within the review"
    d["attention_meaning"] = f"each step's 'attention' is the HAN's attention weight of that {what}"
    return d


def _gru_table(result: Any, a: argparse.Namespace) -> str:
    """step, token, mean z, mean r, |h| and the three units whose state moved most (Δh = h − h_prev)."""
    import numpy as np

    from app.render import terminal_safe

    where = f", sentence {a.sentence}" if a.encoder == "word" else ""
    order = "last token first" if a.direction == "backward" else "text order"
    lines = [
        f"{a.encoder} GRU, {a.direction}{where}: {len(result)} steps ({order}), {result.hidden_size} units",
        f"{'step':>4}  {'token':<16} {'mean z':>6} {'mean r':>6} {'|h|':>6}  top |Δh| (unit:Δh)",
    ]
    for t, token in enumerate(result.tokens):
        dh = result.h[t] - result.h_prev[t]
        top = np.argsort(-np.abs(dh), kind="stable")[:3]
        token = " ".join(terminal_safe(token).split())  # no controls; a sentence may span lines
        shown = token if len(token) <= 16 else token[:15] + "…"
        moves = " ".join(f"{int(u)}:{dh[u]:+.3f}" for u in top)
        lines.append(
            f"{t:>4}  {shown:<16} {result.z[t].mean():>6.3f} {result.r[t].mean():>6.3f} "
            f"{np.linalg.norm(result.h[t]):>6.3f}  {moves}"
        )
    return "\n".join(lines)


def _gui(a: argparse.Namespace) -> int:
    """The desktop app, or ``--screenshot``. Qt is imported here and nowhere else in this module."""
    # The GUI's numpy works on small arrays (one review, one GRU step): OpenBLAS's threads cost more
    # than they give there (15 ms vs 130-165 ms for the numpy preview of a review on a busy 2-core
    # machine, measured). Set before numpy is imported; torch keeps its own threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from app import gui
    except ImportError as e:
        print(f"han-explorer: the desktop app needs Qt (PySide6): {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if a.screenshot:
            out = gui.screenshot(
                a.screenshot,
                a.view or "attention",
                a.gui_text,
                a.gui_model,
                mode=a.gui_mode,
                colormap=a.gui_colormap,
            )
            print(f"wrote {out}")
            return 0
        return gui.run(a.gui_model, a.view, a.gui_text, a.quit_after_ms)
    except gui.GuiError as e:
        print(f"han-explorer: {e}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    a, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser: "han-explorer conv-bench: error: ..." with its usage
        commands = next(x for x in parser._actions if isinstance(x, argparse._SubParsersAction))
        where = commands.choices.get(a.command, parser) if a.command else parser
        where.error(f"unrecognized arguments: {' '.join(extra)}")
    if a.command is None:
        return _gui(a)
    from engine.data import DatasetError

    try:
        with warnings.catch_warnings():
            if not sys.warnoptions:  # numpy/Pillow/torch warnings are not messages for the user
                warnings.simplefilter("ignore")
            return _run_command(a, argv)
    except (UserError, DatasetError) as e:
        print(f"han-explorer {a.command}: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as e:  # a file we had to write or read: full disk, read-only folder, ...
        print(f"han-explorer {a.command}: {_os_message(e)}", file=sys.stderr)
        return EXIT_USAGE
    except (MemoryError, RuntimeError) as e:
        if not isinstance(e, MemoryError) and "allocate" not in str(e):
            raise
        print(f"han-explorer {a.command}: not enough memory for this input", file=sys.stderr)
        return EXIT_USAGE


def _run_command(a: argparse.Namespace, argv: Sequence[str]) -> int:
    if a.command == "train":
        return _cmd_train(a, argv)
    if a.command == "evaluate":
        return _cmd_evaluate(a)
    if a.command == "gru-trace":
        return _cmd_gru_trace(a)
    if a.command == "explain":
        from app import cli_explain

        return cli_explain.run(a)
    if a.command == "check":
        from app import cli_check

        return cli_check.run(a)
    if a.command in ("conv", "conv-bench"):
        from app import cli_conv

        return cli_conv.run(a)
    return _cmd_predict(a)


def _one_line(e: BaseException) -> str:
    """An exception's message as one line (the first line of a multi-line one), no class name."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


def _os_message(e: OSError) -> str:
    from engine.atomic import WriteError

    if isinstance(e, WriteError) or not e.strerror:
        return _one_line(e)
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror[0].lower()}{e.strerror[1:]}"


if __name__ == "__main__":
    # run the importable module's main: under ``python -m app.cli`` this file is ``__main__``, and
    # errors defined here (UserError) must be the same classes app.cli_conv raises
    from app.cli import main as _main

    sys.exit(_main())
