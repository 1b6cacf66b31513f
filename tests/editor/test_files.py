"""Opening (menu, drop, command line, recent files), bad files, exporting, image reading."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from editor.export import ExportError, save_image, suggest_export_path
from editor.imaging import Frame, ImageLoadError, read_image
from tests.editor.conftest import TIMEOUT_MS, open_photo, shown_edit, write_photo


def test_unreadable_file_is_reported_and_the_app_stays_usable(qtbot, window, tmp_path, photo):
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with qtbot.waitSignal(window.edit.failed, timeout=TIMEOUT_MS):
        assert window.open_image(bad)  # decoded off the GUI thread: the error comes as a signal
    assert window.banner.isVisible() and "holiday.jpg" in window.banner.text()
    assert window.edit.photo is None and window.files.recent.paths() == []  # nothing opened, nothing remembered
    assert not window.open_image(tmp_path / "missing.png")
    assert "missing.png" in window.banner.text() and "no such file" in window.banner.text()
    open_photo(qtbot, window, photo)  # and the next one works


def test_drop_a_file_on_the_window(qtbot, window, photo):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    # Qt only routes drop events during a real drag; hand the event to the window's filter
    with qtbot.waitSignal(window.edit.encodedChanged, timeout=TIMEOUT_MS):
        assert window.drop.eventFilter(window, event)
    assert event.isAccepted()
    assert window.edit.path == photo


def test_recent_files_are_remembered(qtbot, window, tmp_path):
    a, b = write_photo(tmp_path / "a.png"), write_photo(tmp_path / "b.png", seed=1)
    open_photo(qtbot, window, a)
    open_photo(qtbot, window, b)
    assert window.files.recent.paths()[:2] == [str(b.resolve()), str(a.resolve())]
    window.files._fill_recent()
    names = [act.text() for act in window.files.recent_menu.actions()]
    assert names[:2] == ["b.png", "a.png"]
    with qtbot.waitSignal(window.edit.encodedChanged, timeout=TIMEOUT_MS):
        window.files.recent_menu.actions()[1].trigger()
    assert window.edit.path.name == "a.png"


def test_command_line_opens_model_and_photo(qtbot, photo, settings):
    from editor.app import create_window, parse_args

    args = parse_args([str(photo), "--engine", "tests.editor.fake_engine:FakeEngine"])
    assert args.model == "default"
    window = create_window(args, settings)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=TIMEOUT_MS)
        assert window.model.info.name == "default" and window.edit.path == photo
    finally:
        window.client.shutdown()


def test_export_png_and_jpeg_never_over_the_source(qtbot, window, photo, tmp_path):
    open_photo(qtbot, window, photo)
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(1.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    out = window.files.export_to(tmp_path / "edited.png")
    written, _ = read_image(out)
    np.testing.assert_array_equal(written, shown_edit(window))
    jpeg = window.files.export_to(tmp_path / "edited.jpg")
    assert read_image(jpeg)[0].shape == shown_edit(window).shape
    original = photo.read_bytes()
    assert window.files.export_to(photo) is None
    assert "never overwritten" in window.banner.text()
    assert photo.read_bytes() == original
    assert window.files.export_to(tmp_path / "edited.gif") is None
    assert suggest_export_path(photo).name == "photo-edited.png"
    (tmp_path / "photo-edited.png").write_bytes(b"")
    assert suggest_export_path(photo).name == "photo-edited-2.png"


def test_nothing_to_export_is_a_message(window):
    assert window.files.export_to("/tmp/never-written.png") is None
    assert "Nothing to export" in window.banner.text()


def test_read_image_converts_modes_and_applies_exif_orientation(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    gray = tmp_path / "gray.png"
    pil.new("L", (20, 10), 77).save(gray)
    array, _ = read_image(gray)
    assert array.shape == (10, 20, 3) and (array == 77).all()
    rgba = tmp_path / "rgba.png"
    pil.new("RGBA", (4, 4), (255, 0, 0, 0)).save(rgba)
    assert (read_image(rgba)[0] == 255).all()  # transparent → white
    rotated = tmp_path / "rotated.jpg"
    image = pil.new("RGB", (30, 10), (200, 10, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    image.save(rotated, exif=exif)
    assert read_image(rotated)[0].shape == (30, 10, 3)
    with pytest.raises(ImageLoadError, match="limit"):
        read_image(gray, max_pixels=100)


def test_frames_share_the_array_buffer():
    array = np.zeros((3, 4, 3), np.uint8)
    frame = Frame.from_array(array)
    array[1, 2] = (10, 20, 30)
    assert frame.image.pixelColor(2, 1).getRgb()[:3] == (10, 20, 30)
    assert frame.image.format() == QImage.Format.Format_RGB888


def test_save_image_refuses_the_source(tmp_path, photo):
    with pytest.raises(ExportError):
        save_image(np.zeros((2, 2, 3), np.uint8), photo, source=photo)
