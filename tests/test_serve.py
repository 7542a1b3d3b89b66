"""``dlc serve`` driven in a real headless Chromium (Playwright with the system ``chromium``): each
tab produces its output for a small input, an oversized or non-image upload is refused with a
message; and the server's refusals over plain HTTP (a body over the limit, a missing model)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics import captioning, cli, sentiment, transfer
from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.shapes import make_shapes
from dlclassics.serve.page import render_page
from dlclassics.serve.server import Service, make_server
from dlclassics.serve.tabs import Models

MAX_UPLOAD_MB = 0.5
START_SECONDS = 120  # loading the models on a busy machine
COLOURS = {"reds": (210, 40, 40), "blues": (40, 40, 210)}


def noisy_image(colour: tuple[int, int, int], size: tuple[int, int], seed: int) -> Image.Image:
    pixels = np.array(colour) + np.random.default_rng(seed).normal(0, 25, (*size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A transfer best.pt (one freeze epoch on two colours) and an attention captioner (two
    epochs on a tiny shapes set), trained through the API."""
    root = tmp_path_factory.mktemp("serve_models")
    for name, colour in COLOURS.items():
        (root / "images" / name).mkdir(parents=True)
        for i in range(5):
            noisy_image(colour, (40, 56), seed=i).save(root / "images" / name / f"{i}.png")
    classifier = transfer.train(
        transfer.Config(
            data=root / "images",
            mode="freeze",
            epochs=1,
            views=1,
            tta=False,
            batch_size=4,
            out=root / "transfer",
            device="cpu",
            threads=1,
        )
    )
    shapes = make_shapes(
        root / "shapes", ShapesConfig(n_train=16, n_val=6, n_test=4, image_size=64)
    )
    captioner = captioning.train(
        captioning.Config(
            data=str(shapes),
            cell="attention",
            epochs=2,
            beam=2,
            cache_dir=str(root / "cache"),
            out=str(root / "caption"),
            device="cpu",
            hidden_size=16,
            wordvec=8,
            image_size=64,
            pca=6,
            batch_size=16,
            threads=1,
        )
    )
    return {"transfer": classifier.checkpoint, "caption": captioner.checkpoint}


