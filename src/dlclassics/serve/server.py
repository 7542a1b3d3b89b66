"""The local web server behind ``dlc serve``: Python's own ``http.server``, one page and one JSON
endpoint per tab.

    GET  /                 the page (``page.PAGE``)
    GET  /api/ready        which tabs have a model, and how to get the missing ones
    POST /api/sentiment    {"text": "..."}                         → {"rows": [...]}
    POST /api/classify     {"images": [{name, data}], "topk": 3}   → {"images": [...]}
    POST /api/caption      {"image": {name, data}, "beam": 1}      → {"caption", "attention"}
    POST /api/style        {"photo", "paintings", "weights", "size", "iters",
                            "original_colors"}                     → {"image", "loss", "seconds"}

A body larger than its endpoint allows is refused before it is read (413, with a message); an
image is checked by ``uploads``; every refusal or bad setting comes back as ``{"error": ...}``
with a 4xx status, which the page shows beside the tab's button. The models are used one request
at a time (a lock): the machine's cores go to one painting, not to several fighting for them.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dlclassics.errors import DlcError
from dlclassics.serve.page import render_page
from dlclassics.serve.tabs import (
    MAX_PAINTINGS,
    MAX_TOPK,
    STYLE_ITERATIONS,
    STYLE_SIZES,
    Models,
    StyleRequest,
    blend_weights,
    caption_image,
    classify_images,
    paint,
    sentiment_rows,
    whole_number,
)
from dlclassics.serve.uploads import UploadError, body_limit, megabytes, read_image, read_json

MAX_IMAGES = 8  # images classified in one request
TEXT_LIMIT = 100_000  # bytes of sentences
DISCARD_LIMIT = 1 << 30  # a refused body is read and dropped up to this size


@dataclass
class Service:
    """What the handler serves: the models, the upload limit in bytes, and the lock that makes
    model calls take turns.

    Example:
        >>> Service(Models(sentiment.load()), max_upload=10_000_000).max_upload
        10000000
    """

    models: Models
    max_upload: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def needs(self, tab: str) -> None:
        """An UploadError (409) saying how to get the model of ``tab`` when it has none.

        Example:
            >>> Service(Models(sentiment.load()), 10**7).needs("sentiment")  # ready: no error
        """
        if not self.models.ready()[tab]:
            raise UploadError(self.models.missing.get(tab, f"no {tab} model loaded"), status=409)

    def sentiment(self, request: dict[str, Any]) -> dict[str, Any]:
        """The sentiment tab: ``{"text"}`` → ``{"rows"}``.

        Example:
            >>> service.sentiment({"text": "Great food!"})["rows"][0]["label"]
            '1'
        """
        return {"rows": sentiment_rows(self.models.sentiment, request.get("text"))}

    def classify(self, request: dict[str, Any]) -> dict[str, Any]:
        """The classifier tab: ``{"images": [{name, data}], "topk"}`` → ``{"images"}``.

        Example:
            >>> service.classify({"images": [ant], "topk": 2})["images"][0]["label"]
            'ants'
        """
        self.needs("classifier")
        fields = request.get("images")
        if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_IMAGES:
            raise UploadError(f"give 1 to {MAX_IMAGES} images")
        uploads = [read_image(field, self.max_upload) for field in fields]
        topk = whole_number(request.get("topk", 3), "top-k", (1, MAX_TOPK))
        return {"images": classify_images(self.models.classifier, uploads, topk)}

    def caption(self, request: dict[str, Any]) -> dict[str, Any]:
        """The captioning tab: ``{"image": {name, data}, "beam"}`` → ``{"caption", "attention"}``.

        Example:
            >>> service.caption({"image": shapes_image, "beam": 1})["caption"]
            'a red circle'
        """
        self.needs("caption")
        upload = read_image(request.get("image"), self.max_upload)
        beam = whole_number(request.get("beam", 1), "beam", (1, 10))
        return caption_image(self.models.captioner, upload, beam)

    def style(self, request: dict[str, Any]) -> dict[str, Any]:
        """The style tab: photo, paintings and settings → ``{"image", "loss", "seconds"}``.

        Example:
            >>> service.style({"photo": photo, "paintings": [starry], "size": 64, "iters": 5})
        """
        paintings = request.get("paintings")
        if not isinstance(paintings, list) or not 1 <= len(paintings) <= MAX_PAINTINGS:
            raise UploadError(f"give 1 to {MAX_PAINTINGS} paintings")
        painting = StyleRequest(
            photo=read_image(request.get("photo"), self.max_upload),
            paintings=[read_image(field, self.max_upload) for field in paintings],
            weights=blend_weights(request.get("weights"), len(paintings)),
            size=whole_number(request.get("size", 256), "size", STYLE_SIZES),
            iters=whole_number(request.get("iters", 100), "iterations", STYLE_ITERATIONS),
            original_colors=bool(request.get("original_colors", False)),
        )
        return paint(painting, self.models.device)

    def routes(self) -> dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], int]]:
        """Each POST path → (its action, the largest body it takes in bytes).

        Example:
            >>> sorted(service.routes())[0]
            '/api/caption'
        """
        return {
            "/api/sentiment": (self.sentiment, TEXT_LIMIT),
            "/api/classify": (self.classify, body_limit(self.max_upload, MAX_IMAGES)),
            "/api/caption": (self.caption, body_limit(self.max_upload, 1)),
            "/api/style": (self.style, body_limit(self.max_upload, 1 + MAX_PAINTINGS)),
        }


class Handler(BaseHTTPRequestHandler):
    """One HTTP request: the page, the readiness of each tab, or a tab's action."""

    server_version = "dlc-serve"

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        self.service = service  # before the base class handles the request in its __init__
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: refusals go to the page, unexpected errors to standard error (``do_POST``)."""

    def _send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, answer: dict[str, Any]) -> None:
        self._send_body(status, json.dumps(answer).encode(), "application/json")

    def _discard_body(self, size: int) -> None:
        """Read and drop a refused body (up to ``DISCARD_LIMIT`` bytes), so the browser, still
        sending, gets the refusal rather than a broken connection; a larger one is cut off."""
        if size > DISCARD_LIMIT:
            self.close_connection = True
            return
        while size > 0:
            chunk = self.rfile.read(min(size, 1 << 20))
            if not chunk:
                break
            size -= len(chunk)

    def do_GET(self) -> None:
        if self.path in ("/", "/index.html"):
            ready = self.service.models.ready()
            page = render_page(ready, self.service.models.missing, self.service.max_upload)
            self._send_body(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
        elif self.path == "/api/ready":
            models = self.service.models
            self._send_json(HTTPStatus.OK, {"ready": models.ready(), "missing": models.missing})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})

    def do_POST(self) -> None:
        route = self.service.routes().get(self.path)
        if route is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no action {self.path}"})
            return
        action, limit = route
        try:
            size = int(self.headers.get("Content-Length") or 0)
            if size > limit:
                self._discard_body(size)
                refusal = (
                    f"the upload is {megabytes(size)}, over the {megabytes(limit)} this tab takes"
                )
                raise UploadError(refusal, status=413)
            request = read_json(self.rfile.read(size))
            with self.service.lock:
                answer = action(request)
            self._send_json(HTTPStatus.OK, answer)
        except UploadError as exc:
            self._send_json(exc.status, {"error": str(exc)})
        except DlcError as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception as exc:  # a bug: say so on the page and on the console, keep serving
            print(f"dlc serve: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
            message = f"unexpected {type(exc).__name__}: {exc}"
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})


def make_server(service: Service, host: str, port: int) -> ThreadingHTTPServer:
    """A threaded HTTP server for ``service`` bound to ``host``:``port`` (0: a free port); a
    port in use or an address that cannot be bound is a DlcError.

    Example:
        >>> server = make_server(service, "127.0.0.1", 0)
        >>> server.server_address[1] > 0
        True
    """
    try:
        return ThreadingHTTPServer((host, port), partial(Handler, service=service))
    except OSError as exc:
        raise DlcError(f"cannot serve on {host}:{port} ({exc.strerror or exc})") from exc
