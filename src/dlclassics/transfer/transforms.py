"""Image transforms built from a backbone's own ``Preprocessing`` (crop size, mean and std).

Training: RandomResizedCrop(crop) + horizontal flip, as in the PyTorch tutorial. Evaluation:
resize the shorter side to ``resize`` and take the centre ``crop``. Both end normalised with the
backbone's mean/std (EfficientNet-Lite0: [-1, 1]; the torchvision models: ImageNet mean/std).
"""

from __future__ import annotations

import torch
from PIL import Image
from torchvision import transforms as T

from dlclassics.backbones import Preprocessing


def train_transform(pre: Preprocessing) -> T.Compose:
    """PIL RGB image → augmented, normalised tensor (3, crop, crop)."""
    return T.Compose(
        [
            T.RandomResizedCrop(pre.crop),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(pre.mean, pre.std),
        ]
    )


def eval_transform(pre: Preprocessing, mirror: bool = False) -> T.Compose:
    """PIL RGB image → centre-cropped (optionally mirrored), normalised tensor (3, crop, crop)."""
    steps = [T.Resize(pre.resize), T.CenterCrop(pre.crop)]
    if mirror:
        steps.append(T.RandomHorizontalFlip(p=1.0))
    return T.Compose([*steps, T.ToTensor(), T.Normalize(pre.mean, pre.std)])


def eval_views_transform(pre: Preprocessing, flip_tta: bool) -> StackViews:
    """PIL image → (V, 3, crop, crop): the centre crop, and its mirror image when ``flip_tta``."""
    views = [eval_transform(pre)]
    if flip_tta:
        views.append(eval_transform(pre, mirror=True))
    return StackViews(views)


class StackViews:
    """Apply several transforms to one image and stack the results: (V, 3, H, W)."""

    def __init__(self, transforms: list[T.Compose]) -> None:
        self.transforms = transforms

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.stack([t(image) for t in self.transforms])


def describe(pre: Preprocessing) -> str:
    """A string that changes whenever the transforms would (part of the feature-cache key)."""
    return (
        f"train=RandomResizedCrop({pre.crop})+HFlip;eval=Resize({pre.resize})+CenterCrop({pre.crop});"
        f"mean={pre.mean};std={pre.std}"
    )
