"""Start-up: ``latent-studio-gui [PHOTO] [--model NAME_OR_PATH] [--device DEV]``.

The window appears at once; the engine (and torch) load in the client's worker thread.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from editor.engine_factory import ENGINE_FACTORY, create_engine
from editor.client import EngineClient
from editor.main_window import MainWindow

APP_NAME = "Latent Studio"
ORGANISATION = "LatentStudio"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="latent-studio-gui", description="Edit photos in a generative model's latent space.")
    parser.add_argument("image", nargs="?", help="a photo to open")
    parser.add_argument("--model", default="default", help="a bundled model name or a .safetensors checkpoint (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default)")
    parser.add_argument("--engine", default=ENGINE_FACTORY, help=argparse.SUPPRESS)  # "module:factory", for tests
    parser.add_argument("--smoke-test", action="store_true",
                        help="open the model, render one edited sample and exit: 0 when the app works (packaging check)")
    parser.add_argument("--screenshot", metavar="PNG", help="with --smoke-test: save the window at the end")
    return parser.parse_args(argv)


def application(argv0: str = "latent-studio") -> QApplication:
    app = QApplication.instance() or QApplication([argv0])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANISATION)
    return app


def create_window(args: argparse.Namespace, settings: QSettings | None = None) -> MainWindow:
    """The window, its engine client (engine built lazily in the worker), model and photo requested."""
    client = EngineClient(functools.partial(create_engine, args.engine))
    window = MainWindow(client, settings)
    client.setParent(window)
    window.model.load(args.model, args.device)
    if args.image:
        path = Path(args.image)
        if not path.is_file():  # the window still opens, with the same line in its banner
            print(f"error: {path}: no such file", file=sys.stderr)
        window.open_image(path)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``latent-studio-gui`` and of ``latent-studio`` without a subcommand.

    ``argv`` excludes the program name (default: ``sys.argv[1:]``).
    """
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application(sys.argv[0] if sys.argv else "latent-studio")
    window = create_window(args)
    if args.smoke_test:
        from editor.smoke import run as smoke_test

        window.show()
        return smoke_test(app, window, args.screenshot)
    window.session.start()  # autosave, and the offer to restore a crashed run's autosave
    window.show()
    code = app.exec()
    window.client.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
