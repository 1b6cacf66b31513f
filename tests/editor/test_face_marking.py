"""No face found in the opened photo: the banner, "Use the whole image", "Mark the face…" with a
drag on the photo (real engine, tiny model), the wrong-face case, and a missing file on the
command line."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.data.align import dlib_available
from tests.editor.conftest import real_engine_window, write_photo

pytestmark = pytest.mark.skipif(not dlib_available(), reason="dlib is a core dependency; this venv lacks it")
TIMEOUT_MS = 60_000



@pytest.fixture
def window(qtbot, settings, tiny):
    with real_engine_window(qtbot, settings, tiny, TIMEOUT_MS) as window:
        window.resize(1000, 700)
        yield window


def refused(qtbot, window, path):
    assert window.open_image(path)
    banner = window.faces.banner
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=TIMEOUT_MS)
    assert banner.text().startswith(f"No face found in {path.name}") and banner.mark.isVisible() and banner.whole.isVisible()
    assert window.photo.current is None and window.edit.encoded is None  # nothing edited behind the user's back
    assert not window.banner.isVisible()  # the face banner says it; no second, generic error
    return banner


def drag(qtbot, view, a: QPoint, b: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view, pos=(a + b) / 2)
    qtbot.mouseMove(view, pos=b)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)


def test_use_the_whole_image_opens_the_centre_square(qtbot, window, tmp_path):
    banner = refused(qtbot, window, write_photo(tmp_path / "flat.png", h=60, w=90))
    banner.whole.click()
    qtbot.waitUntil(lambda: window.photo.current is not None, timeout=TIMEOUT_MS)
    assert [f.method for f in window.photo.current.faces] == ["centre"] and window.photo.current.region[0] > 0
    assert not banner.isVisible() and window.edit.encoded is not None


def test_mark_the_face_with_a_drag_gives_a_face_and_a_render(qtbot, window, tmp_path):
    path = write_photo(tmp_path / "wide.png", h=120, w=240)
    banner = refused(qtbot, window, path)
    banner.mark.click()
    view = window.canvas.views["photo"]
    assert window.faces.marker.active and "Drag a square" in banner.text()
    a, b = view.widget_point(150, 30), view.widget_point(210, 80)  # photo pixels → widget; the square's side is the larger (60)
    drag(qtbot, view, a.toPoint(), b.toPoint())
    qtbot.waitUntil(lambda: window.photo.current is not None, timeout=TIMEOUT_MS)
    opened = window.photo.current
    face = opened.faces[opened.chosen]
    assert face.method == "manual" and not banner.isVisible() and not window.faces.marker.active
    x0, y0, x1, y1 = face.box
    assert x0 == pytest.approx(150, abs=2) and y0 == pytest.approx(30, abs=2) and x1 - x0 == pytest.approx(60, abs=3)

    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(3.0)
    qtbot.waitUntil(lambda: window.photo.last is not None and window.photo.last.full_resolution, timeout=TIMEOUT_MS)
    edited = window.photo.composite()
    changed = np.abs(edited.astype(int) - opened.photo).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    rx0, ry0, rx1, ry1 = opened.region
    assert changed.any() and xs.min() >= rx0 and xs.max() < rx1 and ys.min() >= ry0 and ys.max() < ry1
    assert xs.min() > 100  # the marked face, not the centre square of the photo (60..180)


def test_mark_the_face_on_an_open_photo_keeps_the_other_candidates(qtbot, window, tmp_path):
    banner = refused(qtbot, window, write_photo(tmp_path / "p.png", h=100, w=150))
    banner.whole.click()
    qtbot.waitUntil(lambda: window.photo.current is not None, timeout=TIMEOUT_MS)
    assert window.faces.mark_action.isEnabled()
    window.faces.mark_action.trigger()  # the detector chose the wrong face: always offered in the Edit menu
    view = window.canvas.views["photo"]
    first = window.photo.current
    drag(qtbot, view, view.widget_point(100, 60).toPoint(), view.widget_point(10, 10).toPoint())  # dragged up-left
    qtbot.waitUntil(lambda: window.photo.current is not None and window.photo.current is not first, timeout=TIMEOUT_MS)
    faces = window.photo.current.faces
    assert [f.method for f in faces] == ["centre", "manual"] and window.photo.current.chosen == 1
    assert faces[1].box[2] == pytest.approx(100, abs=2) and faces[1].box[3] == pytest.approx(60, abs=2)


def test_escape_cancels_marking_and_the_banner_comes_back(qtbot, window, tmp_path):
    banner = refused(qtbot, window, write_photo(tmp_path / "q.png", h=64, w=64))
    banner.mark.click()
    qtbot.keyClick(window.canvas.views["photo"], Qt.Key.Key_Escape)
    assert not window.faces.marker.active and banner.whole.isVisible() and window.photo.current is None


def test_a_missing_photo_on_the_command_line_says_so(qtbot, settings, tmp_path, capsys):
    from editor.app import create_window, parse_args

    window = create_window(parse_args([str(tmp_path / "missing.jpg"), "--engine", "tests.editor.fake_engine:FakeEngine"]), settings)
    qtbot.addWidget(window)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'missing.jpg'}: no such file"]
    assert window.banner.isVisibleTo(window) and "missing.jpg: no such file" in window.banner.text()
    window.client.shutdown(5000)


def test_without_the_face_finder_the_same_two_ways_on_are_offered(qtbot, window, tmp_path, monkeypatch):
    import sys

    from PIL import Image
    from skimage.data import astronaut

    monkeypatch.setitem(sys.modules, "dlib", None)  # as if dlib could not be imported: never a silent centre crop
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(path)
    assert window.open_image(path)
    banner = window.faces.banner
    qtbot.waitUntil(banner.isVisible, timeout=TIMEOUT_MS)
    assert banner.text().startswith("The face finder (dlib) is not installed") and banner.whole.isVisible()
    assert window.photo.current is None and not window.banner.isVisible()
    assert window.faces.mark_action.isEnabled()  # Edit menu and the button beside the face chooser
    assert window.faces.mark_button.parentWidget() is window.face_chooser.parentWidget()
