"""``dlc sentiment distill``: the loss, the student following its teacher, the teacher-logit cache,
the errors; and the fast ``predict`` (sentences/s, int8 MiniLM)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dlclassics.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from dlclassics.cli import main
from dlclassics.data.manifest import sha256_file
from dlclassics.sentiment import distill, quantize
from dlclassics.sentiment.classifier import (
    KIND,
    Classifier,
    build_classifier,
    load_classifier,
    sentence_logits,
)
from dlclassics.sentiment.config import Config
from dlclassics.sentiment.text import read_sentences, subsample
from dlclassics.sentiment.vocab import Vocabulary
from toy_sentiment import NEGATIVE, NEUTRAL, POSITIVE, sentence, write_lines, write_toy_yelp

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/dev/test.txt (400/100/100 labelled lines, alternating) and unlabelled.txt (50)."""
    return write_toy_yelp(tmp_path_factory.mktemp("toy_yelp"))


def bow_teacher(path: Path, strength: float) -> Path:
    """A bag-of-words checkpoint set by hand: logit = ``strength`` per positive word and
    −``strength`` per negative one; a negative ``strength`` contradicts every label."""
    vocab = Vocabulary.build([POSITIVE + NEGATIVE + NEUTRAL])
    config = replace(Config("bow"), vocab_size=len(vocab))
    classifier = build_classifier(config, vocab)
    with torch.no_grad():
        for words, sign in ((POSITIVE, 1), (NEGATIVE, -1)):
            for word in words:
                classifier.model.weights.weight[vocab.index[word]] = sign * strength
    state = classifier.model.state_dict()
    save_checkpoint(make_checkpoint(KIND, state, config.checkpoint_config(), vocab.words), path)
    return path


