"""The command-line conventions every ``dlc`` command shares, kept in one place.

- numeric options are checked by their argparse type, so ``--batch-size 0`` or ``--lr nan``
  stops with one ``dlc: error:`` line before any work starts;
- ``--device``, ``--out`` / ``-o`` and ``--threads`` mean the same in every command;
- each experiment's config dataclass is filled straight from the parsed arguments
  (``config_from_args``), with no field-by-field copying.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any, TypeVar

Config = TypeVar("Config")


def _number(kind: type, text: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def bounded(
    kind: type, low: float | None = None, high: float | None = None, low_open: bool = False
) -> Callable[[str], Any]:
    """An argparse type: ``kind`` (int or float), finite, in [low, high] (``(low, high]`` when
    ``low_open``); either bound may be None."""

    def parse(text: str) -> Any:
        value = _number(kind, text)
        too_low = low is not None and (value <= low if low_open else value < low)
        if too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is not {describe()}")
        return value

    def describe() -> str:
        if low is not None and high is not None:
            return f"in {'(' if low_open else '['}{low}, {high}]"
        if low is not None:
            return f"{'>' if low_open else '≥'} {low}"
        return f"≤ {high}" if high is not None else "a number"

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = bounded(int, 1)
nonnegative_int = bounded(int, 0)
positive_float = bounded(float, 0.0, low_open=True)
nonnegative_float = bounded(float, 0.0)
probability = bounded(float, 0.0, 1.0)
dropout_rate = bounded(float, 0.0, 0.99)


class HelpFormatter(argparse.HelpFormatter):
    """Wrapped paragraphs, with indented lines (tables, examples) kept as written; every
    option's help ends with its default when it has one worth showing and the help text does
    not already say it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks, paragraph = [], []
        for line in [*text.splitlines(), ""]:
            if line.strip() and not line.startswith(" "):
                paragraph.append(line.strip())
                continue
            if paragraph:
                blocks.append(super()._fill_text(" ".join(paragraph), width, indent))
                paragraph = []
            blocks.append(indent + line)
        return "\n".join(blocks).rstrip()

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        hidden = action.default is None or action.default is False
        if hidden or action.default == argparse.SUPPRESS or "default" in text.lower():
            return text
        if not action.option_strings and action.nargs in ("*", "+", "?"):
            return text
        return f"{text} (default: %(default)s)"


class DlcArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one ``dlc: error:`` line (no usage block), exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"dlc: error: {self.prog}: {message} (see {self.prog} --help)\n")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    text = (
        "cpu, cuda or cuda:N (default: $DLC_DEVICE, else the GPU when one is visible, else the CPU)"
    )
    parser.add_argument("--device", metavar="DEVICE", default=None, help=text)


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    text = "autocast on a GPU (auto: bf16 where supported); the CPU always runs fp32"
    parser.add_argument(
        "--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help=text
    )


def add_out_argument(parser: argparse.ArgumentParser, default: str | None, what: str) -> None:
    parser.add_argument("-o", "--out", metavar="DIR", default=default, help=what)


def config_from_args(cls: type[Config], args: argparse.Namespace, **given: Any) -> Config:
    """A ``cls`` dataclass from the parsed arguments of the same names, then ``given``.

    Arguments left at None keep the dataclass default, so a preset applied before with
    ``apply_overrides`` is not undone by flags the user did not give.
    """
    return cls(**{**_given(args, cls), **given})


def apply_overrides(config: Config, args: argparse.Namespace) -> Config:
    """``config`` with every field the user gave on the command line (not None) replaced."""
    return replace(config, **_given(args, config))


def _given(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """The fields of the dataclass (or dataclass instance) ``config`` that ``args`` sets."""
    names = [f.name for f in fields(config)]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
