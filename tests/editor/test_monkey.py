"""Monkey test (issue 9, "A GUI that cannot be broken"): thousands of seeded random UI events on
the main window built on the FakeEngine — slider moves and drags (latent and attribute sliders),
clicks on enabled buttons, menu/toolbar actions, tab switches, mouse strokes, pans and wheel turns
on the canvas, undo/redo shortcuts, drops of files through the window's drop filter (junk: text
named .png, empty, truncated, a folder, a PNG declaring 50000×50000 pixels, random bytes, a fake
session; and photos: a small one and a 12 MP JPEG) — with no exception escaping, the window
still visible and answering a slider move at the end.

The event loop's longest stall is measured with a 5 ms QTimer heartbeat, printed with the slowest
events, and bounded by MAX_STALL_MS. Measured on the project's shared 2-core machine (README,
"Reliability"), this workload: 38–104 ms (load average 0.3–0.7) and 50–104 ms in 8 runs while other
jobs kept it at 2.9–4.4 (one more run: 154 ms); the editor before photo files were decoded,
settings written and big photos minified off the GUI thread: 350–706 ms (each dropped 12 MP
photo froze the window).

Modal dialogs are never opened: QFileDialog / QMessageBox / QInputDialog statics are patched to
answer "cancel", "Quit" is never triggered, and tool buttons with a popup menu are skipped (their
menu would run a nested, blocking event loop).
"""

from __future__ import annotations

import struct
import sys
import time
import zlib

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDropEvent, QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFileDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
    QToolButton,
)

from editor.imaging import array_to_qimage
from tests.editor.conftest import TIMEOUT_MS, open_photo, write_photo

N_EVENTS = 3000
SEED = 0
# The issue aims at ≤ 100 ms: measured 38–104 ms here (see above). The bound is generous because a
# CI machine shared with training jobs stretches every stall; the editor before the fixes reached 706 ms.
MAX_STALL_MS = 500.0
BIG = (3000, 4000)  # the big photo's height, width: 12 MP
BIG_AT = (N_EVENTS // 3, 2 * N_EVENTS // 3)  # event indices after which the big photo is dropped and opened


class Heartbeat:
    """A 5 ms QTimer; the longest gap between its ticks is the event loop's longest stall."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.max_gap_ms = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self.last) * 1e3)
        self.last = now
        self.ticks += 1

    def start(self) -> None:
        self.last = None
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


@pytest.fixture
def no_dialogs(monkeypatch):
    """Every modal dialog answers "cancel" at once."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([], "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.StandardButton.Cancel))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("", False)))
    monkeypatch.setattr(QMenu, "exec", lambda *a, **k: None)  # a popup menu never blocks


@pytest.fixture
def excepthook_errors(monkeypatch):
    """Exceptions that reach sys.excepthook (slots called from Qt) are recorded, not lost."""
    errors: list[BaseException] = []
    previous = sys.excepthook

    def hook(kind, value, tb):
        errors.append(value)
        previous(kind, value, tb)

    monkeypatch.setattr(sys, "excepthook", hook)
    return errors


