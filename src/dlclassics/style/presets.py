"""Which layers measure content and style, per backbone, and how much each loss term counts.

Layer names are the ``Backbone.layers`` names (see ``dlclassics.backbones``).

- ``efficientnet_lite0`` (default, offline weights): tuned here on the three reference pairs at
  192–256 px, 200 Adam steps (see benchmarks/RESULTS.md). Its block outputs are linear-bottleneck
  projections (no ReLU), so their Gram matrices have larger entries than ReLU features and the
  weights are smaller than the reference's.
- ``squeezenet1_1``: the CS231n reference. Its layer indices 3 (content) and 1, 4, 6, 7 (style)
  into ``features`` are relu1, fire3, fire4, fire5 (content fire2) in our names.
- ``vgg19``: Gatys et al.'s classic choice, content relu4_2 and style relu1_1 … relu5_1, w_l = 1/5.
  The paper's ½Σ(F−P)² with α/β = 1e-3 and E_l = Σ(G−A)²/(4N²M²) on unnormalised Gram matrices
  of Caffe features (0–255 inputs, ≈ 57.6× torchvision's normalised ones) becomes, with our Gram
  divided by C·H·W, wc/ws_l = 1e-3 · ½ · 57.6² / (¼ · ⅕ · 57.6⁴) ≈ 3e-6. Not tuned here: vgg19's
  weights download from the internet at run time, so no test or benchmark can run them offline.

Adam learning rates are in [0, 1] pixel units (the optimised image is clamped to [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dlclassics.errors import DlcError

# The reference optimised ImageNet-normalised pixels; one normalised unit is ~0.226 pixel units.
IMAGENET_PIXEL_STD = 0.226


@dataclass(frozen=True)
class LayerPreset:
    """Layer choice and loss weights (wc, ws_l one per style layer, wtv) for one backbone, and
    Adam's learning rates for the first 90 % of the iterations and the rest (default: the
    reference's 3.0 and 0.1 in normalised units)."""

    backbone: str
    content_layer: str
    content_weight: float
    style_layers: tuple[str, ...]
    style_weight: tuple[float, ...]
    tv_weight: float
    lr: float = 3.0 * IMAGENET_PIXEL_STD
    lr_decayed: float = 0.1 * IMAGENET_PIXEL_STD


PRESETS: dict[str, LayerPreset] = {
    "efficientnet_lite0": LayerPreset(
        backbone="efficientnet_lite0",
        content_layer="block4",
        content_weight=5e-4,
        style_layers=("stem", "block1", "block3", "block5"),
        style_weight=(300.0, 2.5, 7.0, 8.0),
        tv_weight=1e-2,
        lr=0.05,
        lr_decayed=0.005,
    ),
    "squeezenet1_1": LayerPreset(
        backbone="squeezenet1_1",
        content_layer="fire2",
        content_weight=6e-2,
        style_layers=("relu1", "fire3", "fire4", "fire5"),
        style_weight=(300000.0, 1000.0, 15.0, 3.0),
        tv_weight=2e-2,
    ),
    "vgg19": LayerPreset(
        backbone="vgg19",
        content_layer="relu4_2",
        content_weight=3e-3,
        style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        style_weight=(1000.0,) * 5,
        tv_weight=1e-2,
    ),
}


def preset_for(backbone: str) -> LayerPreset:
    """The layer preset of ``backbone``; backbones without one (resnet18) are a DlcError."""
    try:
        return PRESETS[backbone]
    except KeyError:
        raise DlcError(
            f"no style-transfer preset for backbone {backbone!r}; choose from {', '.join(PRESETS)} "
            "(or give --content-layer, --style-layers and --style-weight)"
        ) from None


@dataclass(frozen=True)
class ReferencePair:
    """One of the reference experiment's three images: Tübingen painted in the style of
    ``<name>.jpg`` (both in ``<data root>/styles``; ``name`` is also the output sub-folder), the
    style image's shorter side ``style_size`` as in the reference, and the reference's own
    squeezenet1_1 weights for the pair (CS231n)."""

    name: str
    style_size: int
    squeezenet: LayerPreset
    content_file: str = "tubingen.jpg"

    @property
    def style_file(self) -> str:
        return f"{self.name}.jpg"


REFERENCE_SIZE = 192  # shorter side of the generated image in the reference
REFERENCE_ITERATIONS = 200


def _squeezenet(content: float, style: tuple[float, ...], tv: float) -> LayerPreset:
    return replace(
        PRESETS["squeezenet1_1"], content_weight=content, style_weight=style, tv_weight=tv
    )


REFERENCE_PAIRS: tuple[ReferencePair, ...] = (
    ReferencePair("composition_vii", 512, _squeezenet(5e-2, (20000.0, 500.0, 12.0, 1.0), 5e-2)),
    ReferencePair("the_scream", 224, _squeezenet(3e-2, (200000.0, 800.0, 12.0, 1.0), 2e-2)),
    ReferencePair("starry_night", 192, _squeezenet(6e-2, (300000.0, 1000.0, 15.0, 3.0), 2e-2)),
)
