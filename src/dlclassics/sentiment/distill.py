"""Knowledge distillation, ``dlc sentiment distill``: a student of any sentiment kind learns from
the labels and from a teacher's probabilities, on the training sentences plus unlabelled ones.

The teacher is one ``best.pt`` or several (an ensemble, as in ``predict``). With the student's
logit s, the label y, the hard-label weight α and the temperature T, a sentence costs

    α · BCE(s, y) + (1 − α) · T² · BCE(s / T, p)    a labelled sentence (the train split)
                                T² · BCE(s / T, p)    an unlabelled sentence

where BCE(z, t) = −t log σ(z) − (1 − t) log(1 − σ(z)) and p is the mean over the teacher's
members of σ(z_m / T), z_m a member's logit (at T = 1 exactly the P(positive) of ``predict``).
T > 1 softens both sides of the teacher's term; T² keeps that term's gradient the same size as T
changes (Hinton, Vinyals and Dean 2015, who also average softened ensemble members). At T = 1,
BCE being linear in its target, a labelled sentence costs BCE(s, α·y + (1 − α)·p): training on
soft labels.

The teacher's logits are computed once per (teacher checkpoint, sentence list) and cached in
``<user cache>/dlclassics/teacher_logits`` under the SHA-256 of the checkpoint's bytes and of the
sentences: another teacher or other data is another key, so a stale entry is never read. T is
applied after the cache, so another temperature costs no teacher pass. The student is an ordinary
sentiment ``best.pt`` of its kind, which ``predict``, ``compare`` and ``reproduce`` read.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlclassics import distributed
from dlclassics.data.manifest import sha256_file
from dlclassics.data.root import cache_dir
from dlclassics.distributed import DistContext
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path
from dlclassics.results import Result
from dlclassics.runtime import autocast_dtype, torch_threads
from dlclassics.sentiment.classifier import Classifier, load_classifier, sentence_logits
from dlclassics.sentiment.config import Config
from dlclassics.sentiment.run import LossFn, TrainingSet, train
from dlclassics.sentiment.text import SentenceFile, read_unlabelled
from dlclassics.training import BEST_CHECKPOINT, LAST_CHECKPOINT

TEACHER_LOGITS = "teacher_logits"  # the folder of cached teacher logits in the user cache
CACHE_VERSION = 1  # part of every cache key: a change of what is cached retires old entries
# --augment (Tang et al. 2019): each word of a copy masked with MASK_RATE, then with NGRAM_RATE
# only a random n-gram of it (n <= LONGEST_NGRAM) kept; the teacher labels the copies
MASK = "[MASK]"  # MiniLM's mask token; a word model learns it as one more word
MASK_RATE, NGRAM_RATE, LONGEST_NGRAM = 0.1, 0.25, 5


@dataclass(frozen=True)
class Teacher:
    """One teacher checkpoint: its file, the SHA-256 of its bytes, the loaded classifier.

    Example:
        >>> load_teachers(["runs/sentiment/bilstm/best.pt"])[0].classifier.config.model
        'bilstm'
    """

    path: Path
    sha256: str
    classifier: Classifier


def sentences_sha256(sentences: Sequence[Sequence[str]]) -> str:
    """The SHA-256 of token lists, one space-joined line each: what a teacher is shown.

    Example:
        >>> len(sentences_sha256([["great", "food"]]))
        64
    """
    digest = hashlib.sha256()
    for tokens in sentences:
        digest.update(" ".join(tokens).encode() + b"\n")
    return digest.hexdigest()


def load_teachers(paths: Sequence[str | os.PathLike[str]]) -> list[Teacher]:
    """Each teacher ``best.pt`` loaded; a missing, unreadable or non-sentiment file is one
    DlcError line (``classifier.load_classifier``).

    Example:
        >>> [t.path.name for t in load_teachers(["runs/a/best.pt", "runs/b/best.pt"])]
        ['best.pt', 'best.pt']
    """
    teachers = []
    for path in paths:
        classifier = load_classifier(path)
        teachers.append(Teacher(Path(path), sha256_file(path), classifier))
    return teachers


def teacher_logits(
    teacher: Teacher,
    sentences: Sequence[Sequence[str]],
    device: str = "cpu",
    *,
    cache: Path | None = None,
) -> tuple[torch.Tensor, bool]:
    """``teacher``'s logits (N,) on ``sentences``, and whether they came from the ``cache``
    folder (None: ``data.root.cache_dir("teacher_logits")``), else from one pass of the teacher, then stored there. An
    unreadable entry is computed again. The key
    holds the arithmetic too (device type, autocast dtype): bf16 logits from a GPU are not the
    CPU's float32 ones.

    Example:
        >>> teacher = load_teachers(["runs/sentiment/bilstm/best.pt"])[0]
        >>> logits, cached = teacher_logits(teacher, [["great", "food"]])
        >>> logits.shape
        torch.Size([1])
    """
    dtype = autocast_dtype(device, teacher.classifier.config.autocast_precision())
    arithmetic = f"{device.split(':')[0]} {dtype or torch.float32}"
    key = f"v{CACHE_VERSION} {teacher.sha256} {sentences_sha256(sentences)} {arithmetic}"
    path = (cache or cache_dir(TEACHER_LOGITS)) / f"{hashlib.sha256(key.encode()).hexdigest()}.npy"
    try:
        cached = np.load(path)  # no pickles: allow_pickle is False by default
        if cached.shape == (len(sentences),) and cached.dtype == np.float32:
            return torch.from_numpy(cached), True
    except (OSError, ValueError, EOFError):
        pass  # absent or damaged: computed below
    logits = sentence_logits(replace(teacher.classifier, device=device), sentences)  # (N,) float32
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, logits.numpy())
    except OSError as exc:  # a read-only home costs a teacher pass next time, nothing else
        print(f"{path.parent}: teacher logits not cached ({exc.strerror or exc})", file=sys.stderr)
    return logits, False


def teacher_probabilities(
    teachers: Sequence[Teacher],
    sentences: Sequence[Sequence[str]],
    temperature: float = 1.0,
    *,
    device: str = "cpu",
    cache: Path | None = None,
) -> tuple[torch.Tensor, int]:
    """p (N,): the mean over ``teachers`` of σ(logit / ``temperature``); and how many of the
    teachers' logit vectors came from the cache.

    Example:
        >>> p, hits = teacher_probabilities(load_teachers(["runs/a/best.pt"]), [["great"]])
        >>> p.shape, hits
        (torch.Size([1]), 0)
    """
    results = [teacher_logits(t, sentences, device, cache=cache) for t in teachers]
    logits = torch.stack([member for member, _ in results])  # (M, N)
    return torch.sigmoid(logits / temperature).mean(dim=0), sum(hit for _, hit in results)


def augmented(train: SentenceFile, copies: int, seed: int) -> list[SentenceFile]:
    """``copies`` altered copies of every training sentence, as one unlabelled set (none when
    ``copies`` is 0): words masked, or a short n-gram kept (see ``MASK_RATE``), so the student
    sees the teacher's answers on many near-neighbours of the training sentences.

    Example:
        >>> train = read_sentences("my_text_dir/train.txt")
        >>> len(augmented(train, 2, seed=0)[0]) == 2 * len(train)
        True
    """
    if not copies:
        return []
    rng = random.Random(seed)
    sentences = []
    for words in train.sentences:
        for _ in range(copies):
            new = [MASK if rng.random() < MASK_RATE else word for word in words]
            if rng.random() < NGRAM_RATE and len(new) > 2:
                n = rng.randint(1, min(LONGEST_NGRAM, len(new)))
                start = rng.randint(0, len(new) - n)
                new = new[start : start + n]
            sentences.append(new)
    numbers = list(range(1, len(sentences) + 1))
    return [
        SentenceFile(f"{train.source} x{copies} altered", sentences, None, numbers, len(numbers), 0)
    ]


def distillation_loss(temperature: float) -> LossFn:
    """The cost of the module docstring, summed over a batch. Targets (N, 3): label y, its
    weight w (α for a labelled sentence, 0 for an unlabelled one) and the teacher's p; each
    sentence costs w · BCE(s, y) + (1 − w) · T² · BCE(s / T, p). Training accuracy counts
    against w·y + (1 − w)·p (at T = 1 the one target the cost pulls toward).

    Example:
        >>> loss = distillation_loss(temperature=1.0)
        >>> total, reference = loss(torch.zeros(1), torch.tensor([[1.0, 0.5, 0.9]]))
        >>> reference  # alpha * y + (1 - alpha) * p
        tensor([0.9500])
    """
    bce = nn.functional.binary_cross_entropy_with_logits

    def loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        label, weight, teacher = targets.unbind(dim=1)  # (N,) each
        hard = bce(logits, label, reduction="none")  # (N,)
        soft = bce(logits / temperature, teacher, reduction="none")  # (N,)
        total = weight * hard + (1 - weight) * temperature**2 * soft
        return total.sum(), weight * label + (1 - weight) * teacher

    return loss


@dataclass
class Distillation:
    """What distillation adds to a run: the teacher, the unlabelled sentences, α (the weight
    of the labels' term on labelled sentences, in [0, 1]) and the temperature T > 0. ``threads``:
    CPU threads of a minilm teacher's pass (None: the student's, often 1 for a word student).

    Example:
        >>> Distillation(load_teachers(["runs/a/best.pt"]), [], alpha=0.5).temperature
        1.0
    """

    teachers: list[Teacher]
    unlabelled: list[SentenceFile]
    alpha: float = 0.5
    temperature: float = 1.0
    threads: int | None = None
    augment: int = 0  # altered copies of each training sentence (``augmented``), unlabelled
    seed: int = 0  # of the alterations
    cache: Path | None = (
        None  # the teacher-logit cache folder (None: ``data.root.cache_dir("teacher_logits")``)
    )
    name: str = ""  # the run's display name in its figure titles (``display_name``); "": its model

    def __post_init__(self) -> None:
        if not (0 <= self.alpha <= 1 and self.temperature > 0 and self.teachers):
            raise ValueError("distillation needs a teacher, 0 ≤ alpha ≤ 1 and temperature > 0")

    def teacher_outputs(
        self, splits: dict[str, SentenceFile], unlabelled: list[SentenceFile], device: str
    ) -> dict[str, Any]:
        """``p``: the teacher's p (N,) on train and on each ``unlabelled`` set (named
        ``unlabelled I``), T applied; ``accuracy``: its own on dev and test (T = 1, as
        ``predict``); ``sets``: the logit vectors used, ``cached``: how many the cache held.

        Example:
            >>> outputs = distillation.teacher_outputs(splits, [], "cpu")
            >>> sorted(outputs["accuracy"])
            ['dev', 'test']
        """
        evaluated = {name: splits[name] for name in ("dev", "test") if name in splits}
        extra = {f"unlabelled {i}": f for i, f in enumerate(unlabelled)}
        p, cached = {}, 0
        with torch_threads(self.threads):
            for name, sentences in {"train": splits["train"], **extra, **evaluated}.items():
                temperature = 1.0 if name in evaluated else self.temperature
                p[name], hits = teacher_probabilities(
                    self.teachers,
                    sentences.sentences,
                    temperature,
                    device=device,
                    cache=self.cache,
                )
                cached += hits
        accuracy = {
            name: float(((p[name] >= 0.5) == (torch.tensor(f.labels) == 1)).float().mean())
            for name, f in evaluated.items()
        }
        sets = len(self.teachers) * len(p)
        return {"p": p, "accuracy": accuracy, "sets": sets, "cached": cached}

    def training_set(self, splits: dict[str, SentenceFile], ctx: DistContext) -> TrainingSet:
        """Train then unlabelled sentences with (y, w, p) targets (``distillation_loss``); rank 0
        runs the teacher (or reads the cache) and sends the results to the other ranks.

        Example:
            >>> trained_on = distillation.training_set(splits, SINGLE_PROCESS)
            >>> len(trained_on.sentences) == len(splits["train"])
            True
        """
        unlabelled = self.unlabelled + augmented(splits["train"], self.augment, self.seed)
        mine = self.teacher_outputs(splits, unlabelled, ctx.device) if ctx.is_main else None
        outputs: dict[str, Any] = distributed.broadcast_object(mine, ctx)
        p, train = outputs["p"], splits["train"]
        targets = [
            (float(y), self.alpha, teacher)
            for y, teacher in zip(train.labels or [], p["train"].tolist(), strict=True)
        ]
        for i in range(len(unlabelled)):
            targets += [(0.0, 0.0, teacher) for teacher in p[f"unlabelled {i}"].tolist()]
        extra = [tokens for f in unlabelled for tokens in f.sentences]
        if ctx.is_main:
            scores = " / ".join(f"{k} {100 * v:.2f} %" for k, v in outputs["accuracy"].items())
            cached = f"{outputs['cached']} of {outputs['sets']} logit sets from the cache"
            print(f"teacher: {scores} ({cached})")
        settings = {"alpha": self.alpha, "temperature": self.temperature, "augment": self.augment}
        fingerprint = {
            "teachers_sha256": [teacher.sha256 for teacher in self.teachers],
            "unlabelled_sha256": sentences_sha256(extra),
            **settings,
        }
        return TrainingSet(
            train.sentences + extra,
            targets,
            distillation_loss(self.temperature),
            {"distillation": fingerprint},
            {"distillation": self.record(outputs, settings, unlabelled)}
            | ({"name": self.name} if self.name else {}),
        )

    def record(
        self, outputs: dict[str, Any], settings: dict[str, float], unlabelled: list[SentenceFile]
    ) -> dict[str, Any]:
        """The ``distillation`` entry of ``metrics.json`` (accuracies as fractions).

        Example:
            >>> distillation.record(outputs, {"alpha": 0.5}, [])["alpha"]
            0.5
        """
        teachers = [
            {"path": str(t.path), "sha256": t.sha256, "model": t.classifier.config.model}
            for t in self.teachers
        ]
        return {
            "teachers": teachers,
            "teacher_accuracy": outputs["accuracy"],
            **settings,
            "unlabelled": {
                "files": [f.source for f in unlabelled],
                "sentences": sum(len(f) for f in unlabelled),
                "skipped_lines": [f.skipped for f in unlabelled],
            },
            "teacher_logits": {
                "cached": outputs["cached"],
                "computed": outputs["sets"] - outputs["cached"],
                "cache": str(self.cache or cache_dir(TEACHER_LOGITS)),
            },
        }


def display_name(student: str, teachers: Sequence[Teacher]) -> str:
    """What a distilled run is called in its figure titles and printed summary: the student's
    kind and its teachers' (an ensemble's members joined by "+"), so that its curves and
    confusion matrix are not taken for those of a model of its kind trained on the labels.

    Example:
        >>> display_name("bow", load_teachers(["runs/c/bow/best.pt", "runs/c/glove-avg/best.pt"]))
        'distilled bow ← bow + glove-avg'
    """
    return f"distilled {student} ← " + " + ".join(t.classifier.config.model for t in teachers)


def distill(
    config: Config,
    teachers: Sequence[str | os.PathLike[str]],
    *,
    unlabelled: Sequence[str | os.PathLike[str]] = (),
    alpha: float = 0.5,
    temperature: float = 1.0,
    augment: int = 0,
    cache: str | os.PathLike[str] | None = None,
) -> Result:
    """Train the student ``config`` (its data, output folder, resume and device as in
    ``run.train``) on the training sentences and the ``unlabelled`` files (and ``augment``
    altered copies of each training sentence) against the ``teachers`` (one checkpoint, or an
    ensemble), whose logits are cached in ``cache`` (None: ``data.root.cache_dir("teacher_logits")``); the run's
    ``Result``, whose ``details`` hold a ``distillation`` record and the run's ``name``
    (``display_name``: its figures' titles).

    Example:
        >>> student = Config(model="bow", data="my_text_dir", out="runs/student")
        >>> distill(student, ["runs/sentiment/bilstm/best.pt"]).metrics["dev_acc"]
        0.97
    """
    out = Path(config.out or f"runs/sentiment/distill-{config.model}").resolve()
    for path in teachers:
        if Path(path).resolve() in (out / BEST_CHECKPOINT, out / LAST_CHECKPOINT):
            raise DlcError(f"{path}: the run would overwrite this teacher; choose another --out")
    loaded = load_teachers(teachers)
    normaliser = config.text_normaliser()
    extra = [
        read_unlabelled(path, config.skip_bad_lines, normaliser=normaliser) for path in unlabelled
    ]
    # the run sets the student's threads (1 for a word model); a minilm teacher gets the
    # student's --threads, else PyTorch's default
    threads = config.threads or torch.get_num_threads()
    distillation = Distillation(
        loaded,
        extra,
        alpha=alpha,
        temperature=temperature,
        threads=threads,
        augment=augment,
        seed=config.seed,
        cache=None if cache is None else Path(cache),
        name=display_name(config.model, loaded),
    )
    student = replace(config, out=str(out))
    return train(student, training_set=distillation.training_set)
