"""``latent-studio --smoke-test``: does this build start? (the packaged app's check, issue 9)

Opens the window on the requested model (the bundled default unless ``--model``), draws one
sample, edits it (one slider moved: a Decode through the real engine) and waits for the edited
pixels; then exits 0 and prints one line. Any failure — the model does not load, the engine
answers with an error, a blank render, nothing within the time limit — exits 1 with a one-line
``error:``. ``--screenshot PNG`` saves the window as it looked at the end (Qt's own grab, so it
works on any platform plugin, Xvfb and offscreen included).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

SMOKE_TIMEOUT_S = 180.0


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
            if not window.grab().save(screenshot):
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
        window.sampling.sample(1, seed=0, temperature=0.8)
        when(lambda: window.sampling.result is not None, sampled)

    def sampled() -> None:
        window.sampling.choose(0)
        when(lambda: window.edit.edit is not None, edit)

    def edit() -> None:
        dim = int(window.latents.active_dims[0])
        window.latents.rows[dim].slider.setValue(1.5)
        when(lambda: window.edit.edited is not None and window.edit.last_request_id != 0
             and window.edit.edited.tag == window.edit.last_request_id, rendered)

    def rendered() -> None:
        pixels = np.asarray(window.edit.edited.array)
        if pixels.size == 0 or int(pixels.max()) == int(pixels.min()):
            finish(1, "error: the edited image is blank")
            return
        info = window.model.info
        finish(0, f"smoke test: ok — model {info.name} ({info.latent_dim}-d, {info.image_size} px) loaded in "
                  f"{marks['model']:.1f} s, sample + edit rendered in {time.perf_counter() - started:.1f} s")

    # everything runs inside the event loop: a quit() before exec() would be lost
    QTimer.singleShot(0, lambda: when(lambda: window.model.info is not None, model_loaded))
    loop.exec()
    window.client.shutdown()
    print(result["message"], file=sys.stdout if result["code"] == 0 else sys.stderr)
    return int(result["code"])
