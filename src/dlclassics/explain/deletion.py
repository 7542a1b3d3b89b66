"""Deletion checks: an explanation means something when deleting what it points at hurts the
prediction more than deleting as much at random.

- Images: mask the top ``fraction`` of the Grad-CAM map's pixels (set them to the backbone's mean
  colour, 0 after normalisation) and measure how much the probability of the explained class
  drops; compare with masking as many pixels picked by a random map of the same smoothness (a
  random 7 x 7 grid resized like the Grad-CAM map, so both masks are blobs, not salt and pepper).
- Sentences: delete the top-weighted word(s) and compare with deleting as many random words:
  how often the label flips, and how far P(label) drops. With leave-one-out weights the single
  top word is by construction the deletion that lowers P(label) most, so for one word the check
  measures the size of the effect; for two words it is a real test (the weights are of one word
  at a time).

``benchmarks/explain_bench.py`` runs both over the validation data and records the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dlclassics.explain.attributions import Predictor, explain_tokens, token_probabilities
from dlclassics.explain.gradcam import (
    cam_maps,
    feature_layer,
    model_view,
    normalised,
    scale_maps,
    with_mirrors,
)
from dlclassics.runtime import autocast
from dlclassics.sentiment.classifier import labels_of
from dlclassics.stats import Difference, mcnemar, paired_bootstrap, verdict
from dlclassics.transfer.classifier import BATCH_SIZE, Classifier, ImageInput, as_rgb
from dlclassics.transfer.model import ViewAverage


@dataclass
class DeletionCheck:
    """Explained deletions against random ones, item by item.

    Attributes:
        targeted: per item, the drop in P(explained class) when what the explanation points at
            is deleted; random: the drop when as much is deleted at random.
        targeted_flips, random_flips: per item, whether the deletion changed the prediction.

    Example:
        >>> check = DeletionCheck([0.5, 0.2], [0.1, 0.0], [True, False], [False, False])
        >>> check.targeted_wins
        1.0
    """

    targeted: list[float]
    random: list[float]
    targeted_flips: list[bool]
    random_flips: list[bool]

    @property
    def targeted_wins(self) -> float:
        """The fraction of items where the targeted deletion dropped P(class) more.

        Example:
            >>> DeletionCheck([0.3], [0.1], [False], [False]).targeted_wins
            1.0
        """
        return float(np.mean(np.asarray(self.targeted) > np.asarray(self.random)))

    def drop_difference(self) -> Difference:
        """Mean targeted drop − mean random drop, with its paired bootstrap interval.

        Example:
            >>> round(DeletionCheck([0.3, 0.2], [0.1, 0.0], [], []).drop_difference().value, 2)
            0.2
        """
        targeted, random = np.asarray(self.targeted), np.asarray(self.random)
        return paired_bootstrap(
            lambda i: float(targeted[i].mean()), lambda i: float(random[i].mean()), len(targeted)
        )

    def summary(self) -> dict[str, float | int | str | None]:
        """The JSON-ready figures: means, win fraction, flip rates, interval and verdict.

        Example:
            >>> check.summary()["verdict"]
            'better'
        """
        difference = self.drop_difference()
        flips = mcnemar(self.targeted_flips, self.random_flips)
        return {
            "items": len(self.targeted),
            "mean_targeted_drop": float(np.mean(self.targeted)),
            "mean_random_drop": float(np.mean(self.random)),
            "drop_difference": difference.value,
            "drop_difference_low": difference.low,
            "drop_difference_high": difference.high,
            "drop_difference_p_value": difference.p_value,
            "targeted_wins": self.targeted_wins,
            "targeted_flip_rate": float(np.mean(self.targeted_flips)),
            "random_flip_rate": float(np.mean(self.random_flips)),
            "flip_p_value": flips.p_value,
            "verdict": verdict(difference),
        }


def top_mask(maps: torch.Tensor, fraction: float) -> torch.Tensor:
    """Boolean masks (N, H, W) of the ``fraction`` of each map's pixels with the largest values.

    Example:
        >>> top_mask(torch.tensor([[[0.1, 0.9], [0.5, 0.2]]]), 0.25)
        tensor([[[False,  True],
                 [False, False]]])
    """
    flat = maps.flatten(1)
    count = max(1, round(fraction * flat.shape[1]))
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask.scatter_(1, flat.topk(count, dim=1).indices, True)
    return mask.view_as(maps)


def random_maps(count: int, grid: Sequence[int], size: Sequence[int], seed: int) -> torch.Tensor:
    """``count`` random maps as smooth as Grad-CAM's: uniform noise on the feature ``grid``
    (e.g. 7 x 7), resized to ``size`` the same way (N, H, W).

    Example:
        >>> random_maps(2, (7, 7), (224, 224), seed=0).shape
        torch.Size([2, 224, 224])
    """
    noise = torch.rand(count, *grid, generator=torch.Generator().manual_seed(seed))
    return scale_maps(noise, size)


def feature_grid(classifier: Classifier, batch: torch.Tensor) -> tuple[int, int]:
    """The (h, w) of the feature maps Grad-CAM weighs, for a batch (N, V, 3, H, W).

    Example:
        >>> feature_grid(classifier, torch.zeros(1, 1, 3, 224, 224))
        (7, 7)
    """
    shapes: list[tuple[int, int]] = []
    handle = feature_layer(classifier.model).register_forward_hook(
        lambda _module, _inputs, output: shapes.append(tuple(output.shape[-2:]))
    )
    try:
        with torch.no_grad():
            classifier.model.eval()(batch[:1, 0])
    finally:
        handle.remove()
    return shapes[0]


@torch.no_grad()
def masked_probabilities(
    classifier: Classifier, batch: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Class probabilities (N, C) of normalised views (N, 3, H, W) with ``mask`` (N, H, W)
    pixels set to 0, the backbone's mean colour.

    Example:
        >>> masked_probabilities(classifier, batch, top_mask(maps, 0.2)).shape
        torch.Size([16, 2])
    """
    masked = batch * (~mask)[:, None]
    with autocast(classifier.device, classifier.precision):
        logits = ViewAverage(classifier.model.eval())(with_mirrors(classifier, masked))
    return logits.float().softmax(dim=1).cpu()


