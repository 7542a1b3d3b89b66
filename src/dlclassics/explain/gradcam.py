"""Grad-CAM (Selvaraju et al., 2017) for the transfer classifier: where in the image the evidence
for a class lies.

The class's logit is differentiated with respect to the last backbone layer's feature maps
(EfficientNet-Lite0: ``head``, 1280 maps of 7 x 7 for a 224 px crop); each map is weighted by its
mean gradient, the weighted sum goes through a ReLU, is scaled to [0, 1] and resized to the crop.
That is the recipe of the ``grad-cam`` package (``pytorch_grad_cam.GradCAM``), written out here
because it is twenty lines of PyTorch, while the package pulls in OpenCV (about 60 MB) for a
resize; ``benchmarks/explain_bench.py`` checks that the two maps agree.

The map is of the view the model classifies (resized to 256, centre crop 224); when the
classifier averages the crop with its mirror image (``flip_tta``), so does the map, so it
explains exactly the prediction ``Classifier.predict`` gives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import functional as TF

from dlclassics.errors import DlcError
from dlclassics.io import atomic_path
from dlclassics.outputs import prepare_output_dir
from dlclassics.runtime import autocast
from dlclassics.transfer.classifier import BATCH_SIZE, Classifier, ImageInput, as_rgb
from dlclassics.transfer.model import TransferModel, ViewAverage

SCALE_EPSILON = 1e-7  # pytorch_grad_cam's scale_cam_image: map / (max + 1e-7)
OVERLAY_OPACITY = 0.5
COLOUR_MAP = "jet"  # Grad-CAM's customary colours (red: most evidence)


@dataclass
class ImageExplanation:
    """A Grad-CAM map of one image for one class.

    Attributes:
        image: the view the model classifies (resized, centre-cropped RGB, ``crop`` px square).
        heatmap: (crop, crop) float32 in [0, 1]; 1 where the evidence for ``label`` is strongest.
        label: the class explained (by default the predicted one).
        probability: the classifier's probability of ``label`` for this image.

    Example:
        >>> [heat] = grad_cam(transfer.load("runs/t/freeze/best.pt"), ["a.jpg"])
        >>> heat.heatmap.shape, heat.label
        ((224, 224), 'ants')
    """

    image: Image.Image
    heatmap: np.ndarray
    label: str
    probability: float

    def overlay(self, opacity: float = OVERLAY_OPACITY) -> Image.Image:
        """The heat map in colour (``jet``) blended over ``image``, ``opacity`` of it heat.

        Example:
            >>> heat.overlay().size
            (224, 224)
        """
        return heat_overlay(self.image, self.heatmap, opacity)


def heat_overlay(
    image: Image.Image, heatmap: np.ndarray, opacity: float = OVERLAY_OPACITY
) -> Image.Image:
    """A heat map (H, W) in [0, 1] in colour (``jet``: red is most) blended over the RGB
    ``image``, resized bilinearly to the image's size first when it is smaller (a feature grid).

    Example:
        >>> heat_overlay(Image.new("RGB", (64, 64)), np.eye(7)).size
        (64, 64)
    """
    import matplotlib

    if heatmap.shape != (image.height, image.width):
        grid = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))[None, None]
        size = (image.height, image.width)
        heatmap = F.interpolate(grid, size=size, mode="bilinear", align_corners=False)[0, 0]
        heatmap = heatmap.clamp(0, 1).numpy()
    colours = matplotlib.colormaps[COLOUR_MAP](heatmap)[..., :3]  # (H, W, 3) in [0, 1]
    heat = Image.fromarray((colours * 255).round().astype(np.uint8))
    return Image.blend(image, heat, opacity)


def model_view(classifier: Classifier, image: Image.Image) -> Image.Image:
    """The RGB view ``classifier`` classifies: shorter side resized, then the centre crop.

    Example:
        >>> model_view(classifier, Image.new("RGB", (640, 480))).size
        (224, 224)
    """
    pre = classifier.model.backbone.preprocessing
    return TF.center_crop(TF.resize(image, pre.resize), pre.crop)


def normalised(classifier: Classifier, views: Sequence[Image.Image]) -> torch.Tensor:
    """Model views → the backbone's normalised input (N, 3, H, W), on the CPU.

    Example:
        >>> normalised(classifier, [model_view(classifier, image)]).shape
        torch.Size([1, 3, 224, 224])
    """
    pre = classifier.model.backbone.preprocessing
    return torch.stack([TF.normalize(TF.to_tensor(v), pre.mean, pre.std) for v in views])


def with_mirrors(classifier: Classifier, batch: torch.Tensor) -> torch.Tensor:
    """Normalised views (N, 3, H, W) → what the classifier averages over (N, V, 3, H, W), on its
    device: each view, and its mirror image when it uses ``flip_tta`` (as ``EvalViews`` does).

    Example:
        >>> with_mirrors(classifier, torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1, 3, 224, 224])
    """
    mirrored = [batch, batch.flip(-1)] if classifier.flip_tta else [batch]
    return torch.stack(mirrored, dim=1).to(classifier.device)


def feature_layer(model: TransferModel) -> torch.nn.Module:
    """The layer Grad-CAM looks at: the backbone's last (deepest, still spatial) layer.

    Example:
        >>> feature_layer(classifier.model) is classifier.model.backbone.layers["head"]
        True
    """
    return model.backbone.layers[model.backbone.layer_names[-1]]


def cam_maps(
    classifier: Classifier, batch: torch.Tensor, targets: Sequence[int | None]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Grad-CAM of a batch (N, V, 3, H, W) for class indices ``targets`` (None: the predicted
    class): maps (N, H, W) in [0, 1], the classes explained (N,) and the probabilities (N, C).
    The forward pass runs as the classifier predicts (autocast on a GPU), so the class and its
    probability are the prediction's.

    Example:
        >>> maps, classes, probabilities = cam_maps(classifier, batch, [None])
    """
    model = classifier.model
    captured: list[torch.Tensor] = []

    def keep_features(
        _module: torch.nn.Module, _inputs: object, output: torch.Tensor
    ) -> torch.Tensor:
        # a fresh leaf: the gradient is taken here even when the backbone is frozen
        captured.append(output.detach().requires_grad_())
        return captured[-1]

    handle = feature_layer(model).register_forward_hook(keep_features)
    try:
        with torch.enable_grad(), autocast(classifier.device, classifier.precision):
            logits = ViewAverage(model.eval())(batch).float()  # (N, C)
            predicted = logits.argmax(dim=1).tolist()
            chosen = [p if t is None else t for p, t in zip(predicted, targets, strict=True)]
            classes = torch.tensor(chosen, device=logits.device)
            score = logits.gather(1, classes[:, None]).sum()
            (gradients,) = torch.autograd.grad(score, captured[0])
    finally:
        handle.remove()
    features = captured[0].detach().float()  # (N*V, K, h, w)
    weights = gradients.float().mean(
        dim=(2, 3), keepdim=True
    )  # (N*V, K, 1, 1): each map's importance
    n, v = batch.shape[:2]
    cams = (weights * features).sum(dim=1).relu().view(n, v, *features.shape[2:])
    # with two views, the mirror image's map is mirrored back onto the view and added
    cams = cams[:, 0] + cams[:, 1].flip(-1) if v == 2 else cams[:, 0]
    return scale_maps(cams, batch.shape[-2:]), classes.cpu(), logits.softmax(dim=1).detach().cpu()


