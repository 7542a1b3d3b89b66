"""The one page ``dlc serve`` shows: four tabs in plain HTML, CSS and JavaScript (no framework,
nothing fetched from the internet, so it works offline). Each tab reads its inputs, posts them to
its endpoint as JSON (images as data URLs) and draws the answer, or the error message the server
gave, beside its button.
"""

from __future__ import annotations

import html
import json

from dlclassics.serve.uploads import megabytes

TABS = (
    ("style", "Style"),
    ("sentiment", "Sentiment"),
    ("classifier", "Image classifier"),
    ("caption", "Captioning"),
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dlclassics: see inside the models</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 12px 24px; }
  header h1 { font-size: 19px; margin: 0; }
  header p { margin: 2px 0 0; color: #c9cedb; font-size: 13px; }
  nav { display: flex; gap: 4px; padding: 12px 24px 0; border-bottom: 1px solid #d5d9e2; }
  nav button { border: 1px solid #d5d9e2; border-bottom: none; background: #e9ecf2;
    padding: 8px 16px; font: inherit; cursor: pointer; border-radius: 6px 6px 0 0; }
  nav button.active { background: #fff; font-weight: 600; }
  section { display: none; padding: 16px 24px; background: #fff; min-height: 420px; }
  section.active { display: block; }
  label { display: block; margin: 8px 0 4px; font-weight: 600; }
  textarea { width: min(720px, 100%); height: 110px; font: inherit; }
  .row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
  .run { margin-top: 12px; padding: 8px 20px; font: inherit; font-weight: 600; cursor: pointer;
    background: #2f6fde; color: #fff; border: none; border-radius: 6px; }
  .run:disabled { background: #9bb3dd; cursor: wait; }
  .error { color: #b3261e; font-weight: 600; margin-top: 8px; white-space: pre-wrap; }
  .missing { background: #fff6e0; border: 1px solid #e8c66a; padding: 10px 14px; border-radius: 6px; }
  .card { border: 1px solid #d5d9e2; border-radius: 8px; padding: 10px; margin: 10px 0; }
  .card img { display: block; max-width: 100%; }
  .word { padding: 1px 3px; margin: 1px; border-radius: 3px; display: inline-block; }
  .verdict { font-weight: 600; margin-right: 8px; }
  table { border-collapse: collapse; margin: 6px 0; }
  td { padding: 2px 10px 2px 0; }
  .maps { display: flex; flex-wrap: wrap; gap: 8px; }
  .maps figure { margin: 0; text-align: center; }
  .maps img { width: 112px; height: 112px; }
  .caption { font-size: 19px; font-weight: 600; }
  .note { color: #5b6475; font-size: 13px; }
</style>
</head>
<body>
<header><h1>dlclassics</h1>
<p>Four classic models and why they decide what they do. Everything runs on this computer. __LIMIT__</p></header>
<nav id="tabs"></nav>

<section id="tab-style">
  <div class="row">
    <div><label for="style-photo">Photo</label><input id="style-photo" type="file" accept="image/*"></div>
    <div><label for="style-paintings">Painting(s)</label>
      <input id="style-paintings" type="file" accept="image/*" multiple></div>
    <div><label for="style-weights">Blend weights (one per painting; empty: equal)</label>
      <input id="style-weights" type="text" placeholder="e.g. 1, 2"></div>
  </div>
  <div class="row">
    <div><label for="style-size">Size (shorter side, px)</label>
      <input id="style-size" type="number" min="64" max="512" value="256"></div>
    <div><label for="style-iters">Iterations</label>
      <input id="style-iters" type="number" min="1" max="1000" value="100"></div>
    <div><label><input id="style-original" type="checkbox"> keep the photo's colours</label></div>
  </div>
  <button class="run" id="style-run">Paint</button>
  <span id="style-busy" hidden><progress></progress> <span id="style-elapsed">0</span> s</span>
  <div class="error" id="style-error" role="alert"></div>
  <div class="row" id="style-output"></div>
</section>

<section id="tab-sentiment">
  <label for="sentiment-text">Sentences, one a line, as people write them</label>
  <textarea id="sentiment-text">The food was great, but the staff was rude.
Never again!</textarea><br>
  <button class="run" id="sentiment-run">Classify</button>
  <div class="error" id="sentiment-error" role="alert"></div>
  <p class="note">Green words speak for positive, red ones for negative: each word's colour is
  how much the probability moves when the word is left out.</p>
  <div id="sentiment-output"></div>
</section>

<section id="tab-classifier">
  <div class="missing" id="classifier-missing" hidden></div>
  <label for="classifier-files">Images</label>
  <input id="classifier-files" type="file" accept="image/*" multiple>
  <label for="classifier-topk">Top k</label>
  <input id="classifier-topk" type="number" min="1" max="10" value="3"><br>
  <button class="run" id="classifier-run">Classify</button>
  <div class="error" id="classifier-error" role="alert"></div>
  <p class="note">The heat map (Grad-CAM) shows where the evidence for the predicted class lies,
  on the centre crop the model sees.</p>
  <div class="row" id="classifier-output"></div>
</section>

<section id="tab-caption">
  <div class="missing" id="caption-missing" hidden></div>
  <label for="caption-file">Image</label>
  <input id="caption-file" type="file" accept="image/*">
  <label for="caption-beam">Decoding</label>
  <select id="caption-beam"><option value="1">greedy</option>
    <option value="3" selected>beam search (3)</option><option value="5">beam search (5)</option></select><br>
  <button class="run" id="caption-run">Caption</button>
  <div class="error" id="caption-error" role="alert"></div>
  <div id="caption-output"></div>
</section>

<script>
const CONFIG = __CONFIG__;
const TABS = __TABS__;
const $ = (id) => document.getElementById(id);

function showTab(name) {
  for (const [key] of TABS) {
    $("tab-" + key).classList.toggle("active", key === name);
    $("nav-" + key).classList.toggle("active", key === name);
  }
}
for (const [key, title] of TABS) {
  const button = document.createElement("button");
  button.id = "nav-" + key; button.textContent = title;
  button.onclick = () => showTab(key);
  $("tabs").appendChild(button);
}
showTab(TABS[0][0]);
for (const tab of ["classifier", "caption"]) {
  if (!CONFIG.ready[tab]) {
    $(tab + "-missing").textContent = CONFIG.missing[tab];
    $(tab + "-missing").hidden = false;
  }
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({name: file.name, data: reader.result});
    reader.onerror = () => reject(new Error(file.name + ": cannot be read"));
    reader.readAsDataURL(file);
  });
}

function element(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

async function run(tab, path, makeRequest, draw) {
  const button = $(tab + "-run"), error = $(tab + "-error"), output = $(tab + "-output");
  error.textContent = ""; button.disabled = true;
  try {
    const request = await makeRequest();
    const response = await fetch(path, {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(request)});
    let answer;
    try { answer = await response.json(); }
    catch (e) { answer = {error: "the server answered " + response.status}; }
    if (!response.ok) throw new Error(answer.error || ("the server answered " + response.status));
    output.replaceChildren(); draw(answer, output);
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function files(id, what) {
  const chosen = Array.from($(id).files);
  if (!chosen.length) throw new Error("choose " + what + " first");
  return Promise.all(chosen.map(readFile));
}

function wordColour(weight, largest) {
  const strength = Math.min(1, Math.abs(weight) / Math.max(largest, 1e-6));
  return weight >= 0 ? `rgba(30, 150, 60, ${strength * 0.75})` : `rgba(210, 40, 40, ${strength * 0.75})`;
}

$("sentiment-run").onclick = () => run("sentiment", "/api/sentiment",
  async () => ({text: $("sentiment-text").value}),
  (answer, output) => {
    for (const row of answer.rows) {
      const largest = Math.max(...row.words.map(([, w]) => Math.abs(w)));
      const words = row.words.map(([word, weight]) => element("span", {className: "word",
        textContent: word, title: (weight >= 0 ? "+" : "") + weight.toFixed(3),
        style: "background:" + wordColour(weight, largest)}));
      output.append(element("div", {className: "card sentiment-row"}, [
        element("span", {className: "verdict", textContent:
          `${row.sentiment} (${row.label}), p = ${row.probability.toFixed(3)}`}),
        element("div", {}, words)]));
    }
  });

$("classifier-run").onclick = () => run("classifier", "/api/classify",
  async () => ({images: await files("classifier-files", "images"),
                topk: Number($("classifier-topk").value)}),
  (answer, output) => {
    for (const image of answer.images) {
      const rows = image.topk.map((t) => element("tr", {}, [element("td", {textContent: t.label}),
        element("td", {textContent: t.probability.toFixed(4)})]));
      output.append(element("div", {className: "card classifier-result"}, [
        element("b", {textContent: image.name + ": " + image.label}),
        element("table", {}, rows), element("img", {src: image.overlay, alt: "Grad-CAM of " + image.name})]));
    }
  });

$("caption-run").onclick = () => run("caption", "/api/caption",
  async () => ({image: (await files("caption-file", "an image"))[0],
                beam: Number($("caption-beam").value)}),
  (answer, output) => {
    output.append(element("p", {className: "caption", id: "caption-text", textContent: answer.caption}));
    const maps = answer.attention.map((a) => element("figure", {}, [
      element("img", {src: a.map, alt: "attention for " + a.word}),
      element("figcaption", {textContent: a.word})]));
    if (maps.length) output.append(element("p", {className: "note", textContent:
      "Where the model looked for each word (its attention over the image):"}), element("div", {className: "maps"}, maps));
  });

let timer = null;
$("style-run").onclick = () => {
  const started = Date.now();
  $("style-busy").hidden = false;
  timer = setInterval(() => { $("style-elapsed").textContent = Math.round((Date.now() - started) / 1000); }, 500);
  run("style", "/api/style", async () => {
    const [photo] = await files("style-photo", "a photo");
    const paintings = await files("style-paintings", "one or more paintings");
    const text = $("style-weights").value.trim();
    const weights = text ? text.split(/[\\s,]+/).map(Number) : null;
    return {photo, paintings, weights, size: Number($("style-size").value),
            iters: Number($("style-iters").value), original_colors: $("style-original").checked};
  }, (answer, output) => {
    output.append(element("div", {className: "card"}, [element("b", {textContent:
        `the painting (${answer.seconds.toFixed(1)} s)`}), element("img", {src: answer.image, id: "style-image", alt: "the painting"})]),
      element("div", {className: "card"}, [element("b", {textContent: "losses"}),
        element("img", {src: answer.loss, alt: "loss curve"})]));
  }).finally(() => { clearInterval(timer); $("style-busy").hidden = true; });
};
</script>
</body>
</html>
"""


def script_json(value: object) -> str:
    """``value`` as JSON safe inside a ``<script>`` element (no ``</`` to end it early).

    Example:
        >>> script_json({"a": "</script>"})
        '{"a": "<\\\\/script>"}'
    """
    return json.dumps(value).replace("</", "<\\/")


def render_page(ready: dict[str, bool], missing: dict[str, str], max_upload: int) -> str:
    """The page, told which tabs have a model, what to say in those that have none, and the
    upload limit (shown in the header).

    Example:
        >>> "Image classifier" in render_page({"classifier": False}, {}, 10_000_000)
        True
    """
    config = {"ready": ready, "missing": missing}
    limit = html.escape(f"Uploads up to {megabytes(max_upload)} an image.")
    page = PAGE.replace("__CONFIG__", script_json(config)).replace("__TABS__", script_json(TABS))
    return page.replace("__LIMIT__", limit)