def image_deletion(
    classifier: Classifier, images: Sequence[ImageInput], fraction: float = 0.2, seed: int = 0
) -> DeletionCheck:
    """Grad-CAM's deletion check over ``images``: mask the top ``fraction`` of each map (for the
    predicted class) and as much by a random map (seeded by ``seed`` and the batch).

    Example:
        >>> image_deletion(transfer.load("best.pt"), ["a.jpg", "b.jpg"]).summary()["verdict"]
        'better'
    """
    check = DeletionCheck([], [], [], [])
    grid: tuple[int, int] | None = None
    for start in range(0, len(images), BATCH_SIZE):
        views = [model_view(classifier, as_rgb(i)) for i in images[start : start + BATCH_SIZE]]
        batch = normalised(classifier, views)
        mirrored = with_mirrors(classifier, batch)
        maps, classes, before = cam_maps(classifier, mirrored, [None] * len(views))
        grid = grid or feature_grid(classifier, mirrored)
        noise = random_maps(len(views), grid, maps.shape[-2:], seed + start)
        rows = torch.arange(len(views))
        for drops, flips, chosen in (
            (check.targeted, check.targeted_flips, top_mask(maps, fraction)),
            (check.random, check.random_flips, top_mask(noise, fraction)),
        ):
            after = masked_probabilities(classifier, batch, chosen)
            drops.extend((before[rows, classes] - after[rows, classes]).tolist())
            flips.extend((after.argmax(dim=1) != classes).tolist())
    return check


def without(tokens: Sequence[str], dropped: set[int]) -> list[str]:
    """``tokens`` less the positions in ``dropped``.

    Example:
        >>> without(["a", "b", "c"], {0, 2})
        ['b']
    """
    return [token for i, token in enumerate(tokens) if i not in dropped]


def word_deletion(
    predictor: Predictor, sentences: Sequence[Sequence[str]], words: int = 1, seed: int = 0
) -> DeletionCheck:
    """The word attributions' deletion check over tokenised sentences longer than ``words``:
    delete the ``words`` top-weighted words, or as many random ones (seeded).

    Example:
        >>> word_deletion(sentiment.load(), [["great", "food", "!"]]).targeted_wins
        1.0
    """
    kept = [list(tokens) for tokens in sentences if len(tokens) > words]
    explained = explain_tokens(predictor, kept)
    rng = np.random.default_rng(seed)
    targeted, random = [], []
    for tokens, explanation in zip(kept, explained, strict=True):
        order = np.argsort(-np.asarray(explanation.weights), kind="stable")
        targeted.append(without(tokens, set(order[:words].tolist())))
        random.append(without(tokens, set(rng.choice(len(tokens), words, replace=False).tolist())))
    after = token_probabilities(predictor, targeted + random)  # (2N, 2)
    columns = [predictor.classes.index(e.label) for e in explained]
    before = np.array([e.probability for e in explained])
    check = DeletionCheck([], [], [], [])
    for half, drops, flips in (
        (after[: len(kept)], check.targeted, check.targeted_flips),
        (after[len(kept) :], check.random, check.random_flips),
    ):
        drops.extend((before - half[np.arange(len(kept)), columns]).tolist())
        labels = labels_of(half, predictor.classes)
        flips.extend(label != e.label for label, e in zip(labels, explained, strict=True))
    return check
