"""Sessions, autosave and crash recovery, recipes and export (FakeEngine: the real engine's
handlers and session files over a fake model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.protocol import EditStack, LoadSession, SaveSession
from tests.editor._photo import move_slider, open_photo_file, stroke, wait_rendered
from tests.editor.conftest import TIMEOUT_MS, write_photo


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "user-data"
    return folder


def edit_with_mask(qtbot, window):
    move_slider(window, 0, 2.0)
    move_slider(window, 1, -1.25)
    window.mask_tools.buttons["brush"].click()
    window.mask_tools.size.setValue(8)
    stroke(window.canvas.views["photo"], [(20.0, 20.0), (36.0, 28.0)])
    return wait_rendered(qtbot, window)


def test_a_saved_session_reopens_to_the_same_pixels(qtbot, window, fake, photo, tmp_path):
    original = open_photo_file(qtbot, window, photo)
    shown = edit_with_mask(qtbot, window)
    stack, mask = window.edit.stack, window.mask.array.copy()
    with qtbot.waitSignal(window.session.saved, timeout=TIMEOUT_MS):
        window.session.save(tmp_path / "portrait")  # the suffix is added
    path = tmp_path / "portrait.lsession"
    assert path.is_file() and window.session.path == path
    assert window.history.undo_stack.isClean()
    request = [r for r in fake.requests if isinstance(r, SaveSession)][-1]
    assert request.edits == stack and request.embed_photo

    open_photo_file(qtbot, window, write_photo(tmp_path / "other.png", seed=5))  # something else in between
    assert window.session.path is None
    with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
        window.session.open(path)
    assert isinstance([r for r in fake.requests if isinstance(r, LoadSession)][-1], LoadSession)
    np.testing.assert_array_equal(wait_rendered(qtbot, window), shown)
    assert window.edit.stack == stack
    np.testing.assert_array_equal(window.mask.array, mask)
    np.testing.assert_array_equal(window.photo.current.photo, original)
    assert [row.value() for row in window.latents.rows.values()].count(0.0) == len(window.latents.rows) - 2
    assert window.history.undo_stack.count() == 0 and window.session.path == path
    assert "photo.png" in window.windowTitle()
    window.history.reset_all()  # a reopened session's edit is undoable like any other
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)


def test_autosave_writes_only_when_something_changed(qtbot, window, fake, photo, data):
    session = window.session
    session.data_dir = data
    session.start(interval_s=0.05)
    assert (data / "autosave").is_dir() and session.autosave_path.with_suffix(".lock").is_file()
    qtbot.wait(120)
    assert not session.autosave_path.exists()  # nothing open: nothing to autosave
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    with qtbot.waitSignal(session.autosaved, timeout=TIMEOUT_MS):
        pass
    assert session.autosave_path.is_file()
    # Answers that arrive after the first autosave (the render, the face mask) may change the
    # document once more; wait until an autosave holds the document as it now is.
    qtbot.waitUntil(lambda: not window.client.busy and session._autosaved_revision == window.history.revision, timeout=TIMEOUT_MS)
    saves = sum(isinstance(r, SaveSession) for r in fake.requests)
    qtbot.wait(200)  # several timer ticks, no change: no new autosave
    assert sum(isinstance(r, SaveSession) for r in fake.requests) == saves
    move_slider(window, 0, 2.0)
    with qtbot.waitSignal(session.autosaved, timeout=TIMEOUT_MS):
        pass
    session.finish()  # a clean exit leaves nothing behind
    assert not session.autosave_path.exists() and not session.autosave_path.with_suffix(".lock").exists()


def _crashed_run(folder: Path, autosave: Path) -> Path:
    """Leave ``autosave`` as the autosave of a run that died without cleaning up: its lock file
    names a process that no longer exists (written by a real QLockFile in a child process)."""
    target = folder / "autosave-999999999.lsession"
    target.write_bytes(autosave.read_bytes())
    code = ("import os, sys; from PySide6.QtCore import QLockFile; lock = QLockFile(sys.argv[1]); "
            "assert lock.tryLock(0); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(target.with_suffix(".lock"))], check=True, timeout=60)
    assert target.with_suffix(".lock").exists()
    return target


@pytest.mark.subprocess
def test_crash_recovery_offers_the_autosave_and_restores_it(qtbot, window, fake, photo, data, client, settings):
    session = window.session
    session.data_dir = data
    session.start(interval_s=0)  # autosave by hand below
    open_photo_file(qtbot, window, photo)
    shown = edit_with_mask(qtbot, window)
    stack, mask = window.edit.stack, window.mask.array.copy()
    with qtbot.waitSignal(session.autosaved, timeout=TIMEOUT_MS):
        assert session.autosave_now()
    assert session.autosave_now() == 0  # unchanged since
    crashed = _crashed_run(data / "autosave", session.autosave_path)

    # the next start: a second window (same engine) finds the crashed run's autosave
    from editor.main_window import MainWindow

    window2 = MainWindow(client, settings)
    qtbot.addWidget(window2)
    window2.show()
    with qtbot.waitSignal(window2.model.changed, timeout=TIMEOUT_MS):
        window2.model.load("default")
    window2.session.data_dir = data
    with qtbot.waitSignal(window2.session.recoveryAvailable, timeout=TIMEOUT_MS):
        window2.session.start(interval_s=0)
    assert window2.session.recovery == crashed and window2.recovery_bar.isVisibleTo(window2)
    assert "did not close properly" in window2.recovery_bar.label.text()
    with qtbot.waitSignal(window2.session.loaded, timeout=TIMEOUT_MS):
        window2.recovery_bar.restore.click()
    np.testing.assert_array_equal(wait_rendered(qtbot, window2), shown)
    assert window2.edit.stack == stack
    np.testing.assert_array_equal(window2.mask.array, mask)
    assert not crashed.exists() and not crashed.with_suffix(".lock").exists() and not window2.recovery_bar.isVisibleTo(window2)
    assert window2.session.path is None  # restored, not yet saved anywhere
    window2.session.finish()

    session.finish()
    assert not list((data / "autosave").iterdir())


def test_the_autosave_of_a_running_editor_is_not_offered(qtbot, window, fake, photo, data):
    from PySide6.QtCore import QLockFile

    folder = data / "autosave"
    folder.mkdir(parents=True)
    (folder / "autosave-123.lsession").write_bytes(b"another editor's autosave")
    live = QLockFile(str(folder / "autosave-123.lock"))  # held by a running process (this one)
    live.setStaleLockTime(0)
    assert live.tryLock(0)
    try:
        window.session.data_dir = data
        window.session.start(interval_s=0)
        assert window.session.recovery is None and not window.recovery_bar.isVisibleTo(window)
        window.session.finish()
        assert (folder / "autosave-123.lsession").exists()
    finally:
        live.unlock()


@pytest.mark.subprocess
def test_discarding_the_offer_deletes_the_autosave(qtbot, window, fake, photo, data):
    (data / "autosave").mkdir(parents=True)
    session = window.session
    session.data_dir = data
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.0)
    with qtbot.waitSignal(session.saved, timeout=TIMEOUT_MS):
        session.save(data / "any.lsession")
    crashed = _crashed_run(data / "autosave", data / "any.lsession")
    with qtbot.waitSignal(session.recoveryAvailable, timeout=TIMEOUT_MS):
        session.start(interval_s=0)
    window.recovery_bar.discard.click()
    assert not crashed.exists() and session.recovery is None and not window.recovery_bar.isVisibleTo(window)
    session.finish()


def test_recipe_saved_from_the_gui_is_what_latent_studio_edit_reads(qtbot, window, fake, photo, tmp_path):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    window.edit.set_shift(np.full(window.model.info.latent_dim, 0.1, np.float32))
    path = window.session.save_recipe(tmp_path / "look")
    assert path == tmp_path / "look.json"
    text = path.read_text()
    assert '"format": "latent-studio/recipe"' in text
    assert EditStack.from_json(text) == window.edit.stack
    from engine.cli.photo import build_edit  # the batch command's own reader accepts it

    assert build_edit(str(path), [], [])[0] == window.edit.stack

    # apply it to another photo: one undoable step
    other = write_photo(tmp_path / "other.png", seed=9)
    original = open_photo_file(qtbot, window, other)
    assert window.session.apply_recipe(path)
    assert window.edit.stack == EditStack.from_json(text)
    assert not np.array_equal(wait_rendered(qtbot, window), original)
    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "latent-studio/recipe", "version": 1, "ops": [{"op": "attr", "name": "Nope", "amount": 1}]}')
    assert not window.session.apply_recipe(bad)
    assert "Nope" in window.banner.text()


def test_export_at_full_resolution_never_over_the_source(qtbot, window, fake, photo, tmp_path):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 2.0)
    shown = wait_rendered(qtbot, window)
    with qtbot.waitSignal(window.photo.exported, timeout=TIMEOUT_MS):
        window.photo.export(tmp_path / "out.png")
    written = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    np.testing.assert_array_equal(written, shown)  # the original size, the pixels shown
    assert "Exported" in window.banner.text()
    for name in ("out.jpg", "out.webp"):
        with qtbot.waitSignal(window.photo.exported, timeout=TIMEOUT_MS):
            window.photo.export(tmp_path / name)
        assert Image.open(tmp_path / name).size == (shown.shape[1], shown.shape[0])
    before = photo.read_bytes()
    window.photo.export(photo, overwrite=True)  # the source: refused even with overwrite
    qtbot.waitUntil(lambda: "never overwritten" in window.banner.text(), timeout=TIMEOUT_MS)
    assert photo.read_bytes() == before
    window.photo.export(tmp_path / "out.png")  # exists, not confirmed: refused
    qtbot.waitUntil(lambda: "already exists" in window.banner.text(), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.photo.exported, timeout=TIMEOUT_MS):
        window.photo.export(tmp_path / "out.png", overwrite=True)  # the save dialog asked
    window.photo.export(tmp_path / "out.gif")
    assert "choose a .png" in window.banner.text()


def test_a_session_file_opens_like_a_photo(qtbot, window, fake, photo, tmp_path):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.0)
    shown = wait_rendered(qtbot, window)
    with qtbot.waitSignal(window.session.saved, timeout=TIMEOUT_MS):
        window.session.save(tmp_path / "s.lsession")
    window.history.reset_all()
    with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
        assert window.open_image(tmp_path / "s.lsession")  # command line, drop, recent files
    np.testing.assert_array_equal(wait_rendered(qtbot, window), shown)
    assert not window.open_image(tmp_path / "missing.lsession") and "no such file" in window.banner.text()


def test_closing_with_unsaved_edits_asks_first(qtbot, window, fake, photo, data, tmp_path):
    session = window.session
    session.data_dir = data
    session.start(interval_s=0)
    open_photo_file(qtbot, window, photo)
    window.close()  # nothing edited: closes without a question
    assert not session.needs_saving
    window.show()
    session.start(interval_s=0)
    move_slider(window, 0, 1.0)
    assert session.needs_saving
    answers = iter(["cancel", "save"])
    window.discard_prompt.question = lambda name, action: next(answers)
    window.documents.session_path_dialog = lambda: str(tmp_path / "closing.lsession")
    window.close()
    assert window.isVisible() and session.needs_saving  # cancelled: still open, still unsaved
    window.close()
    assert not window.isVisible() and (tmp_path / "closing.lsession").is_file()
    assert not session.autosave_path.exists()  # a clean exit
