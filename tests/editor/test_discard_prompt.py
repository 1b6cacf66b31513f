"""Unsaved edits are never dropped without a word: every path that replaces the open photo's
edit (File ▸ Open, recent files, a drop, File ▸ Open session, a sample, another model) asks Save /
Discard / Cancel as Quit does; Cancel leaves everything as it was, Save writes the session first;
nothing is asked when nothing is unsaved. An interpolation frame replaces nothing: it goes onto
the photo as one more step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.editor._photo import move_slider, open_photo_file, wait_rendered
from tests.editor._semantics import draw_samples
from tests.editor.conftest import TIMEOUT_MS, write_photo
from tests.editor.test_artist_features import drop

BUTTON = {"save": QMessageBox.StandardButton.Save, "discard": QMessageBox.StandardButton.Discard,
          "cancel": QMessageBox.StandardButton.Cancel}  # fmt: skip


@pytest.fixture
def answer(monkeypatch):
    """The Save / Discard / Cancel box answered with ``answer.next`` ("save", "discard", "cancel");
    ``answer.asked`` records each question's text."""

    class Answer:
        next = "cancel"
        asked: list[str] = []

    def question(parent, title, text, buttons, default):
        assert buttons & QMessageBox.StandardButton.Save and buttons & QMessageBox.StandardButton.Discard
        assert buttons & QMessageBox.StandardButton.Cancel
        Answer.asked.append(text)
        return BUTTON[Answer.next]

    Answer.asked = []
    monkeypatch.setattr(QMessageBox, "question", question)
    return Answer


@pytest.fixture
def unsaved(qtbot, window, photo, tmp_path):
    """The running app (autosave started) with an edited photo that no session holds."""
    qtbot.waitUntil(lambda: not window.client.busy, timeout=60_000)  # a cold engine's first answers take long on a busy machine
    window.session.data_dir = tmp_path / "data"
    window.session.start(interval_s=0)
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    wait_rendered(qtbot, window)
    assert window.session.needs_saving
    return window.edit.stack


def kept(window, photo, stack) -> bool:
    """The edited photo is still the document, with its edit and its history."""
    return (window.edit.path == photo and window.edit.stack == stack and window.photo.active
            and window.history.undo_stack.count() == 1 and window.session.needs_saving)  # fmt: skip


def opened(qtbot, window, path) -> None:
    """Wait until ``path`` is the open photo (a face-less one: through "Use the whole image")."""
    qtbot.waitUntil(lambda: window.edit.path == path and (window.edit.encoded is not None or window.faces.banner.isVisible()),
                    timeout=TIMEOUT_MS)  # fmt: skip
    if window.edit.encoded is None:
        window.faces.banner.whole.click()
    qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=TIMEOUT_MS)


def recent_action(window, path):
    window.files.recent_menu.aboutToShow.emit()
    return next(a for a in window.files.recent_menu.actions() if a.data() == str(path))


@pytest.mark.parametrize("how", ["open", "menu", "recent", "drop"])
def test_opening_another_photo_asks_and_cancel_keeps_the_edit(qtbot, window, photo, tmp_path, answer, unsaved, how):
    other = write_photo(tmp_path / "other.png", seed=3)
    window.files.remember(other)
    act = {"open": lambda: window.open_image(other), "menu": lambda: window.files.openRequested.emit(str(other)),
           "recent": lambda: recent_action(window, other).trigger(), "drop": lambda: drop(window, other)}[how]  # fmt: skip
    answer.next = "cancel"
    act()
    assert len(answer.asked) == 1 and "photo.png" in answer.asked[0] and "opening other.png" in answer.asked[0]
    qtbot.wait(50)
    assert kept(window, photo, unsaved)

    answer.next = "discard"
    act()
    assert len(answer.asked) == 2
    opened(qtbot, window, other)
    assert window.edit.stack.is_empty and window.history.undo_stack.count() == 0


