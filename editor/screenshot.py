"""Screenshot of the real window for the README: ``python -m editor.screenshot OUT.png``.

Run under a display, e.g. ``xvfb-run -s "-screen 0 1280x720x24" python -m editor.screenshot
docs/screenshot.png --photo resources/images/portrait.jpg`` (the README's picture: a laptop screen;
also ``--model NAME``, ``--labels Eyeglasses=1``, ``--size WxH``). Opens the
model, the photo (or the first sample when none is given), moves three sliders (a conditional
model: sets ``--labels`` instead), opens a traversal strip, then grabs the screen with
ImageMagick's ``import -window root`` (or Qt's screen grab without it).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication

from editor.app import application, create_window, parse_args
from engine.protocol import parse_labels
from engine.protocol.files import atomic_output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m editor.screenshot")
    parser.add_argument("out")
    parser.add_argument("--model", default="default")
    parser.add_argument("--photo", default=None)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--labels", default=None, help="a conditional model's labels to set, e.g. Eyeglasses=1,Male=0")
    args = parser.parse_args(argv)
    if not 0 < args.timeout <= 3600:  # also refuses nan
        parser.error(f"--timeout must be within (0, 3600] seconds, got {args.timeout}")
    if not re.fullmatch(r"[1-9][0-9]{1,4}x[1-9][0-9]{1,4}", args.size):
        parser.error(f"--size must be WIDTHxHEIGHT in pixels, e.g. 1280x720, got {args.size!r}")
    labels = parse_labels(args.labels) or {}
    app = application()
    window = create_window(parse_args(([args.photo] if args.photo else []) + ["--model", args.model]))
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(0, 0)
    window.show()
    status = {"code": 1}
    started = time.time()

    def when(predicate: Callable[[], bool], then: Callable[[], None]) -> None:
        if predicate():
            then()
        elif time.time() - started > args.timeout:
            print(f"screenshot: timed out ({window.banner.text() or 'no message'})", file=sys.stderr)
            app.quit()
        else:
            QTimer.singleShot(100, lambda: when(predicate, then))

    def start() -> None:
        if window.model.info is None:
            print(f"screenshot: {window.banner.text()}", file=sys.stderr)
            app.quit()
        elif args.photo:
            when(lambda: window.edit.edit is not None, edit)
        else:
            window.sampling.sample(16, seed=0, temperature=0.8)
            when(lambda: window.sampling.result is not None, lambda: (window.sampling.choose(0), edit()))

    def edit() -> None:
        dims = [int(d) for d in window.latents.active_dims[:4]]
        if labels:
            for name, value in labels.items():
                window.conditional.labels.set_value(name, value)
        else:
            for dim, value in zip(dims, (1.8, -1.2, 0.0, 0.9)):
                window.latents.rows[dim].slider.setValue(value)
        window.latents.traversalRequested.emit(dims[0])
        when(lambda: not window.client.busy and bool(window.traversal.buttons), lambda: QTimer.singleShot(1200, snap))

    def snap() -> None:
        with atomic_output(args.out) as tmp:
            if shutil.which("import"):
                subprocess.run(["import", "-window", "root", f"png:{tmp}"], check=True)
            else:
                QGuiApplication.primaryScreen().grabWindow(0).save(str(tmp), "PNG")
        print(f"screenshot: {args.out} ({window.status.model.text()}; {window.status.perf.text()})")
        status["code"] = 0
        app.quit()

    when(lambda: window.model.info is not None or bool(window.banner.history), start)
    app.exec()
    window.client.shutdown()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
