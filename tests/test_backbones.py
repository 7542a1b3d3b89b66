"""The backbone registry: weights load exactly, layers are named, errors are one line."""

from __future__ import annotations

import pytest
import torch

from dlclassics.backbones import (
    available_backbones,
    imagenet_categories,
    load_backbone,
    resolve_weights,
    weights_key,
)
from dlclassics.efficientnet_lite import efficientnet_lite0, pretrained_weights_path
from dlclassics.errors import DlcError


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0")


def test_efficientnet_lite0_matches_reference_implementation(lite0):
    """Our re-implementation with key-mapped weights gives the package model's logits exactly."""
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(pretrained_weights_path())
    ).eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = lite0.imagenet_head(lite0(x))
        theirs = reference(x)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_efficientnet_accepts_any_image_size(lite0):
    with torch.no_grad():
        features = lite0(torch.zeros(1, 3, 193, 257))
    assert features.shape == (1, 1280)


def test_intermediate_returns_requested_layers_only(lite0):
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = lite0.intermediate(x, ["stem", "block2"])
    assert set(out) == {"stem", "block2"}
    assert out["stem"].shape == (1, 32, 32, 32)
    assert out["block2"].shape == (1, 24, 16, 16)


def test_unknown_layer_and_backbone_are_clear_errors(lite0):
    with pytest.raises(DlcError, match="no layer 'conv9'"):
        lite0.intermediate(torch.zeros(1, 3, 32, 32), ["conv9"])
    with pytest.raises(DlcError, match="unknown backbone 'alexnet'"):
        load_backbone("alexnet")


def test_local_weights_round_trip(tmp_path):
    """``--weights PATH`` loads a state_dict saved by the user; a wrong file says which file."""
    net = efficientnet_lite0(weights=None)
    torch.nn.init.constant_(net.classifier.bias, 0.25)
    path = tmp_path / "mine.pt"
    torch.save(net.state_dict(), path)
    backbone = load_backbone("efficientnet_lite0", weights=path)
    assert torch.all(backbone.imagenet_head.bias == 0.25)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DlcError, match=r"junk\.pt"):
        load_backbone("resnet18", weights=junk)
    with pytest.raises(DlcError, match="does not fit backbone resnet18"):
        load_backbone("resnet18", weights=path)


def test_bad_weights_file_for_the_default_backbone_is_one_line(tmp_path):
    """A truncated download or a non-tensor pickle for EfficientNet-Lite0: a DlcError, no
    traceback from torch.load."""
    good = tmp_path / "good.pt"
    torch.save(efficientnet_lite0(weights=None).state_dict(), good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:50_000])
    with pytest.raises(DlcError, match=r"cut\.pt: not a readable checkpoint"):
        load_backbone("efficientnet_lite0", weights=cut)
    listed = tmp_path / "list.pt"
    torch.save([1, 2], listed)
    with pytest.raises(DlcError, match=r"list\.pt: expected a state_dict"):
        load_backbone("efficientnet_lite0", weights=listed)


def test_weight_names_follow_torchvision(tmp_path):
    """``--weights`` takes torchvision's names for torchvision architectures; every name of the
    ImageNet weights maps to the one cache key "imagenet"."""
    for name in ("imagenet", "DEFAULT", "IMAGENET1K_V1", "ResNet18_Weights.IMAGENET1K_V1"):
        assert resolve_weights("resnet18", name) == "imagenet"
        assert weights_key("resnet18", name) == "imagenet"
    assert resolve_weights("efficientnet_lite0", "DEFAULT") == "imagenet"
    assert resolve_weights("vgg19", None) is None and weights_key("vgg19", None) == "random"
    with pytest.raises(
        DlcError,
        match=r"IMAGENET1K_V2: weights file not found, and not a weight name of resnet18 \(imagenet, IMAGENET1K_V1, DEFAULT\)",
    ):
        resolve_weights("resnet18", "IMAGENET1K_V2")
    path = tmp_path / "DEFAULT.pt"
    path.write_bytes(b"0123")
    assert resolve_weights("squeezenet1_1", str(path)) == path
    assert weights_key("squeezenet1_1", str(path)).startswith("file:")


def test_torchvision_weights_offline_error(tmp_path, monkeypatch):
    """Offline and uncached, a torchvision backbone explains how to get its weights."""
    monkeypatch.setenv("DLC_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(DlcError, match="resnet18: ImageNet weights are not cached"):
        load_backbone("resnet18")


@pytest.mark.parametrize("name", ["resnet18", "vgg19", "squeezenet1_1"])
def test_torchvision_backbones_have_named_layers(name):
    backbone = load_backbone(name, weights=None)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        pooled = backbone(x)
        last = backbone.intermediate(x, [backbone.layer_names[-1]])
    assert pooled.shape == (1, backbone.feature_dim)
    assert len(last) == 1
    if name == "vgg19":
        assert backbone.layer_names[:4] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2"]
        assert "relu5_1" in backbone.layer_names


def test_registry_and_categories():
    from dlclassics.transfer.config import BACKBONES  # the CLI's torch-free copy of the names

    assert available_backbones()[0] == "efficientnet_lite0"
    assert tuple(available_backbones()) == BACKBONES
    categories = imagenet_categories()
    assert len(categories) == 1000
    assert (categories[309], categories[310]) == ("bee", "ant")
