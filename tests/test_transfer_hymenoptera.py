"""`dlc transfer --quick` on the real ants/bees images with the real EfficientNet-Lite0 weights."""

from __future__ import annotations

import json

from dlclassics import cli


def test_quick_freeze_learns_ants_vs_bees_and_zero_shot_works(hymenoptera_root, tmp_path, capsys):
    """From a random head (≈ chance) the quick profile must clearly learn the task; the ImageNet
    ant/bee logits must classify the val set well with no training (wrong preprocessing, e.g.
    ImageNet mean/std instead of [-1, 1] scaling, breaks this)."""
    out = tmp_path / "run"
    args = ["transfer", "--data", str(hymenoptera_root), "--out", str(out), "--quick"]
    assert cli.main([*args, "--mode", "freeze", "--head-init", "random"]) == 0
    metrics = json.loads((out / "freeze" / "metrics.json").read_text())
    assert metrics["num_val"] == 153
    assert metrics["imagenet_classes"] == [310, 309]
    assert metrics["zero_shot_val_acc"] >= 0.80
    assert metrics["random_head_val_acc"] < 0.75
    assert metrics["best_val_acc"] >= 0.85  # chance is 83/153 = 54 %
    assert metrics["final_val_acc"] >= 0.85

    val_ants = hymenoptera_root / "val" / "ants"
    images = sorted(val_ants.iterdir())[:4]
    checkpoint = out / "freeze" / "best.pt"
    capsys.readouterr()
    assert (
        cli.main(["transfer", "predict", "--checkpoint", str(checkpoint), *map(str, images)]) == 0
    )
    predicted = [line.split("\t")[1] for line in capsys.readouterr().out.strip().splitlines()]
    assert predicted.count("ants") >= 3