def _junk_files(tmp_path):
    text_png = tmp_path / "not-an-image.png"
    text_png.write_text("this is plain text, not a PNG\n" * 20)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    folder = tmp_path / "a-folder.png"
    folder.mkdir()
    truncated = tmp_path / "truncated.png"
    good = write_photo(tmp_path / "good.png")
    truncated.write_bytes(good.read_bytes()[:60])
    junk_session = tmp_path / "junk.lsession"
    junk_session.write_bytes(b"PK\x03\x04 not a session")
    binary = tmp_path / "noise.webp"
    binary.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    bomb = tmp_path / "bomb.png"  # a valid PNG header declaring 50000×50000 pixels
    data = bytearray(good.read_bytes())
    data[16:24] = struct.pack(">II", 50_000, 50_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bomb.write_bytes(bytes(data))
    return [text_png, empty, folder, truncated, junk_session, binary, bomb, tmp_path / "missing.png"], good


def _big_photo(path):
    """A 12 MP JPEG (gradient + noise), the size of a phone photo."""
    h, w = BIG
    rng = np.random.default_rng(2)
    array = rng.integers(0, 40, (h, w, 3), dtype=np.uint8)
    array += (np.arange(w, dtype=np.uint16) * 200 // w).astype(np.uint8)[None, :, None]
    assert array_to_qimage(array).save(str(path), quality=85)
    return path


def _drop(window, path) -> None:
    """A drop through the window's filter (Qt only routes real drops during a drag)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.drop.eventFilter(window, event)


def _mouse(widget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _wheel(widget, pos: QPointF, delta: int, modifiers) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QWheelEvent(pos, global_pos, QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton, modifiers,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _actions(window) -> list[QAction]:
    """Menu-bar and toolbar actions, submenus included, minus Quit (closing is not a monkey's job)."""
    found: list[QAction] = []

    def walk(menu: QMenu) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu())
            elif not action.isSeparator():
                found.append(action)

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu())
    out = []
    for action in found:
        text = action.text().replace("&", "").lower()
        if "quit" in text or "exit" in text or action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit):
            continue
        out.append(action)
    return out


def _buttons(window) -> list[QAbstractButton]:
    out = []
    for button in window.findChildren(QAbstractButton):
        if isinstance(button, QToolButton) and button.menu() is not None:
            continue  # an InstantPopup menu would block in QMenu.exec
        out.append(button)
    return out


