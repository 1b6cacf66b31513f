"""What artists expect of an image editor: layered export, copy to the clipboard, the Help menu
and unambiguous standard shortcuts, a wheel that scrolls panels, before/after on ``\\``, and drops
of photos, junk and folders."""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QKeySequence, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QScrollArea, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from editor.imaging import qimage_to_array
from editor.widgets.deep_export import FILTERS as DEEP_FILTERS
from editor.widgets.help_menu import bound_shortcuts
from editor.widgets.layer_export import ORA_FILTER
from editor.widgets.wheel_guard import WheelGuard
from engine.protocol import ExportLayers, ExportPhoto
from tests.editor.conftest import write_photo

TIMEOUT_MS = 20_000  # generous: the first request may wait for the engine's semantics to import on a busy machine


def settle(qtbot, window) -> None:
    """Let the engine answer what the window asked (its first requests import the semantics
    handlers) before the test ends: pytest-qt closes the window before any fixture's teardown."""
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)


def open_by(qtbot, window, path, act) -> None:
    """Run ``act`` (which opens ``path``: the menu, a drop) and wait until the photo is encoded;
    where the window asks about a photo without a face, answer "Use the whole image"."""
    events: list[str] = []
    window.photo.opened.connect(lambda opened: events.append("opened") if opened is not None else None)
    marking = getattr(getattr(window, "faces", None), "marking", None)
    if marking is not None:
        marking.noFace.connect(lambda *_: events.append("no face"))
    act()
    qtbot.waitUntil(lambda: bool(events), timeout=TIMEOUT_MS)
    if events[0] == "no face":
        window.faces.banner.whole.click()
    qtbot.waitUntil(lambda: window.edit.encoded is not None and window.edit.path == path, timeout=TIMEOUT_MS)


def open_photo(qtbot, window, path) -> None:
    open_by(qtbot, window, path, lambda: window.open_image(path))


def move_a_slider(qtbot, window, sigma: float = 2.5) -> None:
    """Edit the photo and wait for the full-resolution render of it."""
    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider.setValue(sigma)
    qtbot.waitUntil(lambda: window.photo.composite() is not None and window.photo.last is not None
                    and window.photo.last.full_resolution, timeout=TIMEOUT_MS)


# --------------------------------------------------------------------------- layered export, clipboard


def test_export_layers_action_writes_an_openraster_file(qtbot, window, fake, photo, tmp_path, monkeypatch):
    action = window.artist.layers.action
    assert action in window.file_menu.actions() and not action.isEnabled()  # nothing open yet
    open_photo(qtbot, window, photo)
    assert action.isEnabled()
    move_a_slider(qtbot, window)
    flat = window.photo.composite()
    target = tmp_path / "layers.ora"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target.with_suffix("")), ORA_FILTER))
    with qtbot.waitSignal(window.artist.layers.exported, timeout=TIMEOUT_MS):
        action.trigger()
    assert "layers.ora" in window.banner.text()
    with zipfile.ZipFile(target) as zf:
        first = zf.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        layers = ElementTree.fromstring(zf.read("stack.xml")).find("stack").findall("layer")
        assert [layer.get("name") for layer in layers] == ["Mask", "Edit", "Original"]
        merged = np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))))
    np.testing.assert_array_equal(merged, flat)  # the engine wrote the edit the window shows
    sent = [r for r in fake.requests if isinstance(r, ExportLayers)]
    assert len(sent) == 1 and sent[0].edits == window.edit.stack and sent[0].path == str(target)
    settle(qtbot, window)


def test_export_photo_at_16_bits_per_channel(qtbot, window, fake, photo, tmp_path, monkeypatch):
    action = window.artist.deep.action
    assert action in window.file_menu.actions() and not action.isEnabled()
    open_photo(qtbot, window, photo)
    move_a_slider(qtbot, window)
    target = tmp_path / "deep.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), next(iter(DEEP_FILTERS))))
    with qtbot.waitSignal(window.artist.deep.exported, timeout=TIMEOUT_MS):
        action.trigger()
    sent = [r for r in fake.requests if isinstance(r, ExportPhoto)]
    assert len(sent) == 1 and sent[0].bit_depth == 16 and sent[0].edits == window.edit.stack
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[24] == 16  # IHDR: 16 bits per sample
    assert "deep.png" in window.banner.text()
    with qtbot.waitSignal(window.artist.deep.failed) as said:
        window.artist.deep.export_to(tmp_path / "deep.jpg")
    assert ".tif" in said.args[0] and "\n" not in said.args[0]
    settle(qtbot, window)


