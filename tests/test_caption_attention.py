"""The attention captioner: its loss gradients (with and without the doubly stochastic penalty)
agree with centred differences, it can overfit a few captions, and greedy and beam decoding return
captions with their attention maps."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dlclassics.captioning.attention_model import ATTENTION_PARAM_NAMES, AttentionCaptioningRNN
from dlclassics.numpy_nn.gradient_check import eval_numerical_gradient, norm_rel_error
from dlclassics.numpy_nn.optim import adam

WORDS = ["<NULL>", "<START>", "<END>", "a", "red", "blue", "circle", "square"]
VOCAB = {w: i for i, w in enumerate(WORDS)}


def _model(
    dtype: type = np.float64, regularization: float = 0.0, seed: int = 0, context: bool = False
):
    return AttentionCaptioningRNN(
        VOCAB,
        input_dim=5,
        wordvec_dim=4,
        hidden_dim=6,
        attention_dim=3,
        regularization=regularization,
        dtype=dtype,
        seed=seed,
        context_output=context,
    )


def _captions() -> np.ndarray:
    return np.array(
        [
            [1, 3, 4, 6, 2, 0],  # <START> a red circle <END> <NULL>
            [1, 3, 5, 7, 2, 0],
            [1, 4, 4, 2, 0, 0],
        ]
    )


@pytest.mark.parametrize(("regularization", "context"), [(0.0, False), (0.7, False), (0.7, True)])
def test_loss_gradients_match_centred_differences(regularization: float, context: bool) -> None:
    rng = np.random.default_rng(0)
    model = _model(regularization=regularization, context=context)
    for name in ("b", "b_init", "b_a", "b_vocab"):  # non-zero biases exercise every term
        model.params[name] = 0.3 * rng.standard_normal(model.params[name].shape)
    features = rng.standard_normal((3, 4, 5))
    captions = _captions()
    _, grads = model.loss(features, captions)
    assert set(grads) == set(ATTENTION_PARAM_NAMES)
    for name in ATTENTION_PARAM_NAMES:
        numeric = eval_numerical_gradient(
            lambda _: model.loss(features, captions)[0], model.params[name]
        )
        assert norm_rel_error(grads[name], numeric) <= 1e-7, name


def test_regularizer_adds_the_doubly_stochastic_penalty() -> None:
    rng = np.random.default_rng(1)
    features = rng.standard_normal((3, 4, 5))
    plain, regularized = _model(), _model(regularization=2.0)
    loss_plain = plain.loss(features, _captions())[0]
    loss_reg = regularized.loss(features, _captions())[0]
    _, alphas = plain.forward_attention(features, _captions())
    mask = (_captions()[:, 1:] != 0)[:, :, None]
    penalty = 2.0 / 3 * ((1 - (alphas * mask).sum(axis=1)) ** 2).sum()
    np.testing.assert_allclose(loss_reg - loss_plain, penalty)


@pytest.mark.parametrize("context", [False, True])
def test_float32_training_overfits_and_decodes_with_attention_maps(context: bool) -> None:
    rng = np.random.default_rng(2)
    model = _model(np.float32, regularization=0.1, seed=1, context=context)
    features = rng.standard_normal((3, 4, 5)).astype(np.float32)
    captions = _captions()
    configs = {name: {"learning_rate": 5e-2} for name in ATTENTION_PARAM_NAMES}
    for _ in range(300):
        loss, grads = model.loss(features, captions)
        for name in ATTENTION_PARAM_NAMES:
            model.params[name], configs[name] = adam(model.params[name], grads[name], configs[name])
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert loss < 0.3
    for beam in (1, 3):
        sampled, alphas = model.sample(
            features, max_length=6, beam_size=beam, return_attention=True
        )
        np.testing.assert_array_equal(sampled[:, :5], captions[:, 1:])
        assert alphas.shape == (3, 6, 4) and alphas.dtype == np.float32
        words = (sampled != 0).sum(axis=1)
        for n, count in enumerate(words):  # one map per generated word, each summing to 1
            np.testing.assert_allclose(alphas[n, :count].sum(axis=1), 1, rtol=1e-5)
            assert not alphas[n, count:].any()


@pytest.mark.parametrize("context", [False, True])
def test_beam_search_scores_at_least_as_well_as_greedy(context: bool) -> None:
    rng = np.random.default_rng(3)
    model = _model(seed=4, context=context)
    features = rng.standard_normal((5, 4, 5))
    greedy = model.sample(features, max_length=5)
    beam = model.sample(features, max_length=5, beam_size=4)

    def log_prob(sampled: np.ndarray) -> np.ndarray:
        captions = np.concatenate([np.full((5, 1), 1), sampled], axis=1)
        return model.sequence_log_prob(features, captions)

    assert (log_prob(beam) >= log_prob(greedy) - 1e-9).all()
    np.testing.assert_array_equal(model.sample(features, max_length=5, beam_size=1), greedy)


def test_pooled_features_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"needs \(N, L, D\) feature maps"):
        _model().loss(np.zeros((3, 5)), _captions())


# ---- spatial features, attention maps, box hits -----------------------------------------------


def test_feature_maps_are_cached_with_their_pooled_mean(tmp_path, one_torch_thread) -> None:
    from PIL import Image

    from dlclassics.captioning.features import FeatureConfig, extract_features
    from dlclassics.captioning.spatial import extract_feature_maps

    paths = []
    for k in range(3):
        path = tmp_path / f"img{k}.png"
        Image.fromarray(np.full((40, 40, 3), 60 * k, dtype=np.uint8)).save(path)
        paths.append(path)
    config = FeatureConfig(weights=None, image_size=64, batch_size=2)
    maps = extract_feature_maps(paths, config, tmp_path / "cache")
    assert maps.shape == (3, 4, 1280) and maps.dtype == np.float32  # 64 px: a 2 x 2 map
    assert len(list((tmp_path / "cache").iterdir())) == 2  # the maps and the pooled features
    pooled = extract_features(paths, config, tmp_path / "cache")  # read from the cache
    np.testing.assert_allclose(pooled, maps.mean(axis=1), rtol=1e-3, atol=1e-3)
    again = extract_feature_maps(paths, config, tmp_path / "cache")
    np.testing.assert_array_equal(again, maps)


def test_map_reducer_whitens_and_appends_cell_coordinates() -> None:
    from dlclassics.captioning.spatial import cell_coordinates, fit_map_reducer

    rng = np.random.default_rng(5)
    maps = rng.standard_normal((20, 9, 12)) * np.linspace(0.1, 5, 12)
    reducer = fit_map_reducer(maps, 4)
    reduced = reducer.apply(maps)
    assert reduced.shape == (20, 9, 6) and reducer.dim == 6 and reduced.dtype == np.float32
    np.testing.assert_allclose(reduced[..., :4].reshape(-1, 4).std(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(reduced[3, :, 4:], cell_coordinates(9))
    np.testing.assert_allclose(cell_coordinates(9)[[0, 4, 8]], [[-1, -1], [0, 0], [1, 1]])
    assert fit_map_reducer(maps, 4, coordinates=False).apply(maps).shape == (20, 9, 4)


def test_attention_box_hits_count_peaks_on_the_named_object() -> None:
    from types import SimpleNamespace

    from dlclassics.captioning.attention_maps import attention_box_hits

    red = SimpleNamespace(shape="circle", colour="red", x=16.0, y=16.0, radius=8.0)
    blue = SimpleNamespace(shape="circle", colour="blue", x=48.0, y=48.0, radius=8.0)
    scene = SimpleNamespace(objects=(red, blue))
    words = [["a", "red", "circle", "and", "a", "blue", "circle", "square"]]
    alphas = np.full((1, 8, 4), 0.1)
    alphas[0, 2, 0] = 0.7  # "red circle": peak on the top-left cell, where the red circle is
    alphas[0, 6, 0] = 0.7  # "blue circle": peak on the top-left cell, the blue one is bottom-right
    result = attention_box_hits(words, alphas, [scene], 64, ("circle", "square"), ("red", "blue"))
    assert result["shape_words"] == 2 and result["hits"] == 1 and result["hit_rate"] == 0.5
    assert result["skipped"] == 1  # "square" names no object of the scene
    assert result["chance_rate"] == 0.25  # each box lies in one of the four cells


def test_attention_figure_is_written(tmp_path) -> None:
    from PIL import Image

    from dlclassics.captioning.attention_maps import plot_attention

    image = tmp_path / "val_00000.png"
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(image)
    words = [
        "a",
        "small",
        "red",
        "circle",
        "to",
        "the",
        "left",
        "of",
        "a",
        "blue",
        "square",
        "<END>",
    ]
    rng = np.random.default_rng(0)
    rows = [{"image": str(image), "words": words, "alphas": rng.dirichlet(np.ones(16), 11)}]
    rows.append(
        {"image": str(tmp_path / "missing.png"), "words": ["a"], "alphas": np.ones((1, 16))}
    )
    path = plot_attention(rows, tmp_path / "attention_val.png", "attention")
    assert path.is_file() and path.stat().st_size > 10_000


def test_reproduce_tiny_shows_the_attention_stage(tmp_path, one_torch_thread) -> None:
    from dlclassics.captioning.reproduce import run_part

    result = run_part(tmp_path, tmp_path, "tiny")
    stage = result.data["attention"]
    assert set(stage["runs"]) == {"lstm", "attention"}
    # 6 PCA components (+ the cell's x, y for attention)
    assert stage["feature_dims"] == {"lstm": 6, "attention": 8}
    assert all(len(seconds) == 1 for seconds in stage["epoch_seconds"].values())
    boxes = stage["runs"]["attention"]["attention_boxes"]
    assert set(boxes) == {"shape_words", "hits", "hit_rate", "chance_rate", "skipped"}
    titles = [table.title for table in result.tables]
    assert any(t.startswith("Attention vs plain LSTM") for t in titles)
    # every BLEU and CIDEr cell carries its bootstrap interval, in part.json and the report
    from dlclassics.report.reproduce import build_section
    from dlclassics.stats import Estimate

    record = {"status": "ok", "result": result.to_record()}
    section = build_section(SimpleNamespace(key="captioning", title="4."), record, tmp_path)
    scored = [t for t in section.tables if any("BLEU" in c for c in t.columns)]
    assert [t.title[:20] for t in scored] == ["Overfitting a few tr", "Attention vs plain L"]
    for table in scored:
        columns = [i for i, c in enumerate(table.columns) if "BLEU" in c or "CIDEr" in c]
        cells = [row[i] for row in table.rows for i in columns]
        assert cells and all(isinstance(cell, Estimate) for cell in cells), table.title
        assert all(cell.low <= cell.high for cell in cells)
        assert re.search(r"\| \S+ \(\d\.\d{3}–\d\.\d{3}\) \|", table.to_markdown())
    val = stage["runs"]["attention"]["evaluation"]["val"]["greedy"]
    assert set(val["intervals"]) >= {"BLEU-1", "BLEU-4", "CIDEr"}
    assert "Where the attention looks" in titles and "Seconds per training epoch" in titles
    shown = [figure.path for figure in result.figures]
    assert Path("attention_attention/attention_val.png") in shown
    assert (tmp_path / "attention_attention" / "attention_val.png").is_file()


def test_dlc_caption_train_cell_attention_resume_and_sample(tmp_path, capsys, one_torch_thread):
    import json

    from PIL import Image

    from dlclassics.cli import main

    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    lines = []
    for i, (colour, word) in enumerate([((200, 20, 20), "red"), ((20, 20, 200), "blue")] * 3):
        Image.new("RGB", (40, 40), colour).save(folder / "images" / f"p{i}.png")
        lines += [f"p{i}.png#0\ta {word} square", f"p{i}.png#1\tthe square is {word}"]
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    common = ["caption", "train", "--data", str(folder), "--cell", "attention"]
    common += ["--image-size", "64", "--pca", "4", "--hidden-size", "12", "--wordvec", "6"]
    common += ["--attention-dim", "5", "--attention-reg", "0.1", "--batch-size", "4", "--beam", "2"]
    common += ["--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    assert main([*common, "--epochs", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["feature_dim"] == 6 and metrics["config"]["cell"] == "attention"
    assert metrics["figures"]["attention_val"] == "attention_val.png"
    assert (out / "attention_val.png").is_file()
    assert metrics["attention_boxes"] is None  # not a shapes folder: no object positions
    assert main([*common, "--epochs", "3", "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_done"] == 3
    capsys.readouterr()
    assert main(["caption", "sample", "--checkpoint", str(out / "checkpoint.pt"), "--n", "1"]) == 0
    assert "generated:" in capsys.readouterr().out
    assert main([*common, "--engine", "torch", "--out", str(tmp_path / "t")]) == 2
    assert "NumPy engine only" in capsys.readouterr().err
    assert (
        main(["caption", "train", "--data", "coco", "--cell", "attention", "--out", str(out)]) == 2
    )
    assert "--cell attention needs the images" in capsys.readouterr().err
