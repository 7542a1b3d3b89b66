"""Evaluation: loss, accuracy and class probabilities of a model over a loader; confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm


@dataclass
class EvalResult:
    """A model's outputs on a labelled set.

    Attributes:
        loss: mean cross-entropy.
        accuracy: fraction correct, in [0, 1].
        probabilities: (N, C) softmax outputs.
        labels: (N,) true classes.
    """

    loss: float
    accuracy: float
    probabilities: torch.Tensor
    labels: torch.Tensor

    @property
    def predictions(self) -> torch.Tensor:
        """(N,) predicted classes."""
        return self.probabilities.argmax(dim=1)

    @property
    def correct(self) -> int:
        return int((self.predictions == self.labels).sum())


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor) -> EvalResult:
    """Logits (N, C) and labels (N,) → loss, accuracy and probabilities."""
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return EvalResult(loss, accuracy, logits.softmax(dim=1), labels)


def evaluate(model: nn.Module, loader: DataLoader, desc: str = "evaluate") -> EvalResult:
    """Run ``model`` (inputs → logits (B, C)) over ``loader`` of ``(inputs, labels)`` batches."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    with torch.no_grad():
        for inputs, labels in tqdm(loader, desc=desc, disable=None, leave=False):
            all_logits.append(model(inputs))
            all_labels.append(labels)
    model.train(was_training)
    return evaluate_logits(torch.cat(all_logits), torch.cat(all_labels))


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """(C, C) counts: row = true class, column = predicted class."""
    flat = labels * num_classes + predictions  # (N,) index into the flattened matrix
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)