@pytest.fixture(scope="module")
def inverted_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A teacher that is wrong on every toy sentence, and sure of it."""
    return bow_teacher(tmp_path_factory.mktemp("teacher") / "best.pt", -4.0)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own cache folder: nothing is read from or written to the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "dlclassics" / "teacher_logits"


def single_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("dlc: error: ") and err.count("\n") == 1, err
    return err


def predicted_labels(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[str], str]:
    """``dlc sentiment predict ARGS``: its output lines and standard error."""
    assert main(["sentiment", "predict", *args]) == 0
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err


def test_the_loss_is_bce_on_mixed_targets_at_t1_and_scales_by_t_squared() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(8, generator=generator) * 3
    label = torch.randint(0, 2, (8,), generator=generator).float()
    teacher = torch.rand(8, generator=generator)
    weight = torch.tensor([0.3] * 5 + [0.0] * 3)  # 5 labelled (alpha 0.3), 3 unlabelled
    targets = torch.stack([label, weight, teacher], dim=1)  # (8, 3)
    total, reference = distill.distillation_loss(1.0)(logits, targets)
    mixed = weight * label + (1 - weight) * teacher
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert total == pytest.approx(float(bce(logits, mixed, reduction="sum")), rel=1e-5)
    assert torch.allclose(reference, mixed)
    # at T: d/ds of T² · BCE(s / T, p) is T · (σ(s / T) − p); the label does not count at w = 0
    s = logits.clone().requires_grad_(True)
    soft_only = torch.stack([1 - label, torch.zeros(8), teacher], dim=1)
    distill.distillation_loss(2.0)(s, soft_only)[0].backward()
    assert torch.allclose(s.grad, 2.0 * (torch.sigmoid(logits / 2.0) - teacher), atol=1e-6)


def test_the_soft_term_alone_makes_the_student_follow_a_teacher_against_the_labels(
    data_dir: Path, inverted_teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def distilled(out: Path, *extra: str) -> dict:
        args = ["sentiment", "distill", "--teacher", str(inverted_teacher), "--student", "bow"]
        settings = ["--epochs", "2", "--batch-size", "16", "--lr", "0.05", "-o", str(out)]
        assert main([*args, "--data", str(data_dir), *settings, *extra]) == 0
        assert "teacher: dev 0.00 % / test 0.00 %" in capsys.readouterr().out
        return json.loads((out / "metrics.json").read_text())

    follower = distilled(tmp_path / "follower", "--alpha", "0")
    record = follower["distillation"]
    assert record["teacher_accuracy"] == {"dev": 0.0, "test": 0.0}
    assert record["alpha"] == 0.0 and record["temperature"] == 1.0
    assert record["unlabelled"]["sentences"] == 50  # data_dir/unlabelled.txt by default
    assert record["teachers"][0]["sha256"] == sha256_file(inverted_teacher)
    logits = record["teacher_logits"]  # train, unlabelled.txt, dev, test: each computed
    assert (logits["cached"], logits["computed"]) == (0, 4)
    assert follower["accuracy"]["test"] < 0.1  # it learnt the teacher's answers, not the labels
    assert follower["name"] == "distilled bow ← bow"  # its figures' titles: not "bow on test"
    # an ordinary checkpoint: predict reads it, and it answers like its teacher
    student = tmp_path / "follower" / "best.pt"
    assert load_classifier(student).config.model == "bow"
    test_file = str(data_dir / "test.txt")
    ours, err = predicted_labels(capsys, "--checkpoint", str(student), test_file)
    theirs, _ = predicted_labels(capsys, "--checkpoint", str(inverted_teacher), test_file)
    assert sum(a == b for a, b in zip(ours, theirs, strict=True)) >= 95 and "accuracy " in err

    # the labels alone (alpha 1, no unlabelled sentences): the student learns the labels, and
    # the teacher's logits on train, dev and test come from the cache
    labelled = distilled(tmp_path / "labelled", "--alpha", "1", "--no-unlabelled")
    assert labelled["accuracy"]["test"] > 0.9
    assert labelled["distillation"]["unlabelled"]["sentences"] == 0
    logits = labelled["distillation"]["teacher_logits"]
    assert (logits["cached"], logits["computed"]) == (3, 0)


def test_teacher_logits_are_cached_and_recomputed_when_the_teacher_or_the_data_change(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[int] = []
    real = distill.sentence_logits

    def counted(classifier, sentences):
        passes.append(len(sentences))
        return real(classifier, sentences)

    monkeypatch.setattr(distill, "sentence_logits", counted)
    sentences = [["great", "food"], ["rude", "staff", "."], ["the", "table"]]
    path = bow_teacher(tmp_path / "teacher.pt", -4.0)
    teachers = distill.load_teachers([path])
    first, hits = distill.teacher_probabilities(teachers, sentences)
    assert passes == [3] and hits == 0 and len(list(private_cache.glob("*.npy"))) == 1
    again, hits = distill.teacher_probabilities(teachers, sentences)
    assert passes == [3] and hits == 1 and torch.equal(first, again)
    # the temperature is applied after the cache: no teacher pass
    softer, hits = distill.teacher_probabilities(teachers, sentences, temperature=2.0)
    assert passes == [3] and hits == 1
    assert torch.allclose(softer, torch.sigmoid(torch.logit(first) / 2.0), atol=1e-5)
    # other data: a teacher pass
    distill.teacher_probabilities(teachers, [*sentences[:2], ["lovely", "table"]])
    assert passes == [3, 3]
    # another teacher under the same name: a teacher pass, and its own answers
    changed = distill.load_teachers([bow_teacher(path, 2.0)])
    theirs, hits = distill.teacher_probabilities(changed, sentences)
    assert passes == [3, 3, 3] and hits == 0 and theirs[0] > 0.5 > first[0]
    # a damaged entry is computed again, not read
    for entry in private_cache.glob("*.npy"):
        entry.write_bytes(b"\x93NUMPY damaged")
    assert torch.equal(distill.teacher_probabilities(teachers, sentences)[0], first)
    assert passes == [3, 3, 3, 3]
    # an ensemble: the mean of its members' probabilities (the changed one's entry was damaged)
    both, hits = distill.teacher_probabilities([*teachers, *changed], sentences)
    assert hits == 1 and passes == [3, 3, 3, 3, 3] and torch.allclose(both, (first + theirs) / 2)
    # other arithmetic (as bf16 autocast on a GPU would be): a teacher pass, not the CPU's logits
    monkeypatch.setattr(distill, "autocast_dtype", lambda device, precision: torch.bfloat16)
    distill.teacher_probabilities(teachers, sentences)
    assert passes == [3, 3, 3, 3, 3, 3]


@pytest.mark.parametrize("problem", ["missing", "transfer", "labelled", "bad line", "own out"])
def test_distill_input_errors_are_one_line(
    problem: str,
    data_dir: Path,
    inverted_teacher: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    teacher, out = str(inverted_teacher), tmp_path / "run"
    extra: list[str] = []
    if problem == "missing":
        teacher, expected = str(tmp_path / "none.pt"), "none.pt: checkpoint not found"
    elif problem == "transfer":
        weights = {"head.weight": torch.zeros(2, 4)}
        other = make_checkpoint("transfer", weights, {"backbone": "x"}, ["a", "b"])
        teacher = str(save_checkpoint(other, tmp_path / "transfer.pt"))
        expected = "a transfer checkpoint, expected a sentiment checkpoint"
    elif problem == "labelled":
        extra, expected = ["--unlabelled", str(data_dir / "dev.txt")], "dev.txt: looks labelled"
    elif problem == "bad line":
        bad = write_lines(tmp_path / "u.txt", ["great food", "", "rude staff"])
        extra, expected = ["--unlabelled", str(bad)], "u.txt:2: empty line"
    else:
        out, expected = inverted_teacher.parent, "would overwrite this teacher"
    args = ["sentiment", "distill", "--teacher", teacher, "--student", "bow", "-o", str(out)]
    assert main([*args, "--data", str(data_dir), *extra]) == 2
    assert expected in single_error(capsys)
    with pytest.raises(SystemExit):
        main([*args, "--alpha", "1.5"])
    assert "--alpha: 1.5 is not in [0.0, 1.0]" in single_error(capsys)


def test_resume_with_another_alpha_is_refused(
    data_dir: Path, inverted_teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sentiment", "distill", "--teacher", str(inverted_teacher), "--student", "bow"]
    args += ["--data", str(data_dir), "-o", str(tmp_path / "run")]
    assert main([*args, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main([*args, "--epochs", "2", "--resume", "--alpha", "0.3"]) == 2
    assert "last.pt: written with a different fingerprint" in single_error(capsys)
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    last = load_checkpoint(tmp_path / "run" / "last.pt", KIND, ("loop",))
    assert last["loop"]["state"]["epochs_done"] == 2


def test_predict_reports_its_speed_and_keeps_word_models_in_float(
    inverted_teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(1)
    many = write_lines(tmp_path / "many.txt", [sentence(rng, i % 2) for i in range(2000)])
    few = write_lines(tmp_path / "few.txt", [sentence(rng, i % 2) for i in range(100)])
    ckpt = str(inverted_teacher)
    labels, err = predicted_labels(capsys, "--checkpoint", ckpt, str(many))
    assert len(labels) == 2000 and "2000 sentences in " in err and " sentences/s on cpu" in err
    assert "sentences/s" not in predicted_labels(capsys, "--checkpoint", ckpt, str(few))[1]
    same, err = predicted_labels(capsys, "--quantize", "int8", "--checkpoint", ckpt, str(many))
    assert same == labels and "--quantize int8 ignored for the word model bow" in err
    args = ["sentiment", "predict", "--quantize", "int8", "--device", "cuda"]
    assert main([*args, "--checkpoint", ckpt, str(few)]) == 2
    assert "--quantize int8 runs on the CPU" in single_error(capsys)


def agreement(first: torch.Tensor, second: torch.Tensor) -> float:
    """The fraction of sentences two logit vectors (N,) give the same label."""
    return float(((first >= 0) == (second >= 0)).float().mean())


def test_int8_minilm_agrees_with_float_minilm(
    yelp_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MiniLM fine-tuned for one pass over 320 Yelp sentences, float vs int8: the same label on
    ≥ 99 % of those sentences (100 % here), and on ≥ 94 % of 100 held-out ones (97 % here): a
    model trained this briefly leaves 12 % of them near P = 0.5, where int8 rounding can tip the
    label (trained on 4000: 99.2 % of 1000 held-out sentences, see ``quantize_int8``)."""
    torch.manual_seed(0)
    classifier = build_classifier(Config("minilm", dropout=0.0), vocab=None)
    model = classifier.model.train()
    train = subsample(read_sentences(yelp_root / "train.txt"), 320, seed=0)
    examples = list(classifier.dataset(train.sentences, train.labels))
    random.Random(0).shuffle(examples)  # the file is sorted by label
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    for start in range(0, len(examples), 16):
        inputs, labels = classifier.collate(examples[start : start + 16])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(**inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    held_out = subsample(read_sentences(yelp_root / "dev.txt"), 100, seed=1)
    quantized = quantize.quantize_int8(classifier)
    floats = [m for m in model.modules() if type(m) is torch.nn.Linear]
    int8 = torch.ao.nn.quantized.dynamic.Linear
    assert not any(type(m) is torch.nn.Linear for m in quantized.model.modules())
    assert sum(isinstance(m, int8) for m in quantized.model.modules()) == len(floats) > 30
    for sample, least in ((train, 0.99), (held_out, 0.94)):
        float_logits = sentence_logits(classifier, sample.sentences)
        int8_logits = sentence_logits(quantized, sample.sentences)
        assert not torch.equal(float_logits, int8_logits)  # it did change the arithmetic
        assert agreement(float_logits, int8_logits) >= least
    truth = torch.tensor(held_out.labels) == 1
    assert ((float_logits >= 0) == truth).float().mean() > 0.85  # a real classifier
    # the same through the command line, from a checkpoint
    ckpt = tmp_path / "minilm.pt"
    state = classifier.model.state_dict()
    save_checkpoint(make_checkpoint(KIND, state, classifier.config.checkpoint_config()), ckpt)
    source = write_lines(tmp_path / "dev.txt", [" ".join(t) for t in held_out.sentences])
    lines, _ = predicted_labels(
        capsys, "--quantize", "int8", "--checkpoint", str(ckpt), str(source)
    )
    assert lines == [str(int(x >= 0)) for x in int8_logits.tolist()]


def test_augment_adds_seeded_altered_copies_for_the_teacher_to_label(
    data_dir: Path, inverted_teacher: Path, tmp_path: Path
) -> None:
    train = read_sentences(data_dir / "train.txt", True)
    (copies,) = distill.augmented(train, 2, seed=0)
    assert len(copies) == 2 * len(train) and copies.labels is None
    assert copies.sentences == distill.augmented(train, 2, seed=0)[0].sentences  # seeded
    assert copies.sentences != distill.augmented(train, 2, seed=1)[0].sentences
    words = [w for s in copies.sentences for w in s]
    assert 0.05 < words.count(distill.MASK) / len(words) < 0.15  # MASK_RATE 0.1
    originals = [" ".join(s) for s in train.sentences for _ in range(2)]
    altered = [" ".join(s) for s in copies.sentences]
    assert sum(a != b for a, b in zip(altered, originals, strict=True)) > len(altered) / 2
    assert distill.augmented(train, 0, seed=0) == []
    # through the command: the copies are labelled by the teacher and trained on
    out = tmp_path / "augmented"
    args = ["sentiment", "distill", "--teacher", str(inverted_teacher), "--student", "bow"]
    settings = ["--epochs", "1", "--no-unlabelled", "--augment", "1", "-o", str(out)]
    assert main([*args, "--data", str(data_dir), *settings]) == 0
    record = json.loads((out / "metrics.json").read_text())["distillation"]
    assert record["augment"] == 1 and record["unlabelled"]["sentences"] == len(train)


def test_int8_full_range_activations_round_more_finely(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the CPU allows it (VNNI), int8 layers quantise activations to all 8 bits instead of
    torch's default 7: a linear layer's error against float32 drops by about half."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(256, 64)
    inputs = torch.randn(512, 256)
    config = Config("bow", vocab_size=256)
    errors = {}
    for full_range in (False, True):
        monkeypatch.setattr(quantize, "full_range_activations", lambda f=full_range: f)
        plain = Classifier(torch.nn.Sequential(layer), config, None, None)
        quantized = quantize.quantize_int8(plain).model
        with torch.no_grad():
            errors[full_range] = (quantized(inputs) - layer(inputs)).abs().mean().item()
    assert errors[True] < 0.7 * errors[False]


def test_cache_dir_holds_the_teacher_logits(
    data_dir: Path, inverted_teacher: Path, tmp_path: Path
) -> None:
    cache, out = tmp_path / "my_cache", tmp_path / "run"
    args = ["sentiment", "distill", "--teacher", str(inverted_teacher), "--student", "bow"]
    settings = ["--epochs", "1", "--no-unlabelled", "--cache-dir", str(cache), "-o", str(out)]
    assert main([*args, "--data", str(data_dir), *settings]) == 0
    record = json.loads((out / "metrics.json").read_text())["distillation"]["teacher_logits"]
    assert record["cache"] == str(cache) and len(list(cache.glob("*.npy"))) == 3  # train, dev, test
