"""Settings of ``dlc caption``, free of heavy imports: building the ``dlc`` parser reads their
defaults.

``Config`` is the one configuration of a captioning run; its fields carry the names of the
``dlc caption train`` options (``--hidden-size`` → ``hidden_size``), so the command line fills
it directly and Python code writes the same names::

    from dlclassics import captioning

    config = captioning.Config(data="shapes", cell="lstm", epochs=10, out="runs/c")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The beam size of every decoding the user does not choose: training's extra evaluation,
# ``dlc caption sample``/``predict`` and ``Captioner.caption`` (1 would be greedy decoding).
DEFAULT_BEAM = 3
DATA_FORMATS = ("shapes", "coco", "folder")


@dataclass(frozen=True)
class ShapesConfig:
    """The generated shapes data set (``dlc caption make-shapes``)."""

    n_train: int = 2000
    n_val: int = 400
    n_test: int = 400
    seed: int = 0
    image_size: int = 128


@dataclass(frozen=True)
class Config:
    """A captioning run: the ``dlc caption train`` options, also what the solver trains with.

    ``data``: ``shapes`` (the generated benchmark, rendered into the user cache when absent),
    ``coco`` (CS231n's files under the data root) or a folder, whose format is detected (a
    ``make-shapes`` folder, CS231n's COCO files, or images with a captions file) unless
    ``data_format`` names it.

    >>> Config(data="shapes", cell="rnn", epochs=1).hidden_size
    256
    """

    data: str = "shapes"
    data_format: str | None = None  # shapes, coco or folder; None: detected
    data_root: str | None = None  # where named data sets live (None: $DLC_DATA, else the cache)
    cell: str = "lstm"  # rnn, lstm, or attention (an LSTM attending over the feature map)
    engine: str = "numpy"  # numpy: hand-derived gradients; torch: autograd on ``device``
    overfit: int | None = None  # train on N captions of N different images (the reference: 50)
    epochs: int = 10
    batch_size: int = 100
    lr: float = 5e-3
    lr_decay: float = 0.9  # multiplied into the learning rate after every epoch
    hidden_size: int = 256  # 256 / 128 generalise better than the reference's 512 / 256 on shapes
    wordvec: int = 128
    seed: int = 0  # of the weights and the batch order
    max_length: int = 30  # longest generated caption
    beam: int = DEFAULT_BEAM  # evaluation decodes greedily and, when > 1, with this beam size
    eval_images: int = 1000  # at most this many images per evaluated split
    backbone: str = "efficientnet_lite0"
    image_size: int = 224  # backbone input, shapes' 128-px renders upsampled (224: 7 x 7 maps)
    # PCA size of the pooled features (None: 128), or of each map location (attention; None: 64)
    pca: int | None = None
    cache_dir: str | None = None  # image feature cache (None: the user cache)
    # the attention cell: the attention layer's size, and lambda of the doubly stochastic
    # attention penalty (0: off)
    attention_dim: int = 64
    attention_reg: float = 0.0
    # the torch engine's and the image features' device (None: $DLC_DEVICE, else a visible GPU,
    # else the CPU; the run records the one chosen)
    device: str | None = None
    precision: str = "auto"  # autocast of the image backbone on a GPU (the CPU runs fp32)
    threads: int | None = None  # CPU threads of torch (None: torch's default)
    out: str = "runs/caption"  # the run folder
    resume: bool = False  # continue from OUT/checkpoint.pt


# The reference overfit protocol (CS231n): 50 captions of 50 images, 50 epochs of batches of 25,
# Adam 5e-3 (the default) decayed 0.995 per epoch, hidden 512, word vectors 256; loss < 0.1.
OVERFIT_PROTOCOL = Config(
    overfit=50, epochs=50, batch_size=25, lr_decay=0.995, hidden_size=512, wordvec=256
)
# The settings ``--overfit`` takes from the protocol unless given on the command line.
PROTOCOL_FIELDS = ("epochs", "batch_size", "lr_decay", "hidden_size", "wordvec")
# What a resumed run may change; it refuses any other change (as the torch experiments do).
RESUMABLE = (
    "epochs",
    "engine",
    "device",
    "precision",
    "threads",
    "beam",
    "max_length",
    "eval_images",
    "cache_dir",
    "data_root",
    "data",
    "data_format",
    "out",
    "resume",
)
# Fields renamed in 0.2 (old name → new name): checkpoints written before keep loading.
RENAMED_FIELDS = {"hidden": "hidden_size", "feature_cache": "cache_dir"}


def saved_config_values(values: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored configuration with the fields renamed since it was written.

    >>> saved_config_values({"hidden": 8, "cell": "rnn"})
    {'hidden_size': 8, 'cell': 'rnn'}
    """
    return {RENAMED_FIELDS.get(name, name): value for name, value in values.items()}
