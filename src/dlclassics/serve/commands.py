"""``dlc serve``: one local page with a tab per model — style transfer, sentiment (with each
word's contribution), the image classifier (with Grad-CAM) and captioning (with attention maps).

The models are loaded before the server starts, so a bad checkpoint is one error line, not a
broken tab. It listens on 127.0.0.1 (this computer only) unless ``--host`` says otherwise, and
prints the address to open.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dlclassics.options import add_device_argument, bounded

if TYPE_CHECKING:
    from dlclassics.serve.tabs import Models

DEFAULT_PORT = 7860  # Gradio's, the field's convention for a model demo
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
HOW_TO_GET = {
    "classifier": (
        "No image classifier loaded. Train one, e.g. dlc transfer train --data "
        "hymenoptera --mode freeze --out runs/t, then start the page with "
        "dlc serve --transfer-checkpoint runs/t/freeze/best.pt"
    ),
    "caption": (
        "No captioning model loaded. Train one, e.g. dlc caption train --data shapes "
        "--cell attention --out runs/c, then start the page with "
        "dlc serve --caption-checkpoint runs/c/checkpoint.pt"
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc serve`` to ``subparsers``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["serve", "--port", "0"]).port
        0
    """
    serve = subparsers.add_parser(
        "serve",
        help="a local web page to try every model and see why it decides",
        description="Start a local web page with a tab per model: style transfer, sentiment "
        "(each word's contribution), the image classifier (top-k and Grad-CAM) and captioning "
        "(attention maps). Open the address it prints; Ctrl-C stops it.",
    )
    serve.add_argument(
        "--transfer-checkpoint", metavar="PATH", help="a transfer best.pt (the classifier tab)"
    )
    serve.add_argument(
        "--caption-checkpoint", metavar="PATH", help="a captioning checkpoint.pt (captioning tab)"
    )
    serve.add_argument(
        "--sentiment-checkpoint",
        metavar="PATH",
        help="a sentiment best.pt (default: the model packaged with dlclassics)",
    )
    host_help = "address to listen on; 0.0.0.0 serves every network interface"
    serve.add_argument("--host", default="127.0.0.1", help=host_help)
    port_type = bounded(int, 0, 65535)
    serve.add_argument("--port", type=port_type, default=DEFAULT_PORT, help="0: a free one")
    serve.add_argument(
        "--max-upload-mb",
        type=bounded(float, 0.0, 1000.0, low_open=True),
        default=10.0,
        metavar="MB",
        help="largest image accepted",
    )
    add_device_argument(serve)
    serve.set_defaults(func=run_serve)


def load_models(args: argparse.Namespace) -> Models:
    """The predictors the options name, through the Python API (a bad file is a DlcError).

    Example:
        >>> load_models(build_parser().parse_args(["serve"])).ready()["classifier"]
        False
    """
    from dlclassics import captioning, sentiment, transfer
    from dlclassics.runtime import resolve_device
    from dlclassics.serve.tabs import Models

    device = resolve_device(args.device)
    models = Models(sentiment.load(args.sentiment_checkpoint, device=device), device=device)
    if args.transfer_checkpoint:
        models.classifier = transfer.load(args.transfer_checkpoint, device=device)
    else:
        models.missing["classifier"] = HOW_TO_GET["classifier"]
    if args.caption_checkpoint:
        models.captioner = captioning.load(args.caption_checkpoint)
    else:
        models.missing["caption"] = HOW_TO_GET["caption"]
    return models


def address(host: str, port: int) -> str:
    """The URL to open for a server on ``host``:``port``.

    Example:
        >>> address("::1", 7860), address("0.0.0.0", 80)
        ('http://[::1]:7860/', 'http://0.0.0.0:80/')
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run_serve(args: argparse.Namespace) -> int:
    """Load the models, then serve the page until Ctrl-C.

    Example:
        >>> main(["serve", "--port", "0", "--transfer-checkpoint", "runs/t/freeze/best.pt"])
        dlc serve: open http://127.0.0.1:40123/ (this computer only; --host 0.0.0.0 to share it); Ctrl-C stops it
    """
    from dlclassics.serve.server import Service, make_server

    models = load_models(args)
    service = Service(models, max_upload=int(args.max_upload_mb * 1e6))
    server = make_server(service, args.host, args.port)
    host, port = server.server_address[:2]
    reach = (
        "this computer only; --host 0.0.0.0 to share it"
        if args.host in LOCAL_HOSTS
        else "reachable from other computers"
    )
    print(f"dlc serve: open {address(str(host), int(port))} ({reach}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("dlc serve: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
