"""Settings of ``dlc caption``, free of heavy imports: building the ``dlc`` parser reads their
defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShapesConfig:
    """The generated shapes data set (``dlc caption make-shapes``)."""

    n_train: int = 2000
    n_val: int = 400
    n_test: int = 400
    seed: int = 0
    image_size: int = 128


@dataclass(frozen=True)
class TrainConfig:
    """A captioning run: the ``dlc caption train`` flags, also what the solver trains with."""

    data: str = "shapes"
    cell: str = "lstm"  # rnn, lstm, or attention (an LSTM attending over the feature map)
    engine: str = "numpy"  # numpy: hand-derived gradients; torch: autograd on ``device``
    overfit: int | None = None  # train on N captions of N different images (the reference: 50)
    epochs: int = 10
    batch_size: int = 100
    lr: float = 5e-3
    lr_decay: float = 0.9  # multiplied into the learning rate after every epoch
    hidden: int = 256  # 256 / 128 generalise better than the reference's 512 / 256 on shapes
    wordvec: int = 128
    seed: int = 0  # of the weights and the batch order
    max_length: int = 30  # longest generated caption
    beam: int = 3  # evaluation decodes greedily and, when > 1, with this beam size
    eval_images: int = 1000  # at most this many images per evaluated split
    backbone: str = "efficientnet_lite0"
    image_size: int = 224  # backbone input, shapes' 128-px renders upsampled (224: 7 x 7 maps)
    # PCA size of the pooled features (None: 128), or of each map location (attention; None: 64)
    pca: int | None = None
    feature_cache: str | None = None
    # the attention cell: the attention layer's size, and lambda of the doubly stochastic
    # attention penalty (0: off)
    attention_dim: int = 64
    attention_reg: float = 0.0
    device: str = "cpu"  # the torch engine's and the image features' device


# The reference overfit protocol (CS231n): 50 captions of 50 images, 50 epochs of batches of 25,
# Adam 5e-3 (the default) decayed 0.995 per epoch, hidden 512, word vectors 256; loss < 0.1.
OVERFIT_PROTOCOL = TrainConfig(
    overfit=50, epochs=50, batch_size=25, lr_decay=0.995, hidden=512, wordvec=256
)
# The settings ``--overfit`` takes from the protocol unless given on the command line.
PROTOCOL_FIELDS = ("epochs", "batch_size", "lr_decay", "hidden", "wordvec")
# What a resumed run may change; it refuses any other change (as the torch experiments do).
RESUMABLE = ("epochs", "engine", "device", "beam", "max_length", "eval_images", "feature_cache")
