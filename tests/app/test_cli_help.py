"""Help that teaches: every option of every command says what it does, every command has an example."""

from __future__ import annotations

import argparse

import pytest

from app import cli


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    top = cli._parser()
    out: list[tuple[str, argparse.ArgumentParser]] = [("han-explorer", top)]
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, parser in action.choices.items():
                parser.format_help()  # a CommandParser adds its options on first use
                out.append((name, parser))
    return out


def test_every_command_is_listed_in_the_top_level_help() -> None:
    text = cli._parser().format_help()
    for name, _ in _parsers()[1:]:
        assert f"    {name} " in text, name
    assert "``" not in text and ":mod:" not in text  # no raw reST


@pytest.mark.parametrize("name", [n for n, _ in _parsers()])
def test_every_option_has_help_and_an_example(name: str) -> None:
    parser = dict(_parsers())[name]
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and (a.help is None or not a.help.strip())
    ]
    assert missing == [], f"{name}: options without help: {missing}"
    text = parser.format_help()
    assert "examples:\n  " in text and "han-explorer" in text.split("examples:")[1]


def test_options_with_a_fixed_set_of_values_list_them() -> None:
    train = dict(_parsers())["train"].format_help()
    for choice in ("{auto,cpu,cuda,cuda:N}", "{cosine,constant}", "{float32,float16}"):
        assert choice in train
    predict = dict(_parsers())["predict"].format_help()
    assert "{word,product,ig,occlusion}" in predict and "viridis" in predict.lower()


def test_colormap_is_spelled_freely_and_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli._parser()
    a = parser.parse_args(["predict", "x.txt", "--colormap", "orange-red", "--mode", "word"])
    assert a.colormap == "Orange–red" and a.mode == "word"
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["predict", "x.txt", "--colormap", "rainbow"])
    assert e.value.code == 2
    assert "unknown colour map 'rainbow'" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("han-explorer ")