def test_export_layers_refuses_a_wrong_name_in_one_line(qtbot, window, photo, tmp_path):
    open_photo(qtbot, window, photo)
    with qtbot.waitSignal(window.artist.layers.failed) as blocker:
        assert window.artist.layers.export_to(tmp_path / "layers.png") is None
    assert ".ora" in blocker.args[0] and "\n" not in blocker.args[0]
    settle(qtbot, window)


def test_copy_puts_the_edited_photo_on_the_clipboard(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    move_a_slider(qtbot, window)
    action = window.artist.copy.action
    assert action.shortcut() == QKeySequence("Ctrl+Shift+C")
    action.trigger()
    copied = qimage_to_array(QGuiApplication.clipboard().image())
    np.testing.assert_array_equal(copied, window.photo.composite())
    assert not np.array_equal(copied, window.photo.current.photo)  # the edit, not the original
    settle(qtbot, window)


# --------------------------------------------------------------------------- Help menu, shortcuts

STANDARD = ["Ctrl+O", "Ctrl+S", "Ctrl+Shift+S", "Ctrl+E", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl++", "Ctrl+-", "Ctrl+0", "F11",
            "Ctrl+Tab", "Ctrl+Shift+C"]


def test_every_shortcut_is_bound_once_and_the_standard_ones_exist(qtbot, window):
    bound = defaultdict(dict)
    for key, text, obj in bound_shortcuts(window):
        bound[QKeySequence(key, QKeySequence.SequenceFormat.NativeText).toString()][id(obj)] = text
    ambiguous = {key: sorted(objs.values()) for key, objs in bound.items() if len(objs) > 1}
    assert not ambiguous, f"shortcuts bound to several actions: {ambiguous}"
    missing = [key for key in STANDARD if QKeySequence(key).toString() not in bound]
    assert not missing, f"standard shortcuts missing: {missing}"
    dialog = window.artist.help.show_shortcuts()
    qtbot.waitExposed(dialog)
    listed = {dialog.table.item(i, 1).text() for i in range(dialog.table.rowCount())}
    assert QKeySequence("Ctrl+Shift+C").toString(QKeySequence.SequenceFormat.NativeText) in listed
    assert dialog.table.rowCount() == len(bound_shortcuts(window))
    settle(qtbot, window)


def test_zoom_full_screen_and_tab_shortcuts_act(qtbot, window):
    view = window.canvas.views["photo"]
    actions = window.artist.view_actions
    actions["zoom_in"].trigger()
    assert view.zoom is not None and view.zoom >= 1
    before = view.zoom
    actions["zoom_out"].trigger()
    assert view.zoom < before
    start = window.tabs.currentIndex()
    actions["next_tab"].trigger()
    assert window.tabs.currentIndex() == (start + 1) % window.tabs.count()
    actions["previous_tab"].trigger()
    assert window.tabs.currentIndex() == start
    actions["full_screen"].trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=TIMEOUT_MS)
    actions["full_screen"].trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=TIMEOUT_MS)
    settle(qtbot, window)


def test_about_names_versions_model_device_and_card(qtbot, window):
    dialog = window.artist.help.show_about()
    text = dialog.label.text()
    info = window.model.info
    assert "Python" in text and "Qt" in text and "PySide6" in text
    assert info.name in text and info.family in text and info.device in text
    assert "Model card" in text or "No model card" in text
    assert window.artist.help.about in window.artist.help.menu.actions()
    assert window.menuBar().actions()[-1].menu() is window.artist.help.menu  # Help is the last menu
    settle(qtbot, window)


# --------------------------------------------------------------------------- mouse wheel


def wheel(widget: QWidget, dy: int = -120) -> QWheelEvent:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, dy), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event