@pytest.mark.slow
def test_monkey_thousands_of_random_events(qtbot, window, fake, tmp_path, no_dialogs, excepthook_errors, capsys):
    rng = np.random.default_rng(SEED)
    junk, good = _junk_files(tmp_path)
    big = _big_photo(tmp_path / "big.jpg")
    shown_sizes: set[tuple[int, int]] = set()
    window.edit.photoChanged.connect(lambda frame, name: frame is not None and shown_sizes.add(frame.array.shape[:2]))
    open_photo(qtbot, window, good)
    window.activateWindow()
    qtbot.wait(20)

    heartbeat = Heartbeat(5)
    counts: dict[str, int] = {}
    photo_view = window.canvas.views["photo"]
    canvas_views = list(window.canvas.views.values())
    actions = _actions(window)
    assert actions, "no menu actions found"

    def sliders():
        rows = [row.slider for row in window.latents.rows.values()]
        rows += [row.slider for row in window.semantics.attribute_panel.rows.values()]
        return [s for s in rows if s.isEnabled()]

    def slider_move():
        pool = sliders()
        if not pool:
            return "slider-none"
        s = pool[rng.integers(len(pool))]
        kind = rng.integers(3)
        if kind == 0:  # a press, several moves, a release (a drag)
            s.setSliderDown(True)
            for v in rng.uniform(-3.5, 3.5, rng.integers(1, 6)):
                s.setValue(float(v))
                QApplication.processEvents()
            s.setSliderDown(False)
        elif kind == 1:
            s.setValue(float(rng.uniform(-3.5, 3.5)))
        else:  # a press left held; released by a later event or at the end
            s.setSliderDown(not s.isSliderDown())
        return "slider"

    what: list[str] = [""]  # what the last event was, beyond its kind (printed for the slowest events)

    def click_button():
        pool = [b for b in _buttons(window) if b.isEnabled() and b.isVisible()]
        if not pool:
            return "button-none"
        button = pool[rng.integers(len(pool))]
        what[0] = button.text() or button.toolTip() or button.objectName()
        button.click()
        return "button"

    def trigger_action():
        pool = [a for a in actions if a.isEnabled()]
        action = pool[rng.integers(len(pool))]
        what[0] = action.text()
        action.trigger()
        return "action"

    def switch_tab():
        window.tabs.setCurrentIndex(int(rng.integers(window.tabs.count())))
        return "tab"

    def canvas_mouse():
        view = photo_view if rng.random() < 0.7 else canvas_views[rng.integers(len(canvas_views))]
        w, h = max(view.width(), 2), max(view.height(), 2)
        pts = [QPointF(rng.uniform(-10, w + 10), rng.uniform(-10, h + 10)) for _ in range(rng.integers(2, 8))]
        button = [Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton][rng.integers(3)]
        _mouse(view, QEvent.Type.MouseButtonPress, pts[0], button, button)
        for p in pts[1:-1]:
            _mouse(view, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button)
        if rng.random() < 0.9:  # sometimes the release never comes
            _mouse(view, QEvent.Type.MouseButtonRelease, pts[-1], button, Qt.MouseButton.NoButton)
        return "mouse"

    def wheel():
        view = canvas_views[rng.integers(len(canvas_views))]
        mods = Qt.KeyboardModifier.ControlModifier if rng.random() < 0.5 else Qt.KeyboardModifier.NoModifier
        _wheel(view, QPointF(rng.uniform(0, max(view.width(), 1)), rng.uniform(0, max(view.height(), 1))),
               int(rng.choice([-240, -120, 120, 240])), mods)
        return "wheel"

    def shortcut():
        key, mods = [(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
                     (Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)][rng.integers(5)]
        QTest.keyClick(window, key, mods)
        return "key"

    def drop():
        if rng.random() < 0.15:
            _drop(window, big if rng.random() < 0.5 else good)
            return "drop-photo"
        _drop(window, junk[rng.integers(len(junk))])
        return "drop-junk"

    kinds = [slider_move, click_button, trigger_action, switch_tab, canvas_mouse, wheel, shortcut, drop]
    weights = np.array([30, 15, 8, 6, 18, 8, 10, 5], float)
    weights /= weights.sum()

    timings: list[tuple[float, str, int]] = []  # (ms, kind, index) of each event and its processing
    details: dict[int, str] = {}
    t0 = time.perf_counter()
    heartbeat.start()
    for i in range(N_EVENTS):
        start = time.perf_counter()
        what[0] = ""
        name = kinds[rng.choice(len(kinds), p=weights)]()
        if what[0]:
            details[i] = what[0].replace("&", "")
        QApplication.processEvents()
        took = (time.perf_counter() - start) * 1e3
        counts[name] = counts.get(name, 0) + 1
        timings.append((took, name, i))
        if i % 50 == 49:
            qtbot.wait(1)  # let worker answers and timers (debounces, heartbeat) run
        if i in BIG_AT:  # the big photo, opened for sure (random drops of it are mostly superseded by
            _drop(window, big)  # the next drop while it decodes): the events after it work on it
            qtbot.waitUntil(lambda: window.edit.photo is not None and window.edit.photo.shape[:2] == BIG, timeout=TIMEOUT_MS)
    for s in sliders():
        s.setSliderDown(False)
    qtbot.wait(50)
    heartbeat.stop()
    elapsed = time.perf_counter() - t0

    # still alive: visible, and a fresh photo plus a slider move gets a render answer
    assert window.isVisible()
    open_photo(qtbot, window, good)
    window.tabs.setCurrentWidget(window.canvas)
    dim = int(window.latents.active_dims[0])
    slider = window.latents.rows[dim].slider
    target = 1.25 if abs(slider.value() - 1.25) > 0.01 else -1.25
    before = fake.decode_count
    slider.setValue(target)
    qtbot.waitUntil(lambda: window.edit.edited is not None and window.edit.up_to_date
                    and fake.decode_count > before, timeout=TIMEOUT_MS)
    assert not excepthook_errors, excepthook_errors

    with capsys.disabled():
        print(f"\nmonkey: {N_EVENTS} events ({dict(sorted(counts.items()))}) in {elapsed:.1f} s; "
              f"longest event-loop stall {heartbeat.max_gap_ms:.1f} ms over {heartbeat.ticks} heartbeats; "
              f"engine requests {len(fake.requests)}; slowest events: "
              + ", ".join(f"{name} #{i}{f' ({details[i]})' if i in details else ''} {ms:.0f} ms"
                          for ms, name, i in sorted(timings, reverse=True)[:8]))
    assert BIG in shown_sizes, "the 12 MP photo was never opened: the monkey did not test it"
    assert heartbeat.ticks > 10
    assert heartbeat.max_gap_ms < MAX_STALL_MS, f"event loop stalled {heartbeat.max_gap_ms:.0f} ms"
