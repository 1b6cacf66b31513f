"""One operand slot (arithmetic's A, B, C; interpolation's ends): a thumbnail, what it holds, and a
"Set" menu — the current edit, a sample of the grid (or all of them), image files, one of your
attributes' tagged groups, or a labelled group of a data set. An image file is shown as the model
sees it: its face aligned and cropped at the model's size, not the file."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from editor.imaging import Frame, array_to_qimage
from editor.widgets.file_actions import IMAGE_FILTER
from editor.widgets.image_view import ImageView

ICON = 40
EMPTY, ALIGNING = "empty", "aligning…"


class TermSlot(QWidget):
    currentRequested = Signal(str)  # key
    samplesRequested = Signal(str, object)  # key, [indices]
    filesRequested = Signal(str, object)  # key, [paths]
    groupRequested = Signal(str, str)  # key, "NAME=1,NAME=-1"
    clearRequested = Signal(str)

    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.sample_images: np.ndarray | None = None
        self.user_attributes: tuple[str, ...] = ()
        self.title = QLabel(f"<b>{title}</b>", alignment=Qt.AlignmentFlag.AlignHCenter)
        self.view = ImageView(EMPTY)
        self.pinned = False  # showing an image file's aligned crop: the term's decode does not replace it
        self.view.setMinimumSize(96, 96)
        self.label = QLabel("—", alignment=Qt.AlignmentFlag.AlignHCenter, wordWrap=True)
        self.menu = QMenu(self)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.button = QToolButton(text="Set…", popupMode=QToolButton.ToolButtonPopupMode.InstantPopup, toolTip=f"Choose {title}")
        self.button.setMenu(self.menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)

    # ------------------------------------------------------------------ showing
    def show_slot(self, slot) -> None:
        """``slot``: an ``editor.controllers.terms.Slot`` or None."""
        aligned = None if slot is None else slot.aligned
        self.pinned = aligned is not None
        if slot is None:
            self.label.setText("—")
            self.view.placeholder = EMPTY
            self.view.set_frame(None)
            return
        self.label.setText(slot.label)
        self.label.setToolTip(slot.label)
        shown = aligned if aligned is not None else slot.preview
        waiting = len(slot.term.images) == 1 and shown is None  # the engine is aligning the file's face
        self.view.placeholder = slot.note or (ALIGNING if waiting else EMPTY)
        self.view.set_frame(None if shown is None else Frame.from_array(np.ascontiguousarray(shown, np.uint8)))
        self.view.setToolTip("The face as the model sees it: aligned and cropped at the model's size" if self.pinned else "")

    def set_image(self, image: np.ndarray | None) -> None:
        """What the engine made of the term (the decode of its mean latent); an image file's
        aligned crop stays (it is what the model was given)."""
        if self.pinned:
            return
        self.view.set_frame(None if image is None else Frame.from_array(np.ascontiguousarray(image, np.uint8)))

    def set_sample_images(self, images: np.ndarray | None) -> None:
        self.sample_images = None if images is None else np.asarray(images)

    def set_user_attributes(self, names) -> None:
        self.user_attributes = tuple(names)

    # ------------------------------------------------------------------ menu
    def _fill_menu(self) -> None:
        m = self.menu
        m.clear()
        m.addAction("Current edit", lambda: self.currentRequested.emit(self.key))
        samples = m.addMenu("Sample")
        if self.sample_images is None or not len(self.sample_images):
            samples.addAction("(draw samples in the Sample tab)").setEnabled(False)
        else:
            n = len(self.sample_images)
            samples.addAction(f"All {n} samples (their mean)", lambda: self.samplesRequested.emit(self.key, list(range(n))))
            samples.addSeparator()
            for i, image in enumerate(self.sample_images):
                icon = QIcon(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(image))).scaled(ICON, ICON))
                samples.addAction(icon, f"sample {i}", lambda i=i: self.samplesRequested.emit(self.key, [i]))
        m.addAction("Image file(s)…", self._choose_files)
        groups = m.addMenu("Your attribute")
        if not self.user_attributes:
            groups.addAction("(tag one in “Your attributes”)").setEnabled(False)
        for name in self.user_attributes:
            groups.addAction(f"{name}: with", lambda n=name: self.groupRequested.emit(self.key, f"{n}=1"))
            groups.addAction(f"{name}: without", lambda n=name: self.groupRequested.emit(self.key, f"{n}=-1"))
        m.addAction("Labelled group of the data set…", self._ask_group)
        m.addSeparator()
        m.addAction("Clear", lambda: self.clearRequested.emit(self.key))

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Images (several: their mean)", "", IMAGE_FILTER)
        if paths:
            self.filesRequested.emit(self.key, paths)

    def _ask_group(self) -> None:
        text, ok = QInputDialog.getText(self, "Labelled group", "Conditions (e.g. Male=1,Eyeglasses=-1):")
        if ok and text.strip():
            self.groupRequested.emit(self.key, text.strip())