def test_wheel_scrolls_the_panel_and_moves_a_slider_only_with_focus(qtbot):
    guard = WheelGuard()
    try:
        area = QScrollArea(widgetResizable=True)
        body = QWidget()
        box = QVBoxLayout(body)
        sliders = []
        for _ in range(30):
            s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            s.setRange(-3, 3)
            s.setValue(0.0)
            box.addWidget(s)
            sliders.append(s)
        area.setWidget(body)
        area.resize(300, 200)
        qtbot.addWidget(area)
        area.show()
        qtbot.waitExposed(area)
        inner = sliders[2]._slider  # the QSlider under the pointer
        assert inner.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel does not give it focus
        scrolled = area.verticalScrollBar().value()
        wheel(inner)
        assert sliders[2].value() == 0.0, "an unfocused slider took the wheel"
        assert area.verticalScrollBar().value() > scrolled, "the panel did not scroll"
        inner.setFocus()
        qtbot.waitUntil(inner.hasFocus)
        wheel(inner)
        assert sliders[2].value() != 0.0  # focused: the wheel is the slider's
    finally:
        guard.remove()


def test_wheel_over_the_windows_latent_sliders_leaves_them_alone(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    window.tabs.setFocus()
    wheel(row.slider._slider)
    wheel(row.slider._label)
    assert row.value() == 0.0 and window.edit.stack.is_empty
    settle(qtbot, window)


# --------------------------------------------------------------------------- before / after


def shown_pixel(view, x: int, y: int) -> tuple[int, int, int]:
    image = view.grab().toImage()
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_holding_backslash_shows_the_original(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    window.canvas.show_only("photo")
    view = window.canvas.views["photo"]
    view.set_zoom(1)
    move_a_slider(qtbot, window, 3.0)
    x0, y0, x1, y1 = window.photo.current.region
    edited, original = window.photo.composite(), window.photo.current.photo
    ys, xs = np.nonzero(np.abs(edited.astype(int) - original).max(-1) > 8)
    assert len(xs), "the edit changed no pixel"
    px, py = int(xs[0]), int(ys[0])
    centre = view.widget_point(px + 0.5, py + 0.5)
    at = QPoint(int(centre.x()), int(centre.y()))  # the widget pixel that shows photo pixel (px, py)
    qtbot.waitUntil(lambda: shown_pixel(view, at.x(), at.y()) == tuple(edited[py, px]), timeout=TIMEOUT_MS)
    window.activateWindow()
    QTest.keyPress(window, Qt.Key.Key_Backslash)
    assert window.artist.before_after.showing_original
    assert shown_pixel(view, at.x(), at.y()) == tuple(original[py, px])
    np.testing.assert_array_equal(window.canvas.views["edited"].frame.array, window.edit.encoded.reconstruction)
    QTest.keyRelease(window, Qt.Key.Key_Backslash)
    assert not window.artist.before_after.showing_original
    assert shown_pixel(view, at.x(), at.y()) == tuple(edited[py, px])
    np.testing.assert_array_equal(window.canvas.views["edited"].frame.array, window.edit.edited.array)
    settle(qtbot, window)


def test_split_view_shows_the_original_left_of_a_draggable_divider(qtbot, window, tmp_path):
    open_photo(qtbot, window, write_photo(tmp_path / "square.png", h=64, w=64))  # the face spans the width: edits on both sides
    window.canvas.show_only("photo")
    view = window.canvas.views["photo"]
    view.set_zoom(4)
    move_a_slider(qtbot, window, 3.0)
    edited, original = window.photo.composite(), window.photo.current.photo
    w = original.shape[1]
    changed = np.abs(edited.astype(int) - original).max(-1) > 8

    def shows(px: int, py: int) -> str:
        centre = view.widget_point(px + 0.5, py + 0.5)
        got = shown_pixel(view, int(centre.x()), int(centre.y()))
        return "edit" if got == tuple(edited[py, px]) else "original" if got == tuple(original[py, px]) else f"neither {got}"

    def a_changed_pixel(lo: float, hi: float) -> tuple[int, int]:
        ys, xs = np.nonzero(changed[:, int(lo * w) : int(hi * w)])
        assert len(xs), f"no changed pixel between {lo} and {hi} of the width"
        return int(xs[len(xs) // 2]) + int(lo * w), int(ys[len(ys) // 2])

    left, middle, right = a_changed_pixel(0.05, 0.22), a_changed_pixel(0.3, 0.45), a_changed_pixel(0.6, 0.95)
    qtbot.waitUntil(lambda: shows(*left) == "edit", timeout=TIMEOUT_MS)
    action = window.artist.before_after.split_action
    assert action in window.view_menu.actions() and action.shortcut() == QKeySequence("Y")
    action.trigger()
    assert view.divider.fraction == 0.5
    assert (shows(*left), shows(*middle), shows(*right)) == ("original", "original", "edit")

    target = view.target_rect()
    y = int(target.center().y())
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(int(view.divider.line_x(target)), y))
    QTest.mouseMove(view, QPoint(int(target.x() + 0.35 * target.width()), y))
    QTest.mouseMove(view, QPoint(int(target.x() + 0.25 * target.width()), y))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(int(target.x() + 0.25 * target.width()), y))
    assert abs(view.divider.fraction - 0.25) < 0.02
    assert (shows(*left), shows(*middle), shows(*right)) == ("original", "edit", "edit")
    assert window.edit.stack == window.edit.stack and not window.mask.active  # the drag painted nothing

    action.trigger()
    assert view.divider.fraction is None and shows(*left) == "edit"
    settle(qtbot, window)


# --------------------------------------------------------------------------- drag and drop


def drop(window, *paths, urls=()) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths] + [QUrl(u) for u in urls])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    # Qt routes drop events only during a real drag: hand the event to the window's filter
    assert window.drop.eventFilter(window, event)
    assert event.isAccepted()
    return event


