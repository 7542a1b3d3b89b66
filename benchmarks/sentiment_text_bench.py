"""Text as people write it (issues 25 and 27): accuracy on Yelp sentences in the training files'
form and rewritten the way people write them, and the time of runaway input.

    python benchmarks/sentiment_text_bench.py                       # the packaged model
    python benchmarks/sentiment_text_bench.py --checkpoints glove-lstm=runs/glove-lstm/best.pt
    python benchmarks/sentiment_text_bench.py --sentences 2000 --checkpoints minilm=M.pt  # slow
    python benchmarks/sentiment_text_bench.py --timing              # 12 MB line, 100 000 lines
    python benchmarks/sentiment_text_bench.py --card                # the packaged model's card

The rewrite (``rewrite``, seeded per line) undoes the files' tokenisation: sentence starts and
"i" capitalised, punctuation attached to the word before (``food!``), brackets, ``$`` and
quotes to the word after, clitics joined (``do n't`` → ``don't``, ``it 's`` → ``it's``,
``gon na`` → ``gonna``), ``_num_`` as digits (``$ _num_`` → ``$12``), ``--`` as an em dash,
double quotes straight or curly; on a seeded share of lines also curly apostrophes and ``!!!``;
a second rewrite makes the same choices but keeps lower case (people who type that way).
Each model is scored on the dev and test splits three ways: the files' form, the rewrite through
its normaliser (what ``predict`` does now), and the rewrite split on white space only (what it did
before the normaliser: the 81 % of issue 25). One CPU thread.

``--timing``: ``dlc sentiment predict`` (the packaged model, ``--threads 1``) on one 12 MB line
and on a 100 000-line file of rewritten sentences, wall seconds of the whole command (start-up
and model loading included), whether the truncation warning named the long line, and the
seconds of reading and normalising each file alone (``reader_seconds``).

``--sentences N``: each split is a seeded sample of N sentences (for a slow model on a CPU).
``--card``: the packaged model's scores go into its card (``packaged.record_text_accuracy``).

Results: ``benchmarks/results/sentiment_text.json`` (each invocation updates its keys, with the
load average: the machine may be shared).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.sentiment.classifier import Classifier
from dlclassics.sentiment.packaged import record_text_accuracy
from dlclassics.sentiment.run import load
from dlclassics.sentiment.text import read_sentences

RESULTS = Path(__file__).parent / "results" / "sentiment_text.json"
SEED = 0
CURLY_SHARE = 0.3  # of lines: apostrophes and double quotes typed as ’ “ ”
SHOUT_SHARE = 0.2  # of lines: each "!" typed as "!!!"
CARD_FIELDS = ("files_form", "rewritten", "rewritten_without_normaliser")
# tokens written against the word before / the word after
JOINS_LEFT = {".", ",", "!", "?", ";", ":", ")", "]", "...", "%", "''", "'", "n't"}
JOINS_LEFT |= {"'s", "'ve", "'m", "'ll", "'re", "'d"}
JOINS_RIGHT = {"(", "[", "$", "#", "``"}
JOINED_HALVES = {("gon", "na"), ("wan", "na"), ("got", "ta"), ("can", "not")}
SENTENCE_ENDS = {".", "!", "?"}
LONG_LINE_BYTES = 12_000_000
MANY_LINES = 100_000


def written_form(token: str, rng: random.Random, curly: bool) -> str:
    """How a person types one token of the files: digits for ``_num_``, a dash, quotes.

    >>> written_form("--", random.Random(0), curly=False), written_form("``", None, curly=True)
    ('—', '“')
    """
    if token == "_num_":
        return str(rng.randint(2, 99))
    if token == "--":
        return "\u2014"
    if token in ("``", "''"):
        return ("\u201c" if token == "``" else "\u201d") if curly else '"'
    return token


def capitalised(words: list[str]) -> list[str]:
    """``words`` with each sentence's first letter and every "i" (also "i'm") upper-cased.

    >>> capitalised(["i'm", "back!", "great", "i", "say."])
    ["I'm", 'back!', 'Great', 'I', 'say.']
    """
    result, start = [], True
    for word in words:
        if word == "i" or word.startswith("i'"):
            word = "I" + word[1:]
        if start and word[:1].isalpha():
            word, start = word[:1].upper() + word[1:], False
        start = start or word[-1:] in SENTENCE_ENDS
        result.append(word)
    return result


def rewrite(tokens: list[str], rng: random.Random, *, capitals: bool = True) -> str:
    """One sentence of the files (its tokens) as a person would type it (see the module doc);
    ``capitals`` False: as one who types in lower case.

    >>> rewrite("i do n't think it 's $ _num_ !".split(), random.Random(0))
    "I don't think it's $55!"
    """
    curly, shout = rng.random() < CURLY_SHARE, rng.random() < SHOUT_SHARE
    words: list[str] = []
    glue = False  # the next token joins the word before it
    for previous, token in zip(["", *tokens], tokens, strict=False):
        text = written_form(token, rng, curly)
        text = "!!!" if shout and text == "!" else text
        joins = token in JOINS_LEFT or (previous, token) in JOINED_HALVES or token == "--"
        if words and (glue or joins):
            words[-1] += text
        else:
            words.append(text)
        glue = token in JOINS_RIGHT or token == "--"
    written = " ".join(capitalised(words) if capitals else words)
    return written.replace("'", "\u2019") if curly else written


def rewritten_split(split: str, data: Path, sentences: int | None) -> dict[str, Any]:
    """The labelled ``split`` (a seeded ``sentences`` of it when given): its token lists,
    labels, and each line rewritten (seeded), with capitals and in lower case (the same
    choices otherwise).

    >>> rewritten_split("dev", dataset_path("yelp"), 5)["raw"][0]
    "Let me give my opinion, that's what this site is for."
    """
    found = read_sentences(data / f"{split}.txt", True)
    rng, lower_rng = random.Random(f"{SEED}-{split}"), random.Random(f"{SEED}-{split}")
    raw = [rewrite(tokens, rng) for tokens in found.sentences]
    lower = [rewrite(tokens, lower_rng, capitals=False) for tokens in found.sentences]
    kept = range(len(raw)) if sentences is None else sorted(rng.sample(range(len(raw)), sentences))
    return {
        "tokens": [found.sentences[i] for i in kept],
        "labels": np.array([found.labels[i] for i in kept]),
        "raw": [raw[i] for i in kept],
        "lower": [lower[i] for i in kept],
    }


def accuracy(classifier: Classifier, sentences: list[list[str]], labels: np.ndarray) -> float:
    """The fraction of ``sentences`` (token lists) whose label is right.

    >>> accuracy(load(), [["great", "!"], ["awful", "."]], np.array([1, 0]))
    1.0
    """
    positive = classifier.token_proba(sentences)[:, 1]
    return float(np.mean((positive >= 0.5) == (labels == 1)))


def score_model(classifier: Classifier, splits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per split: accuracy in the files' form, on the rewrite normalised, on the rewrite split on
    white space (no normaliser), on the lower-case rewrite normalised; how many rewritten lines
    normalise back exactly.

    >>> score_model(load(), {"dev": rewritten_split("dev", dataset_path("yelp"), 100)})["dev"]
    {'files_form': 0.99, 'rewritten': 0.99, ...}
    """
    rows = {}
    for name, split in splits.items():
        normalised = [classifier.normaliser(text) for text in split["raw"]]
        labels = split["labels"]
        rows[name] = {
            "files_form": accuracy(classifier, split["tokens"], labels),
            "rewritten": accuracy(classifier, normalised, labels),
            "rewritten_without_normaliser": accuracy(
                classifier, [text.split() for text in split["raw"]], labels
            ),
            "rewritten_lower_case": accuracy(
                classifier, [classifier.normaliser(text) for text in split["lower"]], labels
            ),
            "round_trip_exact": float(
                np.mean([a == b for a, b in zip(normalised, split["tokens"], strict=True)])
            ),
            "sentences": len(labels),
            "examples": split["raw"][:3],
        }
    return rows


