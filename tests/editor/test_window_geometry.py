"""The window on a laptop screen (issue 15): at 1280×720 with every tab visited and Interpolate used
it stays within the screen, nothing at a panel's top level is cut off or needs scrolling, the model
chooser is in view; smaller windows keep their size; banners float instead of pushing the photo
down; the Sample grid follows its temperature and says what it samples from."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QScrollArea,
    QToolBar,
    QToolButton,
    QWidget,
)

from editor.widgets.window_fit import DOCK_MIN_WIDTH
from tests.editor._faces import open_in_window
from tests.editor._semantics import draw_samples
from tests.editor.conftest import TIMEOUT_MS

SLOW_MS = 30_000  # the face finder on a loaded 2-core machine
CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractSlider, QAbstractItemView)


def in_window(window, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), QWidget.size(widget))  # MaskTools.size is a slider


def top_level_controls(root: QWidget) -> list[QWidget]:
    """The visible controls of ``root`` that are not inside a list or a scrolled sub-panel of
    their own (those may legitimately scroll out of view): what must be on screen."""
    found = [root] if isinstance(root, CONTROLS) else []  # a panel that is one list (the history)
    for w in root.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or not w.isVisible() or w.objectName().startswith("qt_"):
            continue
        parent, nested = w.parentWidget(), False
        while parent is not None and parent is not root:
            nested |= isinstance(parent, QAbstractScrollArea) and parent is not root
            parent = parent.parentWidget()
        if not nested:
            found.append(w)
    return found


def assert_shown_whole(window, root: QWidget, area: QScrollArea) -> None:
    """``root`` sits in ``area`` (the outer scroll area of a dock or of the tabs): at this window
    size the area needs no scroll bar and each top-level control lies wholly inside the window."""
    assert area.horizontalScrollBar().maximum() == 0, f"{root.__class__.__name__} scrolls sideways"
    assert area.verticalScrollBar().maximum() == 0, f"{root.__class__.__name__} scrolls up and down"
    view = in_window(window, area.viewport())
    controls = top_level_controls(root)
    assert controls, root
    for w in controls:
        rect = in_window(window, w)
        where = f"{w.__class__.__name__} {getattr(w, 'text', lambda: '')()!r} of {root.__class__.__name__} at {rect.getRect()}"
        assert window.rect().contains(rect), where + " is outside the window"
        assert view.contains(rect), where + " is cut off"


def outer_area(widget: QWidget) -> QScrollArea:
    area = widget.parentWidget().parentWidget().parentWidget()  # widget -> its holder -> viewport -> scroll area
    assert isinstance(area, QScrollArea) and area.widget().inner is widget
    return area


def assert_fits(window, width: int, height: int) -> None:
    assert window.width() <= width and window.height() <= height, (window.size().toTuple(), (width, height))
    chooser = window.chooser.combo
    assert chooser.isVisible() and window.rect().contains(in_window(window, chooser)), "the model chooser is hidden"


def use_interpolate(qtbot, window) -> None:
    panel = window.semantics.interpolation_panel
    window.tabs.setCurrentWidget(panel)
    panel.slots["a"].samplesRequested.emit("a", [0])
    panel.slots["b"].samplesRequested.emit("b", [1])
    interp = window.semantics.interpolation
    qtbot.waitUntil(lambda: interp.result is not None and interp.up_to_date and not window.client.busy, timeout=SLOW_MS)
    assert "ratio" in panel.smoothness.text()  # the long verdict that used to widen the window


@pytest.fixture
def laptop(qtbot, window, photo):
    window.resize(1280, 720)
    open_in_window(qtbot, window, photo, SLOW_MS)
    qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=SLOW_MS)
    draw_samples(qtbot, window, n=8, timeout=SLOW_MS)
    window.latents.traversalRequested.emit(int(window.latents.active_dims[0]))  # the strip under the sliders
    qtbot.waitUntil(lambda: bool(window.traversal.buttons) and not window.client.busy, timeout=SLOW_MS)
    return window


def test_every_tab_and_dock_fits_1280x720(qtbot, laptop):
    window = laptop
    tabs_area = outer_area(window.tabs)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        assert_fits(window, 1280, 720)
        assert_shown_whole(window, window.tabs.currentWidget(), tabs_area)
    use_interpolate(qtbot, window)
    qtbot.wait(50)
    assert_fits(window, 1280, 720)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 720
    assert_shown_whole(window, window.tabs.currentWidget(), tabs_area)

    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    assert {d.objectName() for d in docks} >= {"latents", "attributes", "history"}
    for dock in docks:
        assert window.rect().contains(in_window(window, dock)), dock.objectName()
        area = dock.widget()
        assert_shown_whole(window, area.widget(), area)
    for toolbar in window.findChildren(QToolBar):  # nothing in a toolbar's overflow menu
        assert window.rect().contains(in_window(window, toolbar)), toolbar.objectName()
        assert not toolbar.findChild(QToolButton, "qt_toolbar_ext_button").isVisible(), toolbar.objectName()
    assert window.mask_tools.isVisible() and window.rect().contains(in_window(window, window.mask_tools))


@pytest.mark.parametrize("size", [(1024, 640), (960, 600), (800, 600)])
def test_smaller_windows_keep_their_size_and_the_model_chooser(qtbot, laptop, size):
    window = laptop
    window.tabs.setCurrentWidget(window.canvas)
    window.resize(*size)
    qtbot.wait(50)
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    assert all(d.width() >= DOCK_MIN_WIDTH for d in docks)
    if size[0] >= 960:  # the docks gave up width: the Edit tab is whole, no sideways scrolling
        area = outer_area(window.tabs)
        qtbot.waitUntil(lambda: area.horizontalScrollBar().maximum() == 0, timeout=TIMEOUT_MS)
        assert_shown_whole(window, window.canvas, area)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        assert_fits(window, *size)
    use_interpolate(qtbot, window)
    qtbot.wait(50)
    assert_fits(window, *size)
    for dock in (d for d in window.findChildren(QDockWidget) if d.isVisible()):
        assert window.rect().contains(in_window(window, dock)), dock.objectName()
    photo_bar = window.findChild(QToolBar, "photo-toolbar")
    assert window.rect().contains(in_window(window, photo_bar))
    assert window.mask_tools.isVisible()  # on a second toolbar row rather than in the overflow menu


def test_banners_float_over_the_tabs_without_moving_the_photo(qtbot, laptop):
    window = laptop
    window.tabs.setCurrentWidget(window.canvas)
    view = window.canvas.views["photo"]
    qtbot.wait(20)
    before = in_window(window, view)
    for show, banner in ((lambda: window.banner.show_info("Exported somewhere"), window.banner),
                         (lambda: window.faces.banner.show_no_face("photo.png"), window.faces.banner)):  # fmt: skip
        show()
        qtbot.wait(20)
        assert banner.isVisible()
        rect = in_window(window, banner)
        assert window.rect().contains(rect) and rect.height() > 10
        hit = window.childAt(rect.center())  # on top: a click there reaches the banner
        assert hit is banner or banner.isAncestorOf(hit)
        assert in_window(window, view) == before  # the photo has not moved
    window.banner.dismiss()
    window.faces.banner.hide()
    qtbot.wait(20)
    assert in_window(window, view) == before
    assert not window.banners.isVisible()  # no invisible strip left to swallow clicks


def test_several_faces_do_not_move_the_photo(qtbot, laptop):
    """The face chooser appears for a photo with several faces: the toolbar row keeps its height."""
    window = laptop
    window.tabs.setCurrentWidget(window.canvas)
    view, chooser = window.canvas.views["photo"], window.face_chooser
    qtbot.wait(20)
    before = in_window(window, view)
    faces = [SimpleNamespace(box=(8, 8, 40, 40), score=0.9, method="hog"), SimpleNamespace(box=(20, 4, 60, 44), score=0.5, method="hog")]
    chooser.set_faces(np.zeros((64, 64, 3), np.uint8), faces, 0)
    qtbot.wait(50)
    assert chooser.isVisible() and window.rect().contains(in_window(window, chooser.combo))
    assert chooser.combo.view().iconSize().height() > chooser.combo.iconSize().height()  # big thumbnails in the list
    assert in_window(window, view) == before


def grid_pixels(panel) -> np.ndarray:
    image = panel.grid.viewport().grab().toImage().convertToFormat(panel.grid.viewport().grab().toImage().Format.Format_RGB888)
    return np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).copy()


def test_sample_grid_redraws_when_the_temperature_changes(qtbot, window):
    panel = window.samples
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: window.sampling.result is not None and panel.grid.count() == panel.count.value(), timeout=TIMEOUT_MS)
    before, z_before = grid_pixels(panel), window.sampling.result.z.copy()
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        panel.temperature.setValue(2.5)
    assert window.sampling.temperature == 2.5
    assert not np.allclose(window.sampling.result.z, z_before)
    qtbot.wait(20)
    assert not np.array_equal(grid_pixels(panel), before)  # the shown thumbnails changed

    calls = []
    window.sampling.ready.connect(lambda *_: calls.append(1))
    panel.next_button.click()  # one draw for the new seed, not a second one from the debounce
    qtbot.waitUntil(lambda: bool(calls), timeout=TIMEOUT_MS)
    qtbot.wait(400)
    assert calls == [1] and window.sampling.seed == 1


def test_sample_hint_says_what_is_sampled(qtbot, window, fake):
    hint = window.samples.hint
    assert "N(0, T²I)" in hint.text()  # the fake model has only the standard prior

    fake.add_model("with-prior", 12, 24, prior=True)  # a model with an aggregate prior
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("with-prior")
    assert "N(0, T²I)" not in hint.text()
    assert "fitted to the training set's latents" in hint.text() and "T = temperature" in hint.text()
