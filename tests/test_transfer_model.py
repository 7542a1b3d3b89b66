"""Transfer-learning building blocks: class mapping, heads, optimiser groups, cached views, and
the transfer task on the shared training loop."""

from __future__ import annotations

import re
from functools import partial

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlclassics.backbones import load_backbone
from dlclassics.errors import DlcError
from dlclassics.figures import confusion_matrix
from dlclassics.training import LoopConfig, Task, train
from dlclassics.transfer.config import Config, recipe
from dlclassics.transfer.features import CachedViews
from dlclassics.transfer.model import (
    TransferModel,
    ViewAverage,
    classify_batch,
    evaluate,
    imagenet_class_indices,
    new_head,
)
from dlclassics.transfer.run import make_optimizer, make_scheduler


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0")


def test_class_folders_map_to_imagenet_categories():
    assert imagenet_class_indices(["ants", "bees"]) == [310, 309]
    assert imagenet_class_indices(["Golden_Retriever", "daisies"]) == [207, 985]
    assert imagenet_class_indices(["ants", "cats"]) is None  # "cat" is no ImageNet category
    assert imagenet_class_indices(["ant", "ants"]) is None  # two folders, one category


def test_new_head_imagenet_rows_and_seeded_random(lite0):
    seeded = torch.Generator().manual_seed(0)
    head = new_head(lite0, 2, init="imagenet", imagenet_indices=[310, 309], generator=seeded)
    assert torch.equal(head.weight, lite0.imagenet_head.weight[[310, 309]])
    assert torch.equal(head.bias, lite0.imagenet_head.bias[[310, 309]])
    a, b = (
        new_head(lite0, 3, init="random", imagenet_indices=None, generator=generator)
        for generator in (torch.Generator().manual_seed(1), torch.Generator().manual_seed(1))
    )
    assert torch.equal(a.weight, b.weight)
    assert a.weight.abs().max() <= 1 / lite0.feature_dim**0.5


def test_view_average_averages_logits_over_views():
    head = nn.Linear(4, 3)
    views = torch.randn(5, 2, 4)  # (N, V, D)
    expected = (head(views[:, 0]) + head(views[:, 1])) / 2
    torch.testing.assert_close(ViewAverage(head)(views), expected)


def test_frozen_bn_and_frozen_backbone_modes(lite0):
    head = nn.Linear(lite0.feature_dim, 2)
    model = TransferModel(lite0, head, frozen_backbone=False, frozen_bn=True).train()
    bns = [m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(bn.training for bn in bns)
    assert model.head.training and all(p.requires_grad for p in model.backbone.parameters())

    cfg = Config(lr=0.01, backbone_lr_scale=0.1).for_mode("finetune")
    groups = make_optimizer(model, cfg).param_groups
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.001)]

    frozen = TransferModel(lite0, head, frozen_backbone=True).train()
    assert not frozen.backbone.training
    assert not any(p.requires_grad for p in frozen.backbone.parameters())
    assert len(make_optimizer(frozen, cfg).param_groups) == 1
    lite0.requires_grad_(False)


def test_cached_views_draw_is_seeded_per_epoch():
    views = torch.arange(3 * 10 * 2, dtype=torch.float32).view(3, 10, 2)  # (V, N, D)
    data = CachedViews(views, torch.zeros(10, dtype=torch.long), seed=5)
    data.set_epoch(1)
    first = data.view_of.clone()
    data.set_epoch(2)
    assert not torch.equal(first, data.view_of)
    data.set_epoch(1)
    assert torch.equal(first, data.view_of)
    feature, _ = data[4]
    assert torch.equal(feature, views[first[4], 4])


def test_confusion_matrix_rows_are_true_classes():
    # dlclassics.figures' signature: (labels, predictions), the reverse of the old transfer one
    matrix = confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_reference_recipe_is_the_tutorial():
    ref = Config(protocol="reference").for_mode("finetune")
    assert (ref.epochs, ref.batch_size, ref.lr, ref.momentum) == (25, 4, 1e-3, 0.9)
    assert (ref.schedule, ref.lr_step, ref.lr_gamma, ref.head_init) == ("step", 7, 0.1, "random")
    assert not ref.tta and not ref.frozen_bn and ref.views == 0  # a training backbone: no cache
    assert recipe("reference", "freeze")["views"] == 25  # one cached view per tutorial epoch


def test_config_fills_each_mode_from_the_protocol_and_keeps_what_was_given():
    config = Config(mode="both", epochs=2, quick=True)
    assert config.modes == ("finetune", "freeze")
    freeze, finetune = config.for_mode("freeze"), config.for_mode("finetune")
    assert (freeze.mode, freeze.epochs, freeze.views, freeze.lr) == ("freeze", 2, 1, 1e-3)
    assert (finetune.epochs, finetune.train_per_class, finetune.views) == (2, 16, 0)
    assert Config(views=5).for_mode("finetune").views == 0


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"mode": "frozen"}, "mode='frozen' is not one of finetune, freeze, both"),
        ({"epochs": 0}, "epochs=0 is out of range"),
        ({"lr": float("nan")}, "lr=nan is out of range"),
        ({"val_fraction": 1.0}, "val_fraction=1.0 is not in (0, 0.9]"),
    ],
)
def test_config_refuses_bad_values_in_one_line(given, message):
    with pytest.raises(DlcError, match=re.escape(message)):
        Config(**given)


def test_shared_loop_learns_separable_data_and_rejects_nan():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=generator)
    y = (x[:, 0] > 0).long()
    data = TensorDataset(x, y)
    loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, 1, 0, seed=0))
    torch.manual_seed(0)
    head = nn.Linear(5, 2)
    cfg = Config(protocol="reference", epochs=10, lr=0.1).for_mode("freeze")
    optimizer = make_optimizer(head, cfg)
    scheduler = make_scheduler(optimizer, cfg)
    val_loader = DataLoader(data, batch_size=64)
    task = Task(partial(classify_batch, device="cpu"), lambda m: evaluate(m, val_loader, "cpu"))
    state = train(
        head, loader, optimizer, scheduler=scheduler, task=task, loop=LoopConfig(epochs=10)
    )
    assert state.epochs_done == 10 and len(state.history) == 10
    assert state.best_acc >= 0.95
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"]

    with torch.no_grad():
        head.weight.fill_(float("nan"))
    with pytest.raises(DlcError, match="training loss became nan"):
        train(head, loader, optimizer, scheduler=scheduler, task=task, loop=LoopConfig(epochs=1))
