"""The command-line conventions every ``dlc`` command shares, kept in one place.

- numeric options are checked by their argparse type, so ``--batch-size 0`` or ``--lr nan``
  stops with one ``dlc: error:`` line before any work starts;
- ``--device``, ``--out`` / ``-o``, ``--threads``, ``--precision`` and ``--format`` mean the
  same in every command;
- a renamed option keeps its old spelling for one release (``add_deprecated_alias``), with a
  one-line note saying the new one;
- each experiment's config dataclass is filled straight from the parsed arguments
  (``config_from_args``), with no field-by-field copying.
"""

from __future__ import annotations

import argparse
import math
import sys
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


def add_threads_argument(
    parser: argparse.ArgumentParser, text: str = "CPU threads for PyTorch (default: all)"
) -> None:
    """``--threads N``: PyTorch's intra-op threads (None: leave PyTorch's default)."""
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N", help=text)


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--format txt|csv|jsonl`` of a predict command (``predictions.write_predictions``)."""
    text = (
        "txt: one line a prediction; csv: with a header; jsonl: one JSON object a line "
        "(default: the one -o's suffix names, .csv or .jsonl, else txt)"
    )
    parser.add_argument("--format", choices=("txt", "csv", "jsonl"), default=None, help=text)


class _DeprecatedSpelling(argparse.Action):
    """An option's old spelling: notes the new one on standard error, then acts as it."""

    def __init__(self, option_strings: list[str], dest: str, current: argparse.Action) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=current.nargs,
            type=current.type,
            choices=current.choices,
            metavar=current.metavar,
            help=argparse.SUPPRESS,
        )
        self.current = current

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        new = self.current.option_strings[-1]
        print(f"dlc: note: {option_string} is deprecated; use {new}", file=sys.stderr)
        self.current(parser, namespace, values, new)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Keep ``old`` working as a hidden spelling of the existing option ``new`` (one release).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--hidden-size", type=int)
        >>> add_deprecated_alias(parser, old="--hidden", new="--hidden-size")
        >>> parser.parse_args(["--hidden", "8"]).hidden_size  # notes the new name on stderr
        8
    """
    # argparse has no public lookup of an option's action before Python 3.13's deprecated=
    current = parser._option_string_actions[new]
    parser.add_argument(old, dest=current.dest, action=_DeprecatedSpelling, current=current)


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
