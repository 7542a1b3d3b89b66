"""Caption data loaders: COCO in the CS231n schema, a user's folder + captions file, features."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from dlclassics.captioning import features as features_module
from dlclassics.captioning.coco import load_coco
from dlclassics.captioning.features import FeatureConfig, extract_features, fit_pca
from dlclassics.captioning.folder import FolderOptions, load_caption_folder
from dlclassics.captioning.vocab import build_vocab, decode_captions, encode_captions, tokenize
from dlclassics.errors import DlcError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


COCO_WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "man", "riding", "horse", "dog"]


def write_coco_fixture(folder: Path) -> None:
    """A tiny data set in exactly the reference's file names, keys and dtypes."""
    folder.mkdir()
    w = {word: i for i, word in enumerate(COCO_WORDS)}
    train_captions = np.array(
        [
            [1, w["a"], w["man"], w["riding"], w["a"], w["horse"], 2, 0],
            [1, w["a"], w["dog"], 2, 0, 0, 0, 0],
            [1, w["a"], w["horse"], 3, 2, 0, 0, 0],
        ],
        dtype=np.int32,
    )
    val_captions = np.array([[1, w["a"], w["dog"], 2, 0, 0, 0, 0]] * 2, dtype=np.int32)
    with h5py.File(folder / "coco2014_captions.h5", "w") as f:
        f["train_captions"] = train_captions
        f["train_image_idxs"] = np.array([0, 1, 0], dtype=np.int32)
        f["val_captions"] = val_captions
        f["val_image_idxs"] = np.array([0, 0], dtype=np.int32)
    rng = np.random.default_rng(0)
    for split, count in (("train", 2), ("val", 1)):
        with h5py.File(folder / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f["features"] = rng.standard_normal((count, 16)).astype(np.float32)
        urls = [
            f"http://images.cocodataset.org/{split}2014/COCO_{i:012d}.jpg" for i in range(count)
        ]
        (folder / f"{split}2014_urls.txt").write_text("\n".join(urls) + "\n")
    vocab = {"idx_to_word": COCO_WORDS, "word_to_idx": w}
    (folder / "coco2014_vocab.json").write_text(json.dumps(vocab))


def test_coco_loader_reads_the_reference_schema(tmp_path: Path) -> None:
    write_coco_fixture(tmp_path / "coco")
    data = load_coco(tmp_path / "coco")
    train = data.splits["train"]
    assert data.word_to_idx["horse"] == 7 and data.feature_dim == 16
    assert train.captions.shape == (3, 8) and train.features.shape == (2, 16)
    assert train.references == [["a man riding a horse", "a horse <UNK>"], ["a dog"]]
    assert train.images[1].endswith("COCO_000000000001.jpg")
    assert data.splits["val"].references == [["a dog", "a dog"]]


def test_coco_loader_names_the_broken_file(tmp_path: Path) -> None:
    write_coco_fixture(tmp_path / "coco")
    with h5py.File(tmp_path / "coco" / "coco2014_captions.h5", "a") as f:
        del f["val_image_idxs"]
        f["val_image_idxs"] = np.array([0, 5], dtype=np.int32)
    with pytest.raises(DlcError, match=r"coco2014_captions\.h5: val_image_idxs points past"):
        load_coco(tmp_path / "coco")
    (tmp_path / "coco" / "val2014_urls.txt").unlink()
    with pytest.raises(DlcError, match=r"val2014_urls\.txt: not found"):
        load_coco(tmp_path / "coco")


def test_vocabulary_and_encoding() -> None:
    tokens = [tokenize("A dog's ball, RED!"), tokenize("a red ball"), tokenize("a cat")]
    assert tokens[0] == ["a", "dog's", "ball", "red"]
    vocab = build_vocab(tokens, min_count=2)
    assert list(vocab) == ["<NULL>", "<START>", "<END>", "<UNK>", "a", "ball", "red"]
    encoded = encode_captions(tokens, vocab, max_words=3)
    assert encoded.shape == (3, 5)
    assert decode_captions(encoded, list(vocab)) == ["a <UNK> ball", "a red ball", "a <UNK>"]


def make_caption_folder(
    root: Path, captions: str, images: tuple[str, ...], name: str = "captions.txt"
) -> Path:
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for image in images:
        pixels = rng.integers(0, 255, size=(40, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / image)
    (root / name).write_text(captions)
    return root


FEATURES = FeatureConfig(image_size=32, batch_size=4)


def options(tmp_path: Path, **changes) -> FolderOptions:
    return FolderOptions(
        features=FEATURES, cache_dir=tmp_path / "cache", min_word_count=1, **changes
    )


def test_folder_loader_flickr8k_format(tmp_path: Path, capsys) -> None:
    captions = (
        "a.png#0\tA dog runs.\na.png#1\ta brown dog\n"
        "b.png#0\tA cat sleeps\nc.png#0\ta dog and a cat\nd.png\ta bird\n"
    )
    folder = make_caption_folder(
        tmp_path / "mine", captions, ("a.png", "b.png", "c.png", "d.png", "extra.png")
    )
    data = load_caption_folder(folder, options(tmp_path, val_fraction=0.25))
    assert "extra.png" in capsys.readouterr().err  # an image with no caption: warned and left out
    train, val = data.splits["train"], data.splits["val"]
    assert train.num_images + val.num_images == 4 and val.num_images == 1
    # PCA of the 3 training images' 1280-d features: at most 3 components (default 128)
    assert train.features.shape[1] == 3 and train.features.dtype == np.float32
    assert np.allclose(train.features.mean(axis=0), 0, atol=1e-4)  # centred on train
    everything = {
        Path(p).name: refs
        for s in (train, val)
        for p, refs in zip(s.images, s.references, strict=True)
    }
    assert everything["a.png"] == ["a dog runs", "a brown dog"]
    assert set(data.word_to_idx) >= {"<NULL>", "<START>", "<END>", "<UNK>"}


def test_folder_loader_csv_and_pca(tmp_path: Path) -> None:
    captions = 'image,caption\na.png,a red car\nb.png,"a car, blue"\nc.png,two cars\n'
    folder = make_caption_folder(
        tmp_path / "mine", captions, ("a.png", "b.png", "c.png"), "captions.csv"
    )
    data = load_caption_folder(folder, options(tmp_path, pca_dim=2, val_fraction=0.3))
    assert data.splits["train"].features.shape == (2, 2)
    assert data.splits["val"].features.shape == (1, 2)


def test_caption_for_missing_image_is_an_error_naming_the_line(tmp_path: Path) -> None:
    captions = "a.png#0\ta dog\nmissing.png#0\ta cat\n"
    folder = make_caption_folder(tmp_path / "mine", captions, ("a.png",))
    with pytest.raises(DlcError, match=r"captions\.txt:2: image 'missing\.png' not found"):
        load_caption_folder(folder, options(tmp_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.png a dog without a tab\n", r"captions\.txt:1: expected '<image>#<k><TAB><caption>'"),
        ("a.png#0\ta dog\nb.png#0\t  ...  \n", r"captions\.txt:2: empty caption for b\.png"),
        ("\n\n", r"captions\.txt: no captions"),
    ],
)
def test_malformed_captions_file(tmp_path: Path, text: str, message: str) -> None:
    folder = make_caption_folder(tmp_path / "mine", text, ("a.png", "b.png"))
    with pytest.raises(DlcError, match=message):
        load_caption_folder(folder, options(tmp_path))


def test_csv_unterminated_quote_is_an_error_naming_the_line(tmp_path: Path) -> None:
    # the quote opened on line 3 would swallow the rows after it into one caption
    captions = 'image,caption\na.png,a red car\nb.png,"a blue car\nc.png,two cars\nd.png,a cup\n'
    folder = make_caption_folder(
        tmp_path / "mine", captions, ("a.png", "b.png", "c.png", "d.png"), "captions.csv"
    )
    with pytest.raises(DlcError, match=r"captions\.csv:3: malformed CSV \(a quote opened here"):
        load_caption_folder(folder, options(tmp_path))


def test_csv_error_names_the_line_after_a_multi_line_caption(tmp_path: Path) -> None:
    captions = 'image,caption\na.png,"a red\nshiny\ncar"\nb.png,a car,extra\n'
    folder = make_caption_folder(tmp_path / "mine", captions, ("a.png", "b.png"), "captions.csv")
    with pytest.raises(DlcError, match=r"captions\.csv:5: expected 2 fields"):
        load_caption_folder(folder, options(tmp_path))


def test_features_are_cached_and_invalidated_by_changes(tmp_path: Path, monkeypatch) -> None:
    folder = make_caption_folder(tmp_path / "imgs", "", ("a.png", "b.png"))
    paths = [folder / "images" / "a.png", folder / "images" / "b.png"]
    first = extract_features(paths, FEATURES, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1

    def no_recompute(*args, **kwargs):
        raise AssertionError("features were recomputed although cached")

    monkeypatch.setattr(features_module, "compute_features", no_recompute)
    assert np.array_equal(extract_features(paths, FEATURES, tmp_path / "cache"), first)
    Image.new("RGB", (40, 48), "red").save(paths[1])  # the image changed: a new cache entry
    with pytest.raises(AssertionError, match="recomputed"):
        extract_features(paths, FEATURES, tmp_path / "cache")


def test_pca_keeps_the_leading_directions() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2)) @ np.array([[5.0, 0, 0], [0, 0.5, 0]]) + 3
    pca = fit_pca(x, 1)
    assert np.allclose(np.abs(pca.components[:, 0]), [1, 0, 0], atol=0.02)
    assert pca.apply(x).shape == (200, 1)


def test_train_command_on_coco_schema(tmp_path: Path) -> None:
    from dlclassics.cli import main

    write_coco_fixture(tmp_path / "coco")
    out = tmp_path / "run"
    args = [
        "caption",
        "train",
        "--data",
        str(tmp_path / "coco"),
        "--cell",
        "rnn",
        "--epochs",
        "60",
    ]
    args += [
        "--batch-size",
        "3",
        "--hidden-size",
        "16",
        "--wordvec",
        "8",
        "--lr",
        "3e-2",
        "--lr-decay",
        "0.995",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_loss"] < 1.0 and metrics["train_captions"] == 3
    assert (out / "samples_val.png").is_file()  # COCO images are URLs: drawn as named panels
