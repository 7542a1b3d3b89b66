"""Feature extraction, style blending, presets and image loading for style transfer."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from dlclassics.backbones import load_backbone
from dlclassics.errors import DlcError
from dlclassics.style.features import StyleFeatureExtractor, frozen_backbone
from dlclassics.style.images import load_pixels, pixels_to_pil, save_pixels
from dlclassics.style.losses import gram_matrix, style_loss
from dlclassics.style.optimize import LossWeights, OptimConfig, optimise_pixels
from dlclassics.style.presets import PRESETS, REFERENCE_PAIRS


@pytest.fixture(scope="module")
def lite0():
    return frozen_backbone("efficientnet_lite0")


def test_frozen_backbone_has_no_trainable_parameters_and_is_in_eval_mode(lite0):
    assert not any(p.requires_grad for p in lite0.parameters())
    assert not any(m.training for m in lite0.modules())


def test_extractor_matches_the_unfolded_backbone(lite0):
    """Folding BatchNorm into the convolutions and channels-last memory keep the features."""
    extractor = StyleFeatureExtractor(lite0, "block4", ["stem", "block1"])
    pixels = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    content, grams = extractor(pixels)
    plain = load_backbone("efficientnet_lite0")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in lite0.modules())
    with torch.no_grad():
        expected = plain.intermediate(plain.preprocessing.normalize(pixels), ["stem", "block4"])
    torch.testing.assert_close(content, expected["block4"], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(grams[0], gram_matrix(expected["stem"]), rtol=1e-4, atol=1e-5)
    assert grams[1].shape == (1, 24, 24)
    torch.testing.assert_close(extractor.content_target(pixels), content.detach())


def test_blended_style_target_has_the_gradient_of_the_weighted_style_losses(lite0):
    """Matching Σ b_k A_k has the same pixel gradient as Σ b_k ||G − A_k||² (Σ b_k = 1)."""
    extractor = StyleFeatureExtractor(lite0, "block1", ["stem", "block1"])
    generator = torch.Generator().manual_seed(1)
    styles = [torch.rand(1, 3, 32, 32, generator=generator) for _ in range(2)]
    blend, layer_weights = [3.0, 1.0], [100.0, 1.0]
    pixels = torch.rand(1, 3, 32, 32, generator=generator, requires_grad=True)

    blended = extractor.style_targets(styles, blend)
    _, grams = extractor(pixels)
    (blended_grad,) = torch.autograd.grad(style_loss(grams, blended, layer_weights), pixels)

    separate = [extractor.style_targets([s], [1.0]) for s in styles]
    _, grams = extractor(pixels)
    weighted = sum(
        b / sum(blend) * style_loss(grams, targets, layer_weights)
        for b, targets in zip(blend, separate, strict=True)
    )
    (separate_grad,) = torch.autograd.grad(weighted, pixels)
    scale = blended_grad.abs().max().item()
    torch.testing.assert_close(blended_grad, separate_grad, rtol=1e-3, atol=1e-4 * scale)


def test_bad_blend_weights_are_errors(lite0):
    extractor = StyleFeatureExtractor(lite0, "block1", ["stem"])
    style = torch.rand(1, 3, 16, 16)
    with pytest.raises(DlcError, match="must be >= 0 and not all 0"):
        extractor.style_targets([style, style], [1.0, -1.0])


def test_optimise_pixels_lowers_the_loss_and_keeps_pixels_in_range(lite0):
    extractor = StyleFeatureExtractor(lite0, "block2", ["stem", "block1"])
    generator = torch.Generator().manual_seed(2)
    content = torch.rand(1, 3, 32, 40, generator=generator)
    targets = extractor.style_targets([torch.rand(1, 3, 32, 32, generator=generator)], [1.0])
    weights = LossWeights(content=1e-3, style=(300.0, 3.0), tv=1e-2)
    for optimizer in ("adam", "lbfgs"):
        config = OptimConfig(iterations=8, optimizer=optimizer)
        result, history = optimise_pixels(
            extractor, content, targets, weights=weights, config=config, progress=False
        )
        assert result.shape == content.shape
        assert result.min().item() >= 0.0 and result.max().item() <= 1.0
        assert len(history.total) == 9
        assert history.total[-1] < history.total[0], optimizer
        assert history.content[0] == 0.0  # starts from the content image


def test_a_non_finite_loss_stops_the_optimisation(lite0):
    extractor = StyleFeatureExtractor(lite0, "block2", ["stem"])
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    targets = extractor.style_targets([content], [1.0])
    weights = LossWeights(content=float("nan"), style=(1.0,), tv=0.0)
    with pytest.raises(DlcError, match="style loss became nan at iteration 0"):
        optimise_pixels(
            extractor, content, targets, weights=weights, config=OptimConfig(2), progress=False
        )


def test_a_zero_gradient_step_is_not_an_error(lite0):
    """Nothing to optimise (no style, no TV, content start): the image stays, no error."""
    extractor = StyleFeatureExtractor(lite0, "block2", ["stem"])
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    targets = extractor.style_targets([content], [1.0])
    weights = LossWeights(content=1.0, style=(0.0,), tv=0.0)
    result, _ = optimise_pixels(
        extractor, content, targets, weights=weights, config=OptimConfig(2), progress=False
    )
    assert torch.equal(result, content)


@pytest.mark.parametrize("name", ["efficientnet_lite0", "squeezenet1_1", "vgg19"])
def test_every_preset_names_layers_of_its_backbone(name):
    preset = PRESETS[name]
    with torch.device("meta"):  # layer names only: no weights, no memory, no initialisation time
        backbone = load_backbone(name, weights=None)
    StyleFeatureExtractor(backbone, preset.content_layer, preset.style_layers)
    assert len(preset.style_weight) == len(preset.style_layers)


def test_squeezenet_preset_is_the_reference_layer_indices():
    """CS231n indexes ``squeezenet1_1.features``: content 3, style 1, 4, 6, 7."""
    with torch.device("meta"):
        names = load_backbone("squeezenet1_1", weights=None).layer_names
    preset = PRESETS["squeezenet1_1"]
    assert names.index(preset.content_layer) == 3
    assert [names.index(n) for n in preset.style_layers] == [1, 4, 6, 7]
    assert [p.style_file for p in REFERENCE_PAIRS] == [
        "composition_vii.jpg",
        "the_scream.jpg",
        "starry_night.jpg",
    ]


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_load_pixels_accepts_every_mode(tmp_path, mode):
    image = Image.new("RGB", (300, 200), (200, 40, 10))
    path = tmp_path / ("image.jpg" if mode == "CMYK" else "image.png")
    image.convert(mode).save(path)
    pixels = load_pixels(path, 50)
    assert pixels.shape == (1, 3, 50, 75)
    assert pixels.dtype == torch.float32 and pixels.min() >= 0.0 and pixels.max() <= 1.0


def test_pixels_round_trip_through_a_png(tmp_path):
    pixels = torch.rand(1, 3, 10, 12, generator=torch.Generator().manual_seed(3))
    save_pixels(pixels, tmp_path / "x.png")
    again = load_pixels(tmp_path / "x.png", 10)
    torch.testing.assert_close(again, pixels, atol=1 / 255, rtol=0)
    assert pixels_to_pil(pixels).size == (12, 10)


def test_unsupported_output_suffix_is_an_error(tmp_path):
    with pytest.raises(DlcError, match="Pillow writes no image format with the suffix"):
        save_pixels(torch.rand(1, 3, 4, 4), tmp_path / "x.gifx")


def test_settings_come_from_the_preset_unless_given(tmp_path):
    from dlclassics.style.config import Config
    from dlclassics.style.run import output_files, resolve_settings

    base = Config(content=tmp_path / "c.jpg", styles=(tmp_path / "s.jpg",), out=tmp_path)
    settings = resolve_settings(base)
    preset = PRESETS["efficientnet_lite0"]
    assert (settings.content_layer, settings.style_layers) == (
        preset.content_layer,
        preset.style_layers,
    )
    assert settings.weights.style == preset.style_weight and settings.optim.lr == preset.lr

    scaled = resolve_settings(Config(**{**base.__dict__, "style_scale": 2.0})).weights
    assert scaled.style == tuple(2 * w for w in preset.style_weight)

    # every field given: a backbone without a preset works too
    explicit = {
        "backbone": "resnet18",
        "content_layer": "layer2",
        "style_layers": ("conv1", "layer1"),
        "style_weight": (1.0, 2.0),
        "content_weight": 0.5,
        "tv_weight": 0.0,
        "lr": 0.01,
        "lr_decayed": 0.001,
    }
    explicit_settings = resolve_settings(Config(**{**base.__dict__, **explicit}))
    assert explicit_settings.style_layers == ("conv1", "layer1")
    assert explicit_settings.weights == LossWeights(0.5, (1.0, 2.0), 0.0)

    image = output_files(tmp_path / "a.JPG")
    assert (image.image, image.folder) == (tmp_path / "a.JPG", tmp_path)
    assert image.metrics == tmp_path / "a.metrics.json"
    folder = output_files(tmp_path / "run.v2")
    assert (folder.image, folder.folder) == (
        tmp_path / "run.v2" / "result.png",
        tmp_path / "run.v2",
    )
    assert folder.loss_figure == tmp_path / "run.v2" / "loss.png"
