"""int8 inference for ``minilm``: its linear layers dynamically quantised (``dlc sentiment
predict --quantize int8``). CPU only: the int8 kernels are CPU kernels."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from dlclassics.sentiment.classifier import Classifier, Ensemble


class FullRangeLinear(DynamicLinear):
    """A dynamic int8 linear layer that quantises its activations to all 8 bits (where the CPU
    has VNNI, see ``full_range_activations``).

    Example:
        >>> layer = FullRangeLinear(384, 1)
        >>> layer(torch.zeros(2, 384)).shape
        torch.Size([2, 1])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (..., in) float → (..., out) in ``x``'s dtype."""
        packed = self._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False).to(x.dtype)


def full_range_activations() -> bool:
    """Whether this CPU multiplies int8 with 32-bit accumulation (VNNI), so dynamic int8 layers
    can quantise activations to all 8 bits. Without it, x86 kernels sum pairs of u8 x s8
    products in 16 bits, which can saturate; torch then keeps activations to 7 bits, which
    costs MiniLM 0.13 points of Yelp dev accuracy against 0.03 at 8 bits.

    Example:
        >>> full_range_activations() in (True, False)
        True
    """
    is_vnni = getattr(torch.cpu, "_is_vnni_supported", None)  # private; absent: assume no
    return torch.backends.quantized.engine in ("x86", "fbgemm") and bool(is_vnni and is_vnni())


def quantize_int8(classifier: Classifier) -> Classifier:
    """A copy of ``classifier`` whose ``nn.Linear`` layers are dynamically quantised to int8:
    weights stored as int8 with one scale per output channel, each batch's activations quantised
    on the fly (8 bits where ``full_range_activations``, else 7). For ``minilm``, whose time goes
    to its encoder's linear layers: 2.35x the float model's sentences/s on one CPU thread,
    and the same label for 99.7 % of Yelp dev. CPU only (the int8 kernels are CPU kernels).

    ``torch.ao.quantization.quantize_dynamic`` is deprecated in favour of the separate torchao
    package but still works in torch 2.14; its warning is silenced here.

    Example:
        >>> int8 = quantize_int8(sentiment.load("runs/sentiment/minilm/best.pt"))
        >>> int8.predict(["Great food!"])
        ['1']
    """
    spec = {nn.Linear: per_channel_dynamic_qconfig}
    mapping = {nn.Linear: FullRangeLinear if full_range_activations() else DynamicLinear}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_dynamic(
            classifier.model.to("cpu"), spec, dtype=torch.qint8, mapping=mapping
        )
    return replace(classifier, model=model.eval())


def quantize_members(
    model: Classifier | Ensemble, names: Sequence[str], say: Callable[[str], object]
) -> Classifier | Ensemble:
    """``--quantize int8`` on a model or an ensemble (its members named ``names``): each minilm
    member quantised (``quantize_int8``); each word model kept in float32, said in one line
    (its time is not in large linear layers).

    Example:
        >>> quantize_members(sentiment.load("runs/bow/best.pt"), ["bow.pt"], print).config.model
        bow.pt: --quantize int8 ignored for the word model bow
        'bow'
    """
    members = model.members if isinstance(model, Ensemble) else [model]
    kept = []
    for classifier, name in zip(members, names, strict=True):
        if classifier.config.model == "minilm":
            kept.append(quantize_int8(classifier))
            continue
        say(f"{name}: --quantize int8 ignored for the word model {classifier.config.model}")
        kept.append(classifier)
    return Ensemble(kept) if isinstance(model, Ensemble) else kept[0]
