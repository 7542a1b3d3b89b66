"""The transfer model (a pretrained backbone plus a new linear head) and how it is scored
(``classifier`` classifies images with a trained checkpoint, ``<out>/<mode>/best.pt``).

When every class folder names an ImageNet category (``ants`` → ``ant``, index 310; ``bees`` →
``bee``, 309), the backbone's own ImageNet classifier already separates them: its rows for those
categories give a zero-shot classifier and the natural starting point for the new head.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.backbones import Backbone, imagenet_categories
from dlclassics.training import EvalResult

CHECKPOINT_KIND = "transfer"


def _name_forms(name: str) -> list[str]:
    """A folder name, lower-cased with ``_``/``-`` as spaces, and its singular forms."""
    base = name.lower().replace("_", " ").replace("-", " ").strip()
    singulars = [("ies", base[:-3] + "y"), ("es", base[:-2]), ("s", base[:-1])]
    return [base] + [form for suffix, form in singulars if base.endswith(suffix)]


def imagenet_class_indices(class_names: list[str]) -> list[int] | None:
    """The ImageNet index naming each class (``["ants", "bees"]`` → ``[310, 309]``), or None
    unless every class's folder name, or a singular form of it, equals exactly one ImageNet
    category name (case-insensitive) and no two classes share one.

    Example:
        >>> imagenet_class_indices(["ants", "bees"])
        [310, 309]
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
    *,
    init: str,
    imagenet_indices: list[int] | None,
    generator: torch.Generator,
) -> nn.Linear:
    """A new ``nn.Linear(feature_dim, num_classes)`` head: ``init`` "imagenet" copies the
    ImageNet classifier rows ``imagenet_indices`` (when there are such rows); otherwise PyTorch's
    default Linear initialisation, drawn from ``generator``.

    Example:
        >>> generator = torch.Generator().manual_seed(0)
        >>> new_head(backbone, 2, init="imagenet", imagenet_indices=[310, 309], generator=generator)
        Linear(in_features=1280, out_features=2, bias=True)
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
    ``frozen_backbone``: no gradients into the backbone, kept in eval mode. ``frozen_bn``: only
    BatchNorm stays in eval mode (its running statistics fixed) while the backbone trains.

    Example:
        >>> model = TransferModel(backbone, nn.Linear(1280, 2), frozen_backbone=True)
        >>> model(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 2])
    """

    def __init__(
        self, backbone: Backbone, head: nn.Linear, *, frozen_backbone: bool, frozen_bn: bool = False
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.frozen_backbone = frozen_backbone
        self.frozen_bn = frozen_bn or frozen_backbone
        self.backbone.requires_grad_(not frozen_backbone)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (N, num_classes) of normalised images (N, 3, H, W).

        Example:
            >>> model(torch.zeros(4, 3, 224, 224)).shape
            torch.Size([4, 2])
        """
        return self.head(self.backbone(images))

    def train(self, mode: bool = True) -> TransferModel:
        """Training mode for what trains; the frozen parts stay in eval mode.

        Example:
            >>> model.train().backbone.training  # a frozen backbone
            False
        """
        super().train(mode)
        if mode and self.frozen_backbone:
            self.backbone.eval()
        elif mode and self.frozen_bn:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


class ViewAverage(nn.Module):
    """Test-time augmentation: inputs (N, V, ...) → ``model`` on the N*V views → logits
    (N, V, C) → mean over V → (N, C).

    Example:
        >>> ViewAverage(nn.Linear(4, 3))(torch.randn(5, 2, 4)).shape  # 5 images, 2 views
        torch.Size([5, 3])
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        """The mean logits (N, C) over the V views of each of N inputs (N, V, ...).

        Example:
            >>> ViewAverage(nn.Linear(4, 3))(torch.randn(2, 1, 4)).shape
            torch.Size([2, 3])
        """
        n, v = views.shape[:2]
        logits = self.model(views.flatten(0, 1))  # (N*V, C)
        return logits.view(n, v, -1).mean(dim=1)  # (N, C)


def classify_batch(
    model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], device: str
) -> tuple[torch.Tensor, int, int]:
    """``training.Task.batch_loss``: (mean cross-entropy, correct count, B) of one batch of
    ``(inputs (B, ...), labels (B,))``, moved to ``device``.

    Example:
        >>> loss, correct, count = classify_batch(head, (features, labels), device="cpu")
        >>> count
        16
    """
    inputs, labels = (tensor.to(device) for tensor in batch)
    logits = model(inputs)  # (B, C)
    loss = F.cross_entropy(logits, labels)
    return loss, int((logits.argmax(dim=1) == labels).sum()), len(labels)


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor) -> EvalResult:
    """Logits (N, C) and labels (N,) → loss, accuracy and probabilities (on the CPU).

    Example:
        >>> evaluate_logits(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])).accuracy
        0.5
    """
    loss = F.cross_entropy(logits.float(), labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return EvalResult(
        loss, accuracy, probabilities=logits.float().softmax(dim=1).cpu(), labels=labels.cpu()
    )


def evaluate(model: nn.Module, loader: DataLoader, device: str) -> EvalResult:
    """Run ``model`` (inputs → logits (B, C)) over ``loader`` of ``(inputs, labels)`` batches.

    Example:
        >>> evaluate(ViewAverage(model), val_loader, "cpu").accuracy
        0.9673
    """
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    with torch.no_grad():
        for inputs, labels in tqdm(loader, desc="evaluate", disable=None, leave=False):
            all_logits.append(model(inputs.to(device)))
            all_labels.append(labels.to(device))
    model.train(was_training)
    return evaluate_logits(torch.cat(all_logits), torch.cat(all_labels))


def before_training(
    backbone: Backbone,
    val: torch.Tensor,
    labels: torch.Tensor,
    *,
    classes: list[str],
    head_init: str,
    seed: int,
) -> tuple[dict[str, Any], nn.Linear]:
    """Val accuracy before any training, from val features (N, T, D) and labels (N,), with logits
    averaged over T: of a new random head, of zero-shot classification with the ImageNet
    classifier rows of the classes (when every class folder names an ImageNet category), and of
    the head built with ``head_init``, which is returned (on the backbone's device) to train.

    Example:
        >>> classes = ["ants", "bees"]
        >>> measured, head = before_training(
        ...     backbone, cache.val, cache.val_labels, classes=classes, head_init="imagenet", seed=0
        ... )
        >>> measured["imagenet_classes"]
        [310, 309]
    """
    indices = imagenet_class_indices(classes) if backbone.imagenet_head is not None else None
    used_init = head_init if indices is not None else "random"
    device = next(backbone.parameters()).device
    # built on the CPU from a CPU generator, so every device starts from the same numbers
    random_head, head = (
        new_head(
            backbone,
            len(classes),
            init=init,
            imagenet_indices=indices,
            generator=torch.Generator().manual_seed(seed),
        )
        for init in ("random", used_init)
    )
    random_head, head = random_head.to(device), head.to(device)
    val, labels = val.to(device), labels.to(device)
    with torch.no_grad():  # logits (N, T, C) → mean over T
        random_result = evaluate_logits(random_head(val).mean(dim=1), labels)
        initial = evaluate_logits(head(val).mean(dim=1), labels)
        zero_shot = None
        if indices is not None:
            zero_shot = evaluate_logits(backbone.imagenet_head(val)[..., indices].mean(1), labels)

    def correct(result: EvalResult | None) -> int | None:
        return None if result is None else int((result.predictions == result.labels).sum())

    measured = {
        "random_head_val_acc": random_result.accuracy,
        "random_head_val_correct": correct(random_result),
        "imagenet_classes": indices,
        "zero_shot_val_acc": zero_shot.accuracy if zero_shot else None,
        "zero_shot_val_correct": correct(zero_shot),
        "head_init": used_init,
        "initial_head_val_acc": initial.accuracy,
    }
    return measured, head


def describe_before_training(measured: dict[str, Any]) -> str:
    """The log line of ``before_training``'s figures, as percentages.

    Example:
        >>> print(describe_before_training(measured))  # hymenoptera, EfficientNet-Lite0
        val acc before training: random head 38.56 %, zero-shot 97.39 %, initial head ...
    """
    zero_shot = measured["zero_shot_val_acc"]
    no_match = "n/a (the classes do not name ImageNet classes)"
    shown = no_match if zero_shot is None else f"{100 * zero_shot:.2f} %"
    return (
        f"val acc before training: random head {100 * measured['random_head_val_acc']:.2f} %, "
        f"zero-shot {shown}, initial head ({measured['head_init']}) "
        f"{100 * measured['initial_head_val_acc']:.2f} %"
    )