def time_predict(path: Path, out: Path) -> dict[str, Any]:
    """Wall seconds of ``dlc sentiment predict PATH -o OUT --threads 1`` and its standard error.

    >>> time_predict(Path("reviews.txt"), Path("out.txt"))["seconds"]
    1.9
    """
    command = [sys.executable, "-m", "dlclassics", "sentiment", "predict", str(path)]
    command += ["-o", str(out), "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return {"seconds": seconds, "stderr": done.stderr.strip().splitlines(), "input": path.name}


def reader_seconds(path: Path) -> float:
    """Seconds to read and normalise ``path`` as ``dlc sentiment predict`` does (in process,
    the truncation warning silenced): the reader's share of the command's time.

    >>> reader_seconds(Path("many.txt"))
    1.1
    """
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        read_sentences(path, None, keep_blank=True)
    return time.perf_counter() - started


def measure_runaway(raw_sentences: list[str]) -> dict[str, Any]:
    """``time_predict`` on one 12 MB line (rewritten sentences run together) and on a
    ``MANY_LINES``-line file of rewritten sentences (repeated), with the output line counts.

    >>> measure_runaway(["Great food!"])["long_line"]["warned"]
    True
    """
    text = " ".join(raw_sentences)
    long_line = (text * (LONG_LINE_BYTES // len(text) + 1))[:LONG_LINE_BYTES]
    lines = (raw_sentences * (MANY_LINES // len(raw_sentences) + 1))[:MANY_LINES]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        inputs = {"long_line": (Path(folder) / "long.txt", long_line + "\n")}
        inputs["many_lines"] = (Path(folder) / "many.txt", "".join(s + "\n" for s in lines))
        for name, (path, content) in inputs.items():
            path.write_text(content, encoding="utf-8")
            out = Path(folder) / f"{name}.out"
            results[name] = time_predict(path, out)
            results[name]["reader_seconds"] = reader_seconds(path)
            results[name]["megabytes"] = path.stat().st_size / 1e6
            results[name]["output_lines"] = len(out.read_text().splitlines())
    warned = results["long_line"]["stderr"]
    results["long_line"]["warned"] = any("long.txt:1: truncated to" in line for line in warned)
    return results


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (the machine may be shared).

    >>> len(load_average())
    3
    """
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    """Score the models (or time runaway input) and update ``RESULTS``; see the module doc."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--checkpoints", nargs="*", default=[], metavar="NAME=PATH", help="default: the packaged"
    )
    parser.add_argument("--timing", action="store_true", help="time runaway input instead")
    parser.add_argument("--card", action="store_true", help="record in the packaged card")
    parser.add_argument("--sentences", type=int, help="a seeded sample of each split (slow models)")
    args = parser.parse_args()
    if args.card and (args.sentences or args.checkpoints):
        parser.error("--card records the packaged model on the whole splits: --card alone")
    torch.set_num_threads(1)
    data = dataset_path("yelp")
    splits = {name: rewritten_split(name, data, args.sentences) for name in ("dev", "test")}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.timing:
        results["runaway"] = measure_runaway(splits["test"]["raw"])
        results["runaway"]["load_average"] = load_average()
    else:
        given = dict(spec.split("=", 1) for spec in args.checkpoints)
        models: dict[str, str | None] = given or {"packaged": None}
        for name, path in models.items():
            started = load_average()
            row = score_model(load(path, device="cpu", threads=1), splits)
            results.setdefault("accuracy", {})[name] = {
                "checkpoint": path or "packaged",
                **row,
                "load_average": [started, load_average()],
            }
    atomic_write_json(RESULTS, results)
    if args.card:
        packaged = results["accuracy"]["packaged"]
        split_rows = {split: packaged[split] for split in splits}
        record_text_accuracy(
            {split: {key: row[key] for key in CARD_FIELDS} for split, row in split_rows.items()}
        )
    print(json.dumps(results, indent=1)[:4000])


if __name__ == "__main__":
    main()