def test_save_writes_the_session_then_opens_the_other_photo(qtbot, window, photo, tmp_path, answer, unsaved, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    other = write_photo(tmp_path / "other.png", seed=3)
    target = tmp_path / "kept.lsession"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    answer.next = "save"
    assert window.open_image(other)
    assert target.is_file()  # written before the other photo replaced the edit
    opened(qtbot, window, other)
    with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
        window.session.open(target)  # the saved edit is that photo's edit
    qtbot.waitUntil(lambda: window.edit.stack == unsaved, timeout=TIMEOUT_MS)

    # a cancelled save dialog keeps everything: nothing saved, nothing replaced
    move_slider(window, 1, 1.0)
    stack = window.edit.stack
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    window.session.path = None
    assert not window.open_image(other)
    assert window.edit.stack == stack and window.session.needs_saving


def test_a_sample_asks_and_cancel_keeps_the_photo(qtbot, window, photo, answer, unsaved):
    draw_samples(qtbot, window, n=4)
    window.tabs.setCurrentWidget(window.samples)
    answer.next = "cancel"
    window.samples.sampleChosen.emit(1)
    assert answer.asked and "editing the sample" in answer.asked[-1]
    assert kept(window, photo, unsaved) and window.tabs.currentWidget() is window.samples
    answer.next = "discard"
    window.samples.sampleChosen.emit(1)
    assert window.edit.is_sample and not window.photo.active
    np.testing.assert_array_equal(window.edit.photo, window.sampling.result.images[1])


def test_another_model_asks_and_cancel_keeps_the_model_and_the_chooser(qtbot, window, fake, photo, answer, unsaved):
    chooser = window.chooser
    assert chooser.combo.currentData() == "default"
    loads = sum(type(r).__name__ == "LoadModel" for r in fake.requests)
    answer.next = "cancel"
    qtbot.waitUntil(lambda: "wide" in chooser.sources(), timeout=TIMEOUT_MS)  # the engine listed its models
    index = chooser.sources().index("wide")
    chooser.combo.setCurrentIndex(index)  # as a click on the list does, then activated
    chooser.combo.activated.emit(index)
    assert "switching to the model wide" in answer.asked[-1]
    qtbot.wait(50)
    assert sum(type(r).__name__ == "LoadModel" for r in fake.requests) == loads  # nothing asked of the engine
    assert window.model.info.name == "default" and chooser.combo.currentData() == "default"
    assert kept(window, photo, unsaved)

    answer.next = "discard"
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        chooser.choose("wide")
    qtbot.waitUntil(lambda: window.edit.edit is not None, timeout=TIMEOUT_MS)
    assert window.model.info.latent_dim == 12 and window.edit.stack.is_empty and window.edit.path == photo


def test_opening_a_session_asks(qtbot, window, photo, tmp_path, answer, unsaved):
    with qtbot.waitSignal(window.session.saved, timeout=TIMEOUT_MS):
        window.session.save(tmp_path / "before.lsession")
    move_slider(window, 1, -1.0)
    stack = window.edit.stack
    answer.next = "cancel"
    window.documents.openSessionRequested.emit(str(tmp_path / "before.lsession"))
    assert "opening before.lsession" in answer.asked[-1]
    qtbot.wait(100)
    assert window.edit.stack == stack
    answer.next = "discard"
    with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
        window.documents.openSessionRequested.emit(str(tmp_path / "before.lsession"))
    qtbot.waitUntil(lambda: window.edit.stack == unsaved, timeout=TIMEOUT_MS)


def test_an_interpolation_frame_goes_onto_the_unsaved_photo_without_asking(qtbot, window, photo, answer, unsaved):
    draw_samples(qtbot, window, n=4)
    interp = window.semantics.interpolation
    interp.slots.set_samples("a", [0])
    interp.slots.set_samples("b", [1])
    qtbot.waitUntil(lambda: interp.result is not None and interp.up_to_date, timeout=TIMEOUT_MS)
    window.semantics.interpolation_panel.editFrameRequested.emit(1)
    assert answer.asked == []  # it replaces nothing: one more step of the photo's edit
    assert window.edit.path == photo and window.edit.stack.ops[:-1] == unsaved.ops
    assert window.history.undo_stack.count() == 2 and window.session.needs_saving


def test_nothing_is_asked_when_nothing_is_unsaved(qtbot, window, photo, tmp_path, answer):
    window.session.data_dir = tmp_path / "data"
    window.session.start(interval_s=0)
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    wait_rendered(qtbot, window)
    with qtbot.waitSignal(window.session.saved, timeout=TIMEOUT_MS):
        window.session.save(tmp_path / "saved.lsession")
    assert not window.session.needs_saving
    other = write_photo(tmp_path / "other.png", seed=3)
    assert window.open_image(other)
    opened(qtbot, window, other)
    draw_samples(qtbot, window, n=4)
    window.samples.sampleChosen.emit(0)
    assert window.edit.is_sample and answer.asked == []
