"""A worker crash mid-edit, with the real engine: the restarted engine starts empty, and the
document gives it back what it needs (the model, the open photo and its face), so the edit
goes on rendering as if nothing happened."""

from __future__ import annotations

import numpy as np
import pytest


from tests.editor._photo import move_slider, open_photo_file, wait_rendered  # noqa: E402
from tests.editor.conftest import REAL_ENGINE_TIMEOUT_MS as TIMEOUT_MS  # noqa: E402


class WorkerKilled(BaseException):
    """Not an Exception: it takes the worker thread down, as a fatal error in the engine would."""


class KillableEngine:
    """The real engine, and a switch that kills the worker thread at the next request."""

    def __init__(self) -> None:
        from engine.service import Engine

        self.engine = Engine()
        self.kill_next = False
        self.requests: list = []

    def handle(self, request):
        self.requests.append(request)
        if self.kill_next:
            self.kill_next = False
            raise WorkerKilled("worker killed mid-edit")
        return self.engine.handle(request)



@pytest.fixture
def astronaut(tmp_path):
    from PIL import Image
    from skimage.data import astronaut

    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(path)
    return path


def reference_render(tiny, path, stack) -> np.ndarray:
    """What a fresh real engine renders for ``stack`` on the photo: the whole photo, full resolution."""
    from engine.protocol import LoadModel, OpenPhoto, RenderEdit, Rendered
    from engine.service import Engine

    engine = Engine()
    engine.handle(LoadModel(source=str(tiny), device="cpu"))
    opened = engine.handle(OpenPhoto(path=str(path)))
    rendered = engine.handle(RenderEdit(edits=stack, full_resolution=True, whole_photo=True))
    assert isinstance(rendered, Rendered), rendered
    return opened.photo, rendered.image


def test_worker_killed_mid_edit_the_edit_still_renders(qtbot, settings, tiny, astronaut):
    pytest.importorskip("dlib", reason="face detection needs the faces extra (dlib-bin)")
    from editor.client import EngineClient
    from editor.main_window import MainWindow

    engines: list[KillableEngine] = []

    def factory() -> KillableEngine:
        engines.append(KillableEngine())
        return engines[-1]

    client = EngineClient(factory)
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
            window.model.load(str(tiny), "cpu")
        original = open_photo_file(qtbot, window, astronaut, timeout=TIMEOUT_MS)
        move_slider(window, 0, 1.0)
        assert np.any(wait_rendered(qtbot, window, TIMEOUT_MS) != original)

        errors: list[str] = []
        for failed in (client.failed, window.edit.failed, window.photo.failed):
            failed.connect(errors.append)
        engines[-1].kill_next = True  # the next request (a render of the drag) takes the worker down
        with qtbot.waitSignal(client.workerRestarted, timeout=TIMEOUT_MS):
            move_slider(window, 0, 2.0, drag_values=(1.5,))
        move_slider(window, 0, 3.0, drag_values=(2.5,))  # the user keeps dragging
        try:
            shown = wait_rendered(qtbot, window, TIMEOUT_MS)
        except qtbot.TimeoutError:
            raise AssertionError(f"no render after the restart; errors shown: {errors}") from None

        assert len(engines) == 2 and client.counts["restarts"] == 1
        assert errors and all("Engine worker stopped" in e for e in errors), errors  # only the render that was in flight
        photo, expected = reference_render(tiny, astronaut, window.edit.stack)
        np.testing.assert_array_equal(photo, original)
        assert np.any(shown != original)
        np.testing.assert_array_equal(shown, expected)  # exactly what an engine that never crashed renders
    finally:
        assert client.shutdown(20_000)
