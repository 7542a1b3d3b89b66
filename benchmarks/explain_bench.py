"""Do the explanations mean something? The deletion checks of issue 28 on the validation data, and
our Grad-CAM against the ``grad-cam`` package (equality and speed).

    python benchmarks/explain_bench.py                       # every part
    python benchmarks/explain_bench.py --part words          # one part: gradcam, images, words
    python benchmarks/explain_bench.py --checkpoint runs/t/freeze/best.pt

- ``gradcam``: maps of ``--library-images`` validation images by ``explain.gradcam.cam_maps`` and
  by ``pytorch_grad_cam.GradCAM`` (no test-time flip, the library has none): largest difference
  and seconds each, on the same input tensor.
- ``images``: every hymenoptera validation image; the top 20 % of the Grad-CAM map (predicted
  class) masked vs 20 % picked by a random map as smooth (``explain.deletion.image_deletion``).
- ``words``: the first ``--sentences`` yelp dev sentences, packaged model; the top 1 and top 2
  words deleted vs as many random ones (``explain.deletion.word_deletion``).

The transfer model is ``--checkpoint``, else the default freeze run, trained once into
``benchmarks/out/explain/``. Each part updates its section of
``benchmarks/results/explain_bench.json``; every record carries the load average (the 2-core
machine is shared).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics import sentiment, transfer
from dlclassics.data.registry import dataset_path
from dlclassics.explain.deletion import image_deletion, word_deletion
from dlclassics.explain.gradcam import cam_maps, feature_layer, model_view, normalised
from dlclassics.io import atomic_write_json
from dlclassics.runtime import resolve_device
from dlclassics.transfer.classifier import Classifier, as_rgb

RESULTS = Path(__file__).parent / "results" / "explain_bench.json"
OUT = Path(__file__).parent / "out" / "explain"
PARTS = ("gradcam", "images", "words")


def machine() -> dict[str, Any]:
    """Where and when a part ran."""
    return {
        "device": resolve_device(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def transfer_model(checkpoint: Path | None, hymenoptera: Path) -> tuple[Classifier, str]:
    """The classifier to explain and the checkpoint it came from (trained once when not given)."""
    if checkpoint is None:
        checkpoint = OUT / "transfer" / "freeze" / "best.pt"
        if not checkpoint.is_file():
            transfer.train(transfer.Config(data=hymenoptera, mode="freeze", out=OUT / "transfer"))
    return transfer.load(checkpoint), str(checkpoint)


def part_gradcam(classifier: Classifier, images: list[Path]) -> dict[str, Any]:
    """Our Grad-CAM and the library's on the same batch: largest difference, seconds each."""
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    batch = normalised(classifier, [model_view(classifier, as_rgb(path)) for path in images])
    batch = batch.to(classifier.device)
    started = time.perf_counter()
    ours, classes, _ = cam_maps(classifier, batch[:, None], [None] * len(images))
    our_seconds = time.perf_counter() - started
    model = copy.deepcopy(classifier.model).requires_grad_(True)  # the library needs gradients
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    started = time.perf_counter()
    with GradCAM(model=model, target_layers=[feature_layer(model)]) as cam:
        theirs = cam(input_tensor=batch, targets=targets)
    library_seconds = time.perf_counter() - started
    return {
        "images": len(images),
        "max_abs_difference": float(np.abs(ours.numpy() - theirs).max()),
        "ours_seconds": our_seconds,
        "library_seconds": library_seconds,
        "torch_threads": torch.get_num_threads(),
        **machine(),
    }


def part_images(classifier: Classifier, images: list[Path]) -> dict[str, Any]:
    started = time.perf_counter()
    summary = image_deletion(classifier, images, fraction=0.2)
    return {"fraction": 0.2, **summary.summary(), "seconds": time.perf_counter() - started}


def part_words(dev: Path, count: int) -> list[dict[str, Any]]:
    predictor = sentiment.load()
    lines = dev.read_text(encoding="utf-8").splitlines()[:count]
    sentences = [line.split()[1:] for line in lines]  # "<label> <tokens>"; already normalised
    records = []
    for words in (1, 2):
        started = time.perf_counter()
        check = word_deletion(predictor, sentences, words=words)
        seconds = time.perf_counter() - started
        records.append({"words": words, **check.summary(), "seconds": seconds, **machine()})
    return records


def table(results: dict[str, Any]) -> str:
    """The recorded deletion checks as a markdown table."""
    lines = [
        "| check | items | mean drop, explained | mean drop, random | difference [95 % CI] "
        "| explained wins | flips explained / random | verdict |",
        "|---|---:|---:|---:|---|---:|---|---|",
    ]
    checks = [("Grad-CAM top 20 % of pixels", results.get("images"))]
    checks += [(f"top {r['words']} word(s)", r) for r in results.get("words", [])]
    for name, r in checks:
        if r is None:
            continue
        lines.append(
            f"| {name} | {r['items']} | {r['mean_targeted_drop']:.3f} | "
            f"{r['mean_random_drop']:.3f} | {r['drop_difference']:+.3f} "
            f"[{r['drop_difference_low']:+.3f}, {r['drop_difference_high']:+.3f}] | "
            f"{r['targeted_wins']:.1%} | {r['targeted_flip_rate']:.1%} / "
            f"{r['random_flip_rate']:.1%} | {r['verdict']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, action="append", help="default: every part")
    parser.add_argument("--checkpoint", type=Path, help="a transfer best.pt to explain")
    parser.add_argument("--sentences", type=int, default=500, help="yelp dev sentences")
    parser.add_argument("--library-images", type=int, default=16)
    args = parser.parse_args()
    parts = args.part or list(PARTS)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    hymenoptera = dataset_path("hymenoptera")
    val = sorted((hymenoptera / "val").glob("*/*.jpg"))
    if {"gradcam", "images"} & set(parts):
        classifier, checkpoint = transfer_model(args.checkpoint, hymenoptera)
        results["transfer_checkpoint"] = checkpoint
    if "gradcam" in parts:
        results["gradcam"] = part_gradcam(classifier, val[:: len(val) // args.library_images])
    if "images" in parts:
        results["images"] = {**part_images(classifier, val), **machine()}
    if "words" in parts:
        results["words"] = part_words(dataset_path("yelp") / "dev.txt", args.sentences)
    atomic_write_json(RESULTS, results)
    print(table(results))
    if "gradcam" in results:
        print("Grad-CAM vs pytorch_grad_cam:", json.dumps(results["gradcam"]))


if __name__ == "__main__":
    main()