@pytest.fixture(scope="module")
def server_url(checkpoints: dict[str, Path]) -> Iterator[str]:
    """``dlc serve`` on a free port in a subprocess; the address it prints."""
    command = [sys.executable, "-m", "dlclassics", "serve", "--port", "0", "--device", "cpu"]
    command += ["--transfer-checkpoint", str(checkpoints["transfer"])]
    command += ["--caption-checkpoint", str(checkpoints["caption"])]
    command += ["--max-upload-mb", str(MAX_UPLOAD_MB)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DLC_OFFLINE": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_SECONDS)
    match = re.search(r"open (http://127\.0\.0\.1:\d+/) \(this computer only", "".join(found))
    if match is None:
        process.kill()
        pytest.fail(f"dlc serve did not start: {''.join(found)!r} {process.stderr.read()!r}")
    yield match.group(1)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, the system's (Playwright never downloads one here)."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server_url: str):
    opened = browser.new_page(viewport={"width": 1200, "height": 900})
    opened.goto(server_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small photo and painting, an image over the upload limit, and a text file."""
    root = tmp_path_factory.mktemp("uploads")
    files = {name: root / f"{name}.png" for name in ("photo", "painting", "huge")}
    noisy_image((200, 60, 60), (48, 64), seed=1).save(files["photo"])
    noisy_image((60, 60, 200), (48, 64), seed=2).save(files["painting"])
    noise = np.random.default_rng(3).integers(0, 256, (600, 600, 3), dtype=np.uint8)
    Image.fromarray(noise).save(files["huge"])  # ~1 MB of incompressible noise
    files["text"] = root / "notes.png"
    files["text"].write_text("not an image at all\n")
    return files


def test_serve_is_a_dlc_command() -> None:
    assert "serve" in cli.PACKAGES  # cli.py: PACKAGES lists "serve"


def test_page_has_four_tabs(page) -> None:
    tabs = page.locator("nav button").all_inner_texts()
    assert tabs == ["Style", "Sentiment", "Image classifier", "Captioning"]
    assert "127.0.0.1" in page.url


def test_sentiment_tab_colours_each_word(page) -> None:
    page.click("#nav-sentiment")
    page.fill("#sentiment-text", "The food was great!\nRude staff, never again.")
    page.click("#sentiment-run")
    page.wait_for_selector(".sentiment-row >> nth=1")
    verdicts = page.locator(".sentiment-row .verdict").all_inner_texts()
    assert verdicts[0].startswith("positive (1), p = ")
    assert verdicts[1].startswith("negative (0), p = ")
    words = page.locator(".sentiment-row >> nth=0").locator(".word")
    assert words.all_inner_texts() == ["the", "food", "was", "great", "!"]
    assert "rgba(30, 150, 60" in words.nth(3).get_attribute("style")  # "great": positive, green


def test_classifier_tab_gives_topk_and_grad_cam(page, pictures) -> None:
    page.click("#nav-classifier")
    assert page.locator("#classifier-missing").is_hidden()
    page.set_input_files("#classifier-files", [pictures["photo"], pictures["painting"]])
    page.fill("#classifier-topk", "2")
    page.click("#classifier-run")
    page.wait_for_selector(".classifier-result >> nth=1", timeout=60_000)
    first = page.locator(".classifier-result").nth(0)
    assert re.fullmatch(r"photo\.png: (reds|blues)", first.locator("b").inner_text())
    assert len(first.locator("tr").all()) == 2
    assert first.locator("img").get_attribute("src").startswith("data:image/png;base64,")


def test_caption_tab_shows_caption_and_attention(page, pictures) -> None:
    page.click("#nav-caption")
    page.set_input_files("#caption-file", pictures["photo"])
    page.select_option("#caption-beam", "1")
    page.click("#caption-run")
    page.wait_for_selector("#caption-text", timeout=60_000)
    words = page.inner_text("#caption-text").split()
    assert words and len(page.locator(".maps figure").all()) == len(words)


def test_style_tab_paints(page, pictures) -> None:
    page.set_input_files("#style-photo", pictures["photo"])
    page.set_input_files("#style-paintings", [pictures["painting"], pictures["photo"]])
    page.fill("#style-weights", "1, 3")
    page.fill("#style-size", "64")
    page.fill("#style-iters", "3")
    page.check("#style-original")
    page.click("#style-run")
    page.wait_for_selector("#style-image", timeout=120_000)
    source = page.get_attribute("#style-image", "src")
    painted = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
    assert min(painted.size) == 64
    assert page.inner_text("#style-error") == ""


def test_oversized_and_non_image_uploads_are_refused(page, pictures) -> None:
    page.click("#nav-classifier")
    page.set_input_files("#classifier-files", pictures["huge"])
    page.click("#classifier-run")
    page.wait_for_function("document.getElementById('classifier-error').textContent !== ''")
    assert re.fullmatch(
        r"huge\.png: 1\.\d MB, over the 0\.5 MB limit", page.inner_text("#classifier-error")
    )
    page.set_input_files("#classifier-files", pictures["text"])
    page.click("#classifier-run")
    page.wait_for_function(
        "document.getElementById('classifier-error').textContent.includes('notes')"
    )
    assert page.inner_text("#classifier-error").startswith("notes.png: not an image")


@pytest.fixture(scope="module")
def bare_server() -> Iterator[str]:
    """An in-process server with the sentiment model only and a 0.1 MB upload limit."""
    models = Models(sentiment.load(device="cpu"), missing={"caption": "train one"})
    service = Service(models, max_upload=100_000)
    server = make_server(service, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_body_over_the_limit_is_refused_unread(bare_server: str) -> None:
    status, answer = post(f"{bare_server}/api/caption", b"x" * 400_000)
    assert status == 413
    assert answer["error"] == "the upload is 0.4 MB, over the 0.2 MB this tab takes"


def test_a_tab_without_its_model_says_how_to_get_one(bare_server: str) -> None:
    status, answer = post(f"{bare_server}/api/caption", json.dumps({"image": None}).encode())
    assert (status, answer) == (409, {"error": "train one"})
    with urllib.request.urlopen(f"{bare_server}/api/ready", timeout=30) as ready:
        assert json.loads(ready.read())["ready"]["caption"] is False
    page_text = render_page({"caption": False}, {"caption": "train one </script>"}, 1000)
    assert "train one <\\/script>" in page_text


def test_bad_requests_get_messages(bare_server: str) -> None:
    assert post(f"{bare_server}/api/sentiment", b"not json")[0] == 400
    status, answer = post(f"{bare_server}/api/sentiment", json.dumps({"text": 5}).encode())
    assert (status, answer["error"]) == (400, "the sentences must be text")
    status, answer = post(f"{bare_server}/api/style", json.dumps({"paintings": []}).encode())
    assert (status, answer["error"]) == (400, "give 1 to 4 paintings")


def test_bad_options_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--transfer-checkpoint", "nope.pt", "--device", "cpu"]) == 2
    assert capsys.readouterr().err == "dlc: error: nope.pt: checkpoint not found\n"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--port", "70000"])
    assert exit_info.value.code == 2
    assert "--port: 70000 is not in [0, 65535]" in capsys.readouterr().err