def min_max(maps: torch.Tensor) -> torch.Tensor:
    """Maps (N, ...) → each shifted to 0 and divided by its maximum (+ 1e-7: a flat map stays 0).

    Example:
        >>> min_max(torch.tensor([[1.0, 3.0]]))
        tensor([[0.0000, 1.0000]])
    """
    flat = maps.flatten(1)
    shifted = flat - flat.min(dim=1, keepdim=True).values
    return (shifted / (SCALE_EPSILON + shifted.max(dim=1, keepdim=True).values)).view_as(maps)


def scale_maps(cams: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Maps (N, h, w) ≥ 0 → (N, *size) in [0, 1]: scaled to [0, 1], bilinearly resized and
    scaled again, as ``pytorch_grad_cam`` does (``scale_cam_image`` before and after its resize).

    Example:
        >>> scale_maps(torch.rand(1, 7, 7), (224, 224)).shape
        torch.Size([1, 224, 224])
    """
    small = min_max(cams)[:, None]  # (N, 1, h, w)
    resized = F.interpolate(small, size=tuple(size), mode="bilinear", align_corners=False)
    return min_max(resized[:, 0]).cpu()


def class_indices(classifier: Classifier, labels: Sequence[str | None]) -> list[int | None]:
    """Class names (None: the predicted class) → column indices; an unknown name is a DlcError.

    Example:
        >>> class_indices(classifier, ["bees", None])
        [1, None]
    """
    for label in labels:
        if label is not None and label not in classifier.classes:
            known = ", ".join(classifier.classes)
            raise DlcError(f"no class {label!r} to explain; the classes: {known}")
    return [None if label is None else classifier.classes.index(label) for label in labels]


def grad_cam(
    classifier: Classifier,
    images: Sequence[ImageInput],
    labels: Sequence[str | None] | None = None,
) -> list[ImageExplanation]:
    """Grad-CAM of each image (paths or PIL images, mixed) for the class of the same position in
    ``labels`` (None, or a None entry: the predicted class). An unreadable file or an unknown
    class is a DlcError.

    Example:
        >>> [heat] = grad_cam(transfer.load("runs/t/freeze/best.pt"), ["a.jpg"], labels=["bees"])
        >>> heat.overlay().save("a_bees.png")
    """
    targets = class_indices(classifier, labels if labels is not None else [None] * len(images))
    if len(targets) != len(images):
        raise DlcError(f"{len(images)} images but {len(targets)} labels to explain")
    explanations = []
    for start in range(0, len(images), BATCH_SIZE):
        views = [model_view(classifier, as_rgb(i)) for i in images[start : start + BATCH_SIZE]]
        batch = with_mirrors(classifier, normalised(classifier, views))
        maps, classes, probabilities = cam_maps(
            classifier, batch, targets[start : start + BATCH_SIZE]
        )
        for view, heat, index, row in zip(views, maps, classes, probabilities, strict=True):
            name = classifier.classes[int(index)]
            explanations.append(ImageExplanation(view, heat.numpy(), name, float(row[index])))
    return explanations


def overlay_name(path: Path, taken: set[str]) -> str:
    """``<stem>_gradcam.png``, with ``-2``, ``-3``… when two inputs share a stem.

    Example:
        >>> taken = set(); overlay_name(Path("a/x.jpg"), taken), overlay_name(Path("b/x.png"), taken)
        ('x_gradcam.png', 'x-2_gradcam.png')
    """
    name, copy = f"{path.stem}_gradcam.png", 2
    while name in taken:
        name, copy = f"{path.stem}-{copy}_gradcam.png", copy + 1
    taken.add(name)
    return name


def write_overlays(
    classifier: Classifier, paths: Sequence[Path], folder: str | os.PathLike[str]
) -> list[Path]:
    """Write the Grad-CAM overlay of each image file (its predicted class) into ``folder``, as
    ``<stem>_gradcam.png``; the files written, in input order (``dlc transfer predict --explain``).

    Example:
        >>> write_overlays(model, [Path("a.jpg")], "explained")
        [PosixPath('explained/a_gradcam.png')]
    """
    target = prepare_output_dir(folder, lock=False)
    written: list[Path] = []
    taken: set[str] = set()
    for start in range(0, len(paths), BATCH_SIZE):
        chunk = paths[start : start + BATCH_SIZE]
        for path, explanation in zip(chunk, grad_cam(classifier, chunk), strict=True):
            written.append(target / overlay_name(path, taken))
            with atomic_path(written[-1]) as tmp:
                explanation.overlay().save(tmp, format="PNG")
    return written
