"""Pick one face when the photo has several: a combo box of thumbnails, hidden for one face."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from editor.imaging import array_to_qimage

THUMB = 48  # in the open list; the closed combo shows a small one, at the toolbar's own height
SMALL = 16  # (a 48 px combo made the toolbar row 35 px taller: the whole window jumped)


class FaceChooser(QWidget):
    faceChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(toolTip="This photo has several face candidates: choose the one to edit")
        self.combo.setIconSize(QSize(SMALL, SMALL))
        self.combo.view().setIconSize(QSize(THUMB, THUMB))
        self.combo.addItem(QIcon(QPixmap(SMALL, SMALL)), "1 (best)")  # as tall empty as with faces: the
        self.combo.setMinimumHeight(self.combo.sizeHint().height())  # window reserves the row (main_window)
        self.combo.clear()
        self.combo.currentIndexChanged.connect(self._on_index)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Face:"))
        layout.addWidget(self.combo)
        self.setVisible(False)

    def set_faces(self, photo: np.ndarray | None, faces, chosen: int) -> None:
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for i, face in enumerate(faces or ()):
                label = f"{i + 1}" + (" (best)" if i == 0 else "") + (f" · {face.score:.2f}" if face.method != "centre" else " · centre")
                self.combo.addItem(self._thumb(photo, face.box), label)
            if 0 <= chosen < self.combo.count():
                self.combo.setCurrentIndex(chosen)
        self.setVisible(self.combo.count() > 1)

    def _on_index(self, index: int) -> None:
        if index >= 0:
            self.faceChosen.emit(index)

    @staticmethod
    def _thumb(photo: np.ndarray | None, box) -> QIcon:
        if photo is None:
            return QIcon()
        h, w = photo.shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return QIcon()
        step = max(1, min(y1 - y0, x1 - x0) // (4 * THUMB))  # a 12 MP photo's face: subsample before smoothing
        crop = np.ascontiguousarray(photo[y0:y1:step, x0:x1:step])
        image = array_to_qimage(crop).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
        return QIcon(QPixmap.fromImage(image))
