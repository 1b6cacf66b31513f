"""Latent arithmetic: three slots A − B + C and the live result; when C is a set, A − B added to
each of its members too. Save the result; apply it to the open photo (one undoable step), or
without a photo edit it like a sample."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import ArithmeticResult
from editor.imaging import Frame, array_to_qimage
from editor.widgets.image_view import ImageView
from editor.widgets.term_slot import TermSlot

THUMB = 64
USE_RESULT = {  # the result button, by whether a photo is open: (text, tooltip)
    True: ("Apply to photo", "Add the result's change to the open photo's edit (one undo step);\n"
                             "with C = current edit that change is A − B"),
    False: ("Edit result", "Open the result in the editor, like a sample"),
}


class ArithmeticPanel(QWidget):
    saveRequested = Signal(str)
    editRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: ArithmeticResult | None = None
        self.slots = {"a": TermSlot("a", "A"), "b": TermSlot("b", "B"), "c": TermSlot("c", "C")}
        self.view = ImageView("A − B + C\nappears here when the three slots are set")
        self.data = QLineEdit(placeholderText="labelled data set for groups, e.g. faces:/path/to/faces (optional)", clearButtonEnabled=True)
        self.data.setToolTip("Groups such as Male=1,Eyeglasses=-1 average the encodings of this data set;\n"
                             "groups of your own attributes use their tagged examples and need no data set")  # fmt: skip
        self.description = QLabel("e.g. men with glasses − men without + women without → women with glasses")
        self.description.setWordWrap(True)
        self.members = QListWidget()
        self.members.setViewMode(QListView.ViewMode.IconMode)
        self.members.setIconSize(QSize(THUMB, THUMB))
        self.members.setMovement(QListView.Movement.Static)
        self.members.setFlow(QListView.Flow.LeftToRight)
        self.members.setWrapping(True)
        self.members.setMaximumHeight(2 * THUMB + 48)
        self.members.setToolTip("Members of C (top) and each + (A − B) (bottom)")
        self.members.hide()
        self.save_button = QPushButton("Save result…", enabled=False)
        self.save_button.clicked.connect(self._save_dialog)
        self.edit_button = QPushButton(enabled=False)
        self.edit_button.clicked.connect(self.editRequested)
        self.set_photo_open(False)

        row = QHBoxLayout()
        for key, sign in (("a", "−"), ("b", "+"), ("c", "=")):
            row.addWidget(self.slots[key], 1)
            row.addWidget(QLabel(f"<h2>{sign}</h2>", alignment=Qt.AlignmentFlag.AlignCenter))
        result = QVBoxLayout()
        result.addWidget(QLabel("<b>Result</b>", alignment=Qt.AlignmentFlag.AlignHCenter))
        result.addWidget(self.view, 1)
        row.addLayout(result, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.description, 1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.data)
        layout.addWidget(self.members)
        layout.addLayout(buttons)

    def show_result(self, result: ArithmeticResult | None) -> None:
        self.result = result
        self.save_button.setEnabled(result is not None)
        self.edit_button.setEnabled(result is not None)
        self.members.clear()
        if result is None:
            self.view.set_frame(None)
            self.members.hide()
            return
        self.view.set_frame(Frame.from_array(np.ascontiguousarray(result.image), tag=result.request_id))
        for key, image in zip(("a", "b", "c"), result.term_images):
            self.slots[key].set_image(image)
        a, b, c = result.descriptions
        self.description.setText(f"mean of {a} − mean of {b} + mean of {c}")
        if result.items is not None and result.edited is not None:
            for image, text in [(im, "C") for im in result.items] + [(im, "C + A − B") for im in result.edited]:
                item = QListWidgetItem(QIcon(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(image)))), "")
                item.setToolTip(text)
                self.members.addItem(item)
            self.members.show()
        else:
            self.members.hide()

    def set_photo_open(self, open_: bool) -> None:
        text, tip = USE_RESULT[bool(open_)]
        self.edit_button.setText(text)
        self.edit_button.setToolTip(tip)

    def shown_result(self) -> np.ndarray | None:
        return None if self.view.frame is None else self.view.frame.array

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the result", "arithmetic.png", "PNG (*.png);;JPEG (*.jpg *.jpeg)")
        if path:
            self.saveRequested.emit(path if path.lower().endswith((".png", ".jpg", ".jpeg")) else path + ".png")
