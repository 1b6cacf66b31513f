"""File work off the GUI thread (editor.background): photo files are decoded by a worker thread,
the newest open wins, errors are one line; settings are written by a writer thread."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from editor import background
from editor.background import ImageFileReader, flush_settings, halve, pyramid
from editor.imaging import read_image
from editor.recent import RecentList
from tests.editor.conftest import TIMEOUT_MS, write_photo


def _gated_reads(monkeypatch):
    """read_image in the reader waits for ``gate``; the threads it ran on are recorded."""
    gate, threads = threading.Event(), []
    real = background.read_image

    def gated(path, *args, **kwargs):
        threads.append(threading.current_thread())
        assert gate.wait(10), "the test never opened the gate"
        return real(path, *args, **kwargs)

    monkeypatch.setattr(background, "read_image", gated)
    return gate, threads


def test_opening_a_photo_does_not_wait_for_its_decoding_and_the_newest_open_wins(qtbot, window, tmp_path, monkeypatch):
    gate, threads = _gated_reads(monkeypatch)
    a, b = write_photo(tmp_path / "a.png"), write_photo(tmp_path / "b.png", seed=1)
    try:
        assert window.open_image(a)  # returns while the decoder is still blocked
        assert window.open_image(b)
        assert window.edit.photo is None and window.files.recent.paths() == []
    finally:
        gate.set()
    qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=TIMEOUT_MS)
    assert window.edit.path == b
    np.testing.assert_array_equal(window.edit.photo, read_image(b)[0])
    assert threads and all(t is not threading.main_thread() for t in threads)
    qtbot.wait(100)  # a's answer (stale) would have arrived by now
    assert window.edit.path == b and window.files.recent.paths() == [str(b.resolve())]
    assert window.windowTitle().startswith("b.png")


def test_a_sample_picked_while_a_file_is_read_is_not_replaced_by_it(qtbot, window, tmp_path, monkeypatch):
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        window.sampling.sample(4, seed=0)
    gate, _ = _gated_reads(monkeypatch)
    try:
        assert window.open_image(write_photo(tmp_path / "late.png"))
        window.sampling.choose(0)
    finally:
        gate.set()
    qtbot.wait(200)
    assert window.edit.is_sample and window.edit.path is None


def test_reader_reports_junk_and_decoder_failures_in_one_line(qtbot, tmp_path, monkeypatch):
    reader = ImageFileReader()
    junk = tmp_path / "junk.png"
    junk.write_text("not a png at all")
    with qtbot.waitSignal(reader.failed, timeout=TIMEOUT_MS) as got:
        ticket = reader.read(junk)
    assert got.args[0] == ticket and got.args[1] == junk
    assert "junk.png" in got.args[2] and "\n" not in got.args[2]

    def broken(path, *args, **kwargs):
        raise MemoryError("decoder ran out of memory\nsecond line")

    monkeypatch.setattr(background, "read_image", broken)
    good = write_photo(tmp_path / "good.png")
    with qtbot.waitSignal(reader.failed, timeout=TIMEOUT_MS) as got:
        reader.read(good)
    assert got.args[2] == "good.png: cannot read (MemoryError: decoder ran out of memory)"
    assert reader.wait(TIMEOUT_MS)


def test_a_cancelled_read_delivers_nothing(qtbot, tmp_path, monkeypatch):
    gate, _ = _gated_reads(monkeypatch)
    reader = ImageFileReader()
    answers = []
    reader.finished.connect(lambda *args: answers.append(args))
    reader.failed.connect(lambda *args: answers.append(args))
    reader.read(write_photo(tmp_path / "a.png"))
    reader.cancel()
    gate.set()
    assert reader.wait(TIMEOUT_MS)
    qtbot.wait(50)
    assert answers == []


def test_settings_are_written_by_the_writer_thread_without_qsettings_sync(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    settings.setValue("recent/models", ["/old/model.safetensors"])  # stored before: still read
    settings.sync()
    monkeypatch.setattr(QSettings, "sync", lambda self: pytest.fail("QSettings.sync holds the GIL: never call it"))
    written_on, slow = [], threading.Event()
    real_fsync = os.fsync  # the atomic writer's fsync

    def slow_fsync(fd):  # a disk busy with other jobs
        written_on.append(threading.current_thread())
        slow.wait(0.3)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    recent = RecentList(settings, "recent/images", limit=3)
    t0 = time.perf_counter()
    for name in ("a.png", "b.png", "c.png", "d.png"):
        recent.add(tmp_path / name)
    assert time.perf_counter() - t0 < 0.2  # nobody waited for the disk
    assert recent.paths() == [str((tmp_path / n).resolve()) for n in ("d.png", "c.png", "b.png")]
    assert flush_settings(TIMEOUT_MS)
    assert written_on and all(t is not threading.main_thread() for t in written_on)
    side = background.side_file(settings)
    assert side == tmp_path / "settings.ini.json"
    assert json.loads(side.read_text())["recent/images"] == recent.paths()
    background._stores.clear()  # as a new process would: read from the file
    assert RecentList(QSettings(str(path), QSettings.Format.IniFormat), "recent/images").paths() == recent.paths()
    assert RecentList(settings, "recent/models").paths() == ["/old/model.safetensors"]


def test_halve_averages_2x2_blocks_and_the_pyramid_stops_at_the_minimum_side():
    a = np.array([[[0], [2], [9]], [[4], [6], [9]], [[9], [9], [9]]], np.uint8)  # 3×3×1: the odd row/column is dropped
    assert halve(a).tolist() == [[[3]]]
    big = np.zeros((1000, 1500, 3), np.uint8)
    assert [lvl.shape for lvl in pyramid(big, min_side=100)] == [(500, 750, 3), (250, 375, 3), (125, 187, 3)]
    assert pyramid(np.zeros((150, 150, 3), np.uint8), min_side=100) == []


def test_photo_view_minifies_a_big_photo_from_a_pyramid_built_off_the_gui_thread(qtbot, monkeypatch):
    from editor.imaging import Frame
    from editor.widgets.photo_view import PhotoView

    built_on = []
    real = background.pyramid

    def recording(array, *args, **kwargs):
        built_on.append(threading.current_thread())
        return real(array, *args, **kwargs)

    monkeypatch.setattr(background, "pyramid", recording)
    view = PhotoView()
    qtbot.addWidget(view)
    view.resize(300, 240)
    view.show()
    y, x = np.mgrid[0:1200, 0:1600]
    photo = np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)
    with qtbot.waitSignal(view._pyramids.ready, timeout=TIMEOUT_MS):
        view.set_frame(Frame.from_array(photo))
        view.repaint()  # the first paint draws the photo itself and asks for its pyramid
    assert built_on and all(t is not threading.main_thread() for t in built_on)
    key, levels = view._cache["base"]
    assert key == view.frame.image.cacheKey() and [lv.array.shape[:2] for lv in levels][:2] == [(600, 800), (300, 400)]
    assert not view.grab().isNull()


def test_a_reader_deleted_while_it_decodes_does_not_crash(qtbot, tmp_path, monkeypatch):
    from shiboken6 import delete

    gate, threads = _gated_reads(monkeypatch)
    reader = ImageFileReader()
    reader.read(write_photo(tmp_path / "a.png"))
    qtbot.waitUntil(lambda: bool(threads), timeout=TIMEOUT_MS)  # the decode has started
    opener = threading.Timer(0.2, gate.set)  # the decode ends while the reader is being deleted
    opener.start()
    delete(reader)  # the window closed: its pool waits for the decode, whose answer has no receiver
    opener.join()
    qtbot.wait(20)


def test_files_for_arithmetic_and_your_attributes_are_decoded_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    """A file dialog may pick 64 big photos: neither the arithmetic slots nor the examples of
    "your attributes" decode them on the GUI thread; the newest choice for a slot wins; a bad
    file is one line on the banner, and the good files of the same batch are still added."""
    gate, threads = _gated_reads(monkeypatch)
    slots, user = window.semantics.arithmetic.slots, window.semantics.user
    a, b = write_photo(tmp_path / "a.png"), write_photo(tmp_path / "b.png", seed=1)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8 not really a jpeg")
    try:
        assert slots.set_files("a", [a])  # returns while the decoder is blocked
        assert slots.set_files("a", [b, a])  # supersedes the first choice
        assert user.add_files("with", [a, junk, b]) == 3
        assert slots.slots["a"] is None and user.counts() == (0, 0)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: slots.slots["a"] is not None, timeout=TIMEOUT_MS)
    assert slots.slots["a"].label == "2 images" and len(slots.slots["a"].term.images) == 2
    np.testing.assert_array_equal(slots.slots["a"].term.images[0], read_image(b)[0])
    qtbot.waitUntil(lambda: user.counts() == (2, 0), timeout=TIMEOUT_MS)
    assert [e.label for e in user.examples["with"]] == ["a.png", "b.png"]
    assert "junk.jpg" in window.banner.text() and "\n" not in window.banner.text()
    assert threads and all(t is not threading.main_thread() for t in threads)

    gate.clear()  # a choice of files survives another model forgetting the slot's latents
    threads.clear()
    slots.set_latent("b", np.zeros(window.model.info.latent_dim, np.float32), "zeros")
    assert slots.set_files("b", [a])
    qtbot.waitUntil(lambda: bool(threads), timeout=TIMEOUT_MS)
    slots.forget_latents()
    assert slots.slots["b"] is None
    gate.set()
    qtbot.waitUntil(lambda: slots.slots["b"] is not None, timeout=TIMEOUT_MS)
    assert slots.slots["b"].label == "a.png"

    shown = len(window.banner.history)
    slots.set_files("b", [junk])  # a bad file leaves the slot as it was
    qtbot.waitUntil(lambda: len(window.banner.history) > shown, timeout=TIMEOUT_MS)
    assert "junk.jpg" in window.banner.text() and slots.slots["b"].label == "a.png"
