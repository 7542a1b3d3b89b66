"""Explanations: Grad-CAM maps of the transfer classifier (shape, range, the class predicted, the
mirror symmetry of test-time flipping, agreement with ``pytorch_grad_cam``, overlay files), word
attributions of the sentiment predictor (exact leave-one-out, jsonl rows), and small deletion
checks on the real validation data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import cli, sentiment
from dlclassics.backbones import load_backbone
from dlclassics.errors import DlcError
from dlclassics.explain.attributions import add_attributions, explain_tokens, word_attributions
from dlclassics.explain.deletion import image_deletion, random_maps, top_mask, word_deletion
from dlclassics.explain.gradcam import (
    feature_layer,
    grad_cam,
    model_view,
    normalised,
    write_overlays,
)
from dlclassics.predictions import Prediction, render_predictions
from dlclassics.sentiment.packaged import MODEL
from dlclassics.transfer.classifier import Classifier
from dlclassics.transfer.model import TransferModel, imagenet_class_indices

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py
CLASSES = ["ants", "bees"]


def zero_shot(flip_tta: bool) -> Classifier:
    """EfficientNet-Lite0 with its ImageNet rows for ant and bee as the head: a trained-quality
    ants/bees classifier (97 % on the validation images) without training."""
    backbone = load_backbone("efficientnet_lite0")
    head = torch.nn.Linear(backbone.feature_dim, len(CLASSES))
    rows = imagenet_class_indices(CLASSES)
    with torch.no_grad():
        head.weight.copy_(backbone.imagenet_head.weight[rows])
        head.bias.copy_(backbone.imagenet_head.bias[rows])
    return Classifier(TransferModel(backbone, head, frozen_backbone=True).eval(), CLASSES, flip_tta)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return zero_shot(flip_tta=True)


@pytest.fixture(scope="module")
def val_images(hymenoptera_root: Path) -> list[Path]:
    """Every 10th validation image of each class (16 in all)."""
    return sorted((hymenoptera_root / "val").glob("*/*.jpg"))[::10]


@pytest.fixture(scope="module")
def packaged() -> sentiment.Classifier:
    return sentiment.load(device="cpu")


def test_grad_cam_explains_the_prediction(classifier: Classifier, val_images: list[Path]) -> None:
    images = val_images[:4]
    explained = grad_cam(classifier, images)
    assert [e.label for e in explained] == classifier.predict(images)
    probabilities = classifier.predict_proba(images).max(axis=1)
    np.testing.assert_allclose([e.probability for e in explained], probabilities, atol=1e-5)
    for e in explained:
        assert e.heatmap.shape == (224, 224) and e.heatmap.dtype == np.float32
        assert e.heatmap.min() == pytest.approx(0, abs=1e-6)
        assert e.heatmap.max() == pytest.approx(1, abs=1e-5)
        assert e.image.size == (224, 224) and e.overlay().size == (224, 224)
    assert explained[0].overlay().mode == "RGB"


def test_grad_cam_of_a_chosen_class_and_refusals(classifier: Classifier, val_images) -> None:
    [bees] = grad_cam(classifier, val_images[:1], labels=["bees"])
    [ants] = grad_cam(classifier, val_images[:1], labels=["ants"])
    assert (bees.label, ants.label) == ("bees", "ants")
    assert bees.probability + ants.probability == pytest.approx(1, abs=1e-5)
    assert not np.allclose(bees.heatmap, ants.heatmap)
    with pytest.raises(DlcError, match="no class 'wasps' to explain; the classes: ants, bees"):
        grad_cam(classifier, val_images[:1], labels=["wasps"])
    with pytest.raises(DlcError, match="1 images but 2 labels"):
        grad_cam(classifier, val_images[:1], labels=["ants", "bees"])


def test_a_mirrored_image_gets_the_mirrored_map(classifier: Classifier, val_images) -> None:
    """With flip_tta the map is the crop's and its mirror's: mirroring the image mirrors it."""
    square = Image.open(val_images[0]).convert("RGB").resize((256, 256))
    mirrored = square.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    plain, flipped = grad_cam(classifier, [square, mirrored])
    np.testing.assert_allclose(flipped.heatmap, plain.heatmap[:, ::-1], atol=1e-4)


def test_grad_cam_equals_pytorch_grad_cam(val_images: list[Path]) -> None:
    grad_cam_library = pytest.importorskip("pytorch_grad_cam", reason="pip install grad-cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    classifier = zero_shot(flip_tta=False)
    images = [Image.open(path).convert("RGB") for path in val_images[:3]]
    ours = grad_cam(classifier, images)
    batch = normalised(classifier, [model_view(classifier, image) for image in images])
    targets = [ClassifierOutputTarget(CLASSES.index(e.label)) for e in ours]
    model = zero_shot(flip_tta=False).model.requires_grad_(True)  # the library needs gradients
    with grad_cam_library.GradCAM(model=model, target_layers=[feature_layer(model)]) as cam:
        theirs = cam(input_tensor=batch, targets=targets)
    np.testing.assert_allclose(np.stack([e.heatmap for e in ours]), theirs, atol=1e-5)


def test_write_overlays_names_each_file(classifier: Classifier, val_images, tmp_path) -> None:
    twin = tmp_path / "other" / val_images[0].name
    twin.parent.mkdir()
    twin.write_bytes(val_images[0].read_bytes())
    written = write_overlays(classifier, [val_images[0], twin], tmp_path / "explained")
    stem = val_images[0].stem
    assert [p.name for p in written] == [f"{stem}_gradcam.png", f"{stem}-2_gradcam.png"]
    with Image.open(written[1]) as image:
        assert (image.format, image.size) == ("PNG", (224, 224))


def test_word_attributions_are_leave_one_out(packaged) -> None:
    text = "Great food, but the staff was rude."
    [explained] = word_attributions(packaged, [text])
    assert explained.tokens == packaged.normaliser(text)
    assert explained.label == packaged.predict([text])[0]
    column = packaged.classes.index(explained.label)
    full = packaged.predict_proba([text])[0, column]
    assert explained.probability == pytest.approx(full, abs=1e-6)
    tokens = explained.tokens
    for i, weight in enumerate(explained.weights):
        shorter = " ".join(tokens[:i] + tokens[i + 1 :])
        assert weight == pytest.approx(
            full - packaged.predict_proba([shorter])[0, column], abs=1e-5
        )
    assert explained.pairs()[0] == [tokens[0], explained.weights[0]]


def test_word_attributions_of_blank_and_one_word_sentences(packaged) -> None:
    blank, single = word_attributions(packaged, ["   ", "terrible"])
    assert blank is None
    assert single.tokens == ["terrible"] and single.label == "0"
    assert single.weights == [pytest.approx(single.probability - 0.5)]  # nothing left: 0.5
    assert explain_tokens(packaged, []) == []


def test_an_ensemble_is_explained_by_its_mean(packaged) -> None:
    ensemble = sentiment.load([MODEL, MODEL], device="cpu")  # two equal members: their mean
    text = "Rude staff, great food."
    [single] = word_attributions(packaged, [text])
    [pair] = word_attributions(ensemble, [text])
    assert (pair.tokens, pair.label) == (single.tokens, single.label)
    np.testing.assert_allclose(pair.weights, single.weights, atol=1e-6)


def test_attributions_in_jsonl_rows(packaged) -> None:
    rows = [
        Prediction("never again .", label="0"),
        Prediction(""),
        Prediction("great !", label="1"),
    ]
    add_attributions(packaged, rows)
    parsed = [json.loads(line) for line in render_predictions(rows, "jsonl", str).splitlines()]
    assert [word for word, _ in parsed[0]["attributions"]] == ["never", "again", "."]
    assert "attributions" not in parsed[1]
    assert all(isinstance(weight, float) for _, weight in parsed[2]["attributions"])


def test_sentiment_predict_explain_adds_attributions_of_raw_text(tmp_path: Path, capsys) -> None:
    text = tmp_path / "reviews.txt"
    text.write_text("Great food!\n\nNever again.\n")
    assert cli.main(["sentiment", "predict", str(text), "--format", "jsonl", "--explain"]) == 0
    parsed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [word for word, _ in parsed[0]["attributions"]] == ["great", "food", "!"]
    assert parsed[1] == {"input": "", "label": None}
    assert cli.main(["sentiment", "predict", str(text), "--explain"]) == 2
    assert "--format csv or jsonl" in capsys.readouterr().err


def test_top_mask_and_random_maps() -> None:
    maps = random_maps(3, (7, 7), (224, 224), seed=0)
    assert maps.shape == (3, 224, 224) and maps.min() >= 0 and maps.max() <= 1
    assert torch.equal(maps, random_maps(3, (7, 7), (224, 224), seed=0))
    mask = top_mask(maps, 0.2)
    assert mask.flatten(1).sum(dim=1).tolist() == [round(0.2 * 224 * 224)] * 3
    for one_map, one_mask in zip(maps, mask, strict=True):
        assert one_map[one_mask].min() >= one_map[~one_mask].max()


def test_image_deletion_check_passes(classifier: Classifier, val_images: list[Path]) -> None:
    summary = image_deletion(classifier, val_images).summary()
    assert summary["items"] == len(val_images)
    assert summary["mean_targeted_drop"] > summary["mean_random_drop"]


def test_word_deletion_check_passes(packaged, yelp_root: Path) -> None:
    lines = (yelp_root / "dev.txt").read_text(encoding="utf-8").splitlines()[:120]
    sentences = [line.split()[1:] for line in lines]
    one = word_deletion(packaged, sentences, words=1).summary()
    assert one["items"] == sum(len(s) > 1 for s in sentences)
    assert one["mean_targeted_drop"] > one["mean_random_drop"]
    assert one["targeted_flip_rate"] > one["random_flip_rate"]
    two = word_deletion(packaged, sentences, words=2).summary()
    assert two["verdict"] == "better"
