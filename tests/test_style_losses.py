"""Style-transfer losses: SPEC.md's sums on hand-computed examples, brute-force loops, autograd."""

from __future__ import annotations

import pytest
import torch

from dlclassics.style.losses import content_loss, gram_matrix, style_loss, tv_loss


def test_content_loss_hand_example():
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    target = torch.tensor([[0.0, 2.0], [1.0, 7.0]]).view(1, 1, 2, 2)
    # differences 1, 0, 2, -3 → squares 1 + 0 + 4 + 9 = 14
    assert content_loss(features, target, 0.5).item() == pytest.approx(7.0)


def test_gram_matrix_hand_example():
    # two channels over two positions: a = (1, 2), b = (3, 4); C*H*W = 2*1*2 = 4
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)
    expected = torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 4
    torch.testing.assert_close(gram_matrix(features)[0], expected)


def test_gram_matrix_matches_loops_and_is_symmetric():
    features = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    n, c, h, w = features.shape
    expected = torch.zeros(n, c, c)
    for k in range(n):
        for a in range(c):
            for b in range(c):
                total = 0.0
                for i in range(h):
                    for j in range(w):
                        total += features[k, a, i, j].item() * features[k, b, i, j].item()
                expected[k, a, b] = total / (c * h * w)
    gram = gram_matrix(features)
    torch.testing.assert_close(gram, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gram, gram.transpose(1, 2), rtol=0, atol=0)


def test_gram_matrix_of_channels_last_features_is_the_same():
    features = torch.randn(1, 4, 6, 7, generator=torch.Generator().manual_seed(1))
    channels_last = features.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(gram_matrix(channels_last), gram_matrix(features))


def test_style_loss_hand_example():
    grams = [torch.tensor([[[1.0, 2.0], [2.0, 1.0]]]), torch.tensor([[[3.0]]])]
    targets = [torch.tensor([[[0.0, 2.0], [2.0, 3.0]]]), torch.tensor([[[1.0]]])]
    # layer 0: 1² + 0 + 0 + 2² = 5, weight 10 → 50; layer 1: 2² = 4, weight 0.5 → 2
    assert style_loss(grams, targets, [10.0, 0.5]).item() == pytest.approx(52.0)


def test_style_loss_matches_loops():
    generator = torch.Generator().manual_seed(2)
    grams = [torch.randn(1, c, c, generator=generator) for c in (2, 3, 5)]
    targets = [torch.randn(1, c, c, generator=generator) for c in (2, 3, 5)]
    weights = [3.0, 0.25, 7.0]
    expected = 0.0
    for gram, target, weight in zip(grams, targets, weights, strict=True):
        c = gram.shape[-1]
        for i in range(c):
            for j in range(c):
                expected += weight * (gram[0, i, j].item() - target[0, i, j].item()) ** 2
    assert style_loss(grams, targets, weights).item() == pytest.approx(expected, rel=1e-5)


def test_style_loss_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one target and one weight per layer"):
        style_loss([torch.zeros(1, 2, 2)], [torch.zeros(1, 2, 2)], [1.0, 2.0])


def test_tv_loss_hand_example():
    image = torch.tensor([[1.0, 2.0], [4.0, 8.0]]).view(1, 1, 2, 2)
    # horizontal (2-1)² + (8-4)² = 17, vertical (4-1)² + (8-2)² = 45
    assert tv_loss(image, 2.0).item() == pytest.approx(2.0 * 62.0)


def test_tv_loss_matches_loops():
    image = torch.rand(1, 3, 5, 6, generator=torch.Generator().manual_seed(3))
    _, channels, h, w = image.shape
    expected = 0.0
    for c in range(channels):
        for i in range(h):
            for j in range(w - 1):
                expected += (image[0, c, i, j + 1].item() - image[0, c, i, j].item()) ** 2
        for i in range(h - 1):
            for j in range(w):
                expected += (image[0, c, i + 1, j].item() - image[0, c, i, j].item()) ** 2
    assert tv_loss(image, 0.3).item() == pytest.approx(0.3 * expected, rel=1e-5)


def test_tv_loss_of_a_constant_image_is_zero():
    assert tv_loss(torch.full((1, 3, 4, 4), 0.7), 5.0).item() == 0.0


def test_losses_pass_numerical_gradient_checks():
    """The pixel gradients autograd derives from these losses agree with finite differences."""
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(1, 3, 4, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    target = torch.randn(1, 3, 4, 4, generator=generator, dtype=torch.float64)
    gram_target = torch.randn(1, 3, 3, generator=generator, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: content_loss(f, target, 0.7), (features,))
    assert torch.autograd.gradcheck(lambda f: gram_matrix(f), (features,))
    assert torch.autograd.gradcheck(
        lambda f: style_loss([gram_matrix(f)], [gram_target], [2.0]), (features,)
    )
    assert torch.autograd.gradcheck(lambda f: tv_loss(f, 0.4), (features,))
