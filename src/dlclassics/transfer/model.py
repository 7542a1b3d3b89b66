"""The transfer model: a pretrained backbone plus a new linear head, the ImageNet class mapping,
and how the model is scored (the loss of a training batch, the evaluation of a split).

When every class folder names an ImageNet category (``ants`` → ``ant``, index 310; ``bees`` →
``bee``, 309), the backbone's own ImageNet classifier already separates them: its rows for those
categories give a zero-shot classifier, and they are the natural starting point for the new head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.backbones import Backbone, imagenet_categories
from dlclassics.training import EvalResult


def _name_forms(name: str) -> list[str]:
    """A folder name, lower-cased with ``_``/``-`` as spaces, and its singular forms."""
    base = name.lower().replace("_", " ").replace("-", " ").strip()
    forms = [base]
    if base.endswith("ies"):
        forms.append(base[:-3] + "y")
    if base.endswith("es"):
        forms.append(base[:-2])
    if base.endswith("s"):
        forms.append(base[:-1])
    return forms


def imagenet_class_indices(class_names: list[str]) -> list[int] | None:
    """The ImageNet index naming each class, or None unless every class maps to exactly one.

    A class maps when its folder name, or a singular form of it, equals one ImageNet category
    name (case-insensitive; ``_`` and ``-`` read as spaces). A name matching no category, or
    two classes matching the same one, means no mapping.

    Example: ``["ants", "bees"]`` → ``[310, 309]``.
    """
    by_name: dict[str, list[int]] = {}
    for index, category in enumerate(imagenet_categories()):
        by_name.setdefault(category.lower(), []).append(index)
    indices = []
    for name in class_names:
        matches = next((by_name[f] for f in _name_forms(name) if f in by_name), [])
        if len(matches) != 1:
            return None
        indices.append(matches[0])
    return indices if len(set(indices)) == len(indices) else None


def new_head(
    backbone: Backbone,
    num_classes: int,
    init: str,
    imagenet_indices: list[int] | None,
    generator: torch.Generator,
) -> nn.Linear:
    """A new ``nn.Linear(feature_dim, num_classes)`` head.

    Args:
        init: "random" (PyTorch's default Linear initialisation, drawn from ``generator``) or
            "imagenet" (copy the ImageNet classifier rows ``imagenet_indices``; random when those
            are None or the backbone has no linear ImageNet classifier).
    """
    head = nn.Linear(backbone.feature_dim, num_classes)
    bound = 1.0 / backbone.feature_dim**0.5  # nn.Linear's default U(-1/sqrt(fan_in), +)
    with torch.no_grad():
        if init == "imagenet" and imagenet_indices and backbone.imagenet_head is not None:
            head.weight.copy_(backbone.imagenet_head.weight[imagenet_indices])
            head.bias.copy_(backbone.imagenet_head.bias[imagenet_indices])
        else:
            head.weight.uniform_(-bound, bound, generator=generator)
            head.bias.uniform_(-bound, bound, generator=generator)
    return head


class TransferModel(nn.Module):
    """Normalised images (N, 3, H, W) → class logits (N, num_classes): backbone then head.

    Args:
        frozen_backbone: no gradients into the backbone and BatchNorm kept in eval mode.
        frozen_bn: keep only BatchNorm in eval mode (its running statistics fixed) while the
            rest of the backbone trains.
    """

    def __init__(
        self, backbone: Backbone, head: nn.Linear, frozen_backbone: bool, frozen_bn: bool = False
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.frozen_backbone = frozen_backbone
        self.frozen_bn = frozen_bn or frozen_backbone
        self.backbone.requires_grad_(not frozen_backbone)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))

    def train(self, mode: bool = True) -> TransferModel:
        super().train(mode)
        if mode and self.frozen_backbone:
            self.backbone.eval()
        elif mode and self.frozen_bn:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


class ViewAverage(nn.Module):
    """Average a model's logits over several views of each input (test-time augmentation).

    Input (N, V, ...) → ``model`` on the N*V views → logits (N, V, C) → mean over V → (N, C).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        n, v = views.shape[:2]
        logits = self.model(views.flatten(0, 1))  # (N*V, C)
        return logits.view(n, v, -1).mean(dim=1)  # (N, C)


def classify_batch(
    model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], device: str
) -> tuple[torch.Tensor, int, int]:
    """Cross-entropy of one training batch of ``(inputs (B, ...), labels (B,))`` moved to
    ``device``: (mean loss, correct count, B) as ``training.Task.batch_loss`` wants them."""
    inputs, labels = (tensor.to(device) for tensor in batch)
    logits = model(inputs)  # (B, C)
    loss = F.cross_entropy(logits, labels)
    return loss, int((logits.argmax(dim=1) == labels).sum()), len(labels)


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor) -> EvalResult:
    """Logits (N, C) and labels (N,) → loss, accuracy and probabilities (on the CPU)."""
    loss = F.cross_entropy(logits.float(), labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return EvalResult(loss, accuracy, logits.float().softmax(dim=1).cpu(), labels.cpu())


def evaluate(model: nn.Module, loader: DataLoader, device: str) -> EvalResult:
    """Run ``model`` (inputs → logits (B, C)) over ``loader`` of ``(inputs, labels)`` batches."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    with torch.no_grad():
        for inputs, labels in tqdm(loader, desc="evaluate", disable=None, leave=False):
            all_logits.append(model(inputs.to(device)))
            all_labels.append(labels.to(device))
    model.train(was_training)
    return evaluate_logits(torch.cat(all_logits), torch.cat(all_labels))


def count_correct(result: EvalResult) -> int:
    """How many of the evaluated items were classified right."""
    return int((result.predictions == result.labels).sum())
