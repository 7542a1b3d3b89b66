"""The conventions every ``dlc`` command shares (issue 13): help on every option, defaults shown,
experiments listed in the report's order, the environment variables documented, argument errors
as one ``dlc: error:`` line."""

from __future__ import annotations

import argparse

import pytest

from dlclassics import cli
from dlclassics.options import bounded, positive_int


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)parser of ``dlc``, by its full command."""
    found, todo = [], [("dlc", cli.build_parser())]
    while todo:
        name, parser = todo.pop()
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {sub}", child) for sub, child in action._name_parser_map.items()]
    return found


def test_every_option_of_every_command_has_help_text():
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in all_parsers()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and action.help != argparse.SUPPRESS
        and not (action.help or "").strip()
    ]
    assert missing == []


def test_help_shows_defaults_and_every_command_prints_it(capsys: pytest.CaptureFixture[str]):
    for _, parser in all_parsers():
        parser.format_help()  # a bad %-format in any help text would raise here
    with pytest.raises(SystemExit):
        cli.main(["gradcheck", "--help"])
    assert "(default: 0)" in capsys.readouterr().out


def test_top_level_help_lists_experiments_in_report_order_and_environment(
    capsys: pytest.CaptureFixture[str],
):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    order = ["transfer", "style", "gradcheck", "caption", "sentiment", "reproduce", "data"]
    positions = [text.index(f"\n    {command} ") for command in order]
    assert positions == sorted(positions)
    for variable in ("DLC_DATA", "DLC_DEVICE", "DLC_OFFLINE", "DLC_DIST_TIMEOUT"):
        assert variable in text


@pytest.mark.parametrize(
    "argv",
    [
        ["gradcheck", "--seed", "-1"],
        ["gradcheck", "--seed", "x"],
        ["gradcheck", "--no-such-option"],
        ["no-such-command"],
    ],
)
def test_argument_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dlc: error: ")


@pytest.mark.parametrize("text", ["0", "-3", "nan", "inf", "1.5", "ten"])
def test_positive_int_refuses(text: str):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)


def test_bounded_float_accepts_its_range_and_names_it():
    rate = bounded(float, 0.0, 1.0, low_open=True)
    assert rate("1") == 1.0
    with pytest.raises(argparse.ArgumentTypeError, match=r"in \(0.0, 1.0\]"):
        rate("0")


@pytest.mark.parametrize(
    ("argv", "epochs"),
    [
        (["transfer", "--epochs", "3", "train"], 3),  # before the action: kept
        (["transfer", "--epochs", "3", "train", "--epochs", "5"], 5),  # after it: wins
        (["transfer", "train", "--epochs", "4"], 4),
        (["transfer", "--epochs", "2"], 2),  # no action: train
    ],
)
def test_transfer_options_before_or_after_the_action(argv: list[str], epochs: int):
    args = cli.build_parser().parse_args(argv)
    assert args.epochs == epochs and args.func.__name__ == "train_command"