def test_drops_open_a_photo_refuse_junk_and_folders_and_lose_nothing(qtbot, window, photo, tmp_path):
    open_by(qtbot, window, photo, lambda: drop(window, photo))
    assert window.edit.path == photo
    move_a_slider(qtbot, window)
    stack = window.edit.stack
    assert not stack.is_empty

    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"this is not a picture at all")
    with qtbot.waitSignal(window.edit.failed, timeout=TIMEOUT_MS):
        drop(window, junk)
    assert window.banner.isVisible() and "notes.jpg" in window.banner.text() and "\n" not in window.banner.text()
    assert window.edit.path == photo and window.edit.stack == stack  # the open edit is kept

    folder = tmp_path / "holiday"
    folder.mkdir()
    write_photo(folder / "inside.png")
    with qtbot.waitSignal(window.drop.message) as said:
        drop(window, folder)
    assert "holiday" in said.args[0] and "folder" in said.args[0] and "\n" not in said.args[0]
    assert "folder" in window.banner.text()
    assert window.edit.path == photo and window.edit.stack == stack

    with qtbot.waitSignal(window.drop.message) as said:
        drop(window, urls=["https://example.com/face.jpg"])
    assert "this computer" in said.args[0]
    assert window.edit.path == photo and window.edit.stack == stack
    settle(qtbot, window)


@pytest.mark.parametrize("count", [2])
def test_dropping_several_photos_opens_the_first_and_says_so(qtbot, window, tmp_path, count):
    paths = [write_photo(tmp_path / f"p{i}.png", seed=i) for i in range(count)]
    with qtbot.waitSignal(window.drop.message) as said:
        open_by(qtbot, window, paths[0], lambda: drop(window, *paths))
    assert window.edit.path == paths[0] and "p0.png" in said.args[0]
    settle(qtbot, window)


def test_about_finds_the_model_card_of_a_bundled_alias_and_of_a_checkpoint(tmp_path):
    from editor.widgets.help_menu import model_card
    from engine.protocol import ModelEntry

    entry = ModelEntry(source="default", name="default-faces-vae64", family="vae", image_size=64)
    assert model_card("default", "default", [entry]).name == "default-faces-vae64.md"
    (tmp_path / "mine.safetensors").write_bytes(b"")
    (tmp_path / "mine.md").write_text("# my model\n")
    assert model_card(str(tmp_path / "mine.safetensors"), "mine") == tmp_path / "mine.md"
    assert model_card(str(tmp_path / "other.safetensors"), "other") is None
