"""``latent-studio --smoke-test``: does this build start? (the packaged app's check)

Opens the window on the requested model (the bundled default unless ``--model``), opens the
bundled real portrait (``resources/images/portrait.jpg``, public domain): the face finder must
find its face; moves one slider and waits for the edit rendered onto the photo; then exits 0 and
prints one line. Any failure — the model does not load, no face found (face finding missing from
the build), the engine answers with an error, an unchanged render, nothing within the time
limit — exits 1 with a one-line ``error:``. ``--screenshot PNG`` saves the window as it looked
at the end (Qt's own grab, so it works on any platform plugin, Xvfb and offscreen included).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from engine.protocol.files import atomic_output

SMOKE_TIMEOUT_S = 180.0


def portrait_path() -> str:
    """The bundled real portrait (public domain; see resources/images/README.md)."""
    from importlib.resources import files

    return str(files("resources") / "images" / "portrait.jpg")


def run(app: QApplication, window, screenshot: str | None = None, timeout_s: float = SMOKE_TIMEOUT_S) -> int:
    """Drive ``window`` (already showing, its model requested) through sample → edit → render."""
    started = time.perf_counter()
    # A local event loop, not app.exec()/app.quit(): quitting the application leaves Qt's
    # thread-wide quit state behind, so every later event loop in the process (pytest-qt's
    # waits in the tests that follow) would return at once.
    loop = QEventLoop()
    result = {"code": 1, "message": "error: smoke test did not finish"}
    marks: dict[str, float] = {}

    def finish(code: int, message: str) -> None:
        if screenshot:
            QApplication.processEvents()
            try:
                with atomic_output(screenshot) as tmp:
                    if not window.grab().save(str(tmp), "PNG"):
                        raise OSError(f"{screenshot}: Qt could not write it")
            except OSError:
                code, message = 1, f"error: cannot write the screenshot {screenshot}"
        result.update(code=code, message=message)
        loop.quit()

    def fail_if_error() -> bool:
        errors = [message for kind, message in window.banner.history if kind == "error"]
        if errors:
            finish(1, f"error: {errors[-1]}")
            return True
        return False

    def when(predicate, then) -> None:
        if predicate():
            then()
        elif fail_if_error():
            pass
        elif time.perf_counter() - started > timeout_s:
            finish(1, f"error: smoke test timed out after {timeout_s:.0f} s")
        else:
            QTimer.singleShot(50, lambda: when(predicate, then))

    def model_loaded() -> None:
        marks["model"] = time.perf_counter() - started
        if not window.open_image(portrait_path()):
            return
        when(lambda: window.photo.current is not None and window.edit.edit is not None, opened)

    def opened() -> None:
        face = window.photo.current.faces[window.photo.current.chosen]
        if face.method in ("centre", "manual"):  # not found by the face finder
            finish(1, f"error: the face finder did not find the portrait's face (got {face.method})")
            return
        dim = int(window.latents.active_dims[0])
        window.latents.rows[dim].slider.setValue(2.0)
        when(lambda: window.photo.last is not None and window.photo.last.full_resolution, rendered)

    def rendered() -> None:
        r, photo = window.photo.last, window.photo.current.photo
        x0, y0, x1, y1 = r.box
        if not r.changed or np.array_equal(r.image, photo[y0:y1, x0:x1]):
            finish(1, "error: the edit left the portrait unchanged")
            return
        info = window.model.info
        finish(0, f"smoke test: ok — model {info.name} ({info.latent_dim}-d, {info.image_size} px) loaded in "
                  f"{marks['model']:.1f} s, face found and edit rendered on the portrait in {time.perf_counter() - started:.1f} s")

    # everything runs inside the event loop: a quit() before exec() would be lost
    QTimer.singleShot(0, lambda: when(lambda: window.model.info is not None, model_loaded))
    loop.exec()
    window.client.shutdown()
    print(result["message"], file=sys.stdout if result["code"] == 0 else sys.stderr)
    return int(result["code"])
