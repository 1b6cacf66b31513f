"""Interpolation: two ends (A, B), linear or slerp, the frame under the scrub bar (play/pause),
how smooth the path is, and export of the frames as GIF / MP4 / PNG strip. The frame under the
scrub bar applies to the open photo (one undoable step), or without a photo is edited like a sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import Interpolated
from editor.imaging import Frame
from editor.widgets.image_view import ImageView
from editor.widgets.scrubber import Scrubber
from editor.widgets.term_slot import TermSlot

USE_FRAME = {  # the frame button, by whether a photo is open: (text, tooltip)
    True: ("Apply to photo", "Move the open photo's edit to this frame (one undo step),\npasted back into the full-resolution photo"),
    False: ("Edit this frame", "Open this frame in the editor, like a sample"),
}
EXPORT_FILTERS = {"GIF animation (*.gif)": ".gif", "MP4 video (*.mp4)": ".mp4", "PNG strip (*.png)": ".png"}


class InterpolationPanel(QWidget):
    optionsChanged = Signal(int, str, bool)  # steps, mode, even
    exportRequested = Signal(str, float, int, bool)  # path, fps, scale, boomerang
    editFrameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Interpolated | None = None
        self.slots = {"a": TermSlot("a", "A (start)"), "b": TermSlot("b", "B (end)")}
        self.steps = QSpinBox(minimum=2, maximum=128, value=16, toolTip="Frames from A to B, both included")
        self.mode = QComboBox(toolTip="slerp: along the great circle, norm interpolated (stays where real latents are);\n"
                                      "linear: a straight line (cuts through the low-density middle)")  # fmt: skip
        self.mode.addItems(["slerp", "linear"])
        self.even = QCheckBox("even steps", toolTip="Re-time the path so that neighbouring frames are equally far apart in pixels")
        for signal in (self.steps.valueChanged, self.mode.currentTextChanged, self.even.toggled):
            signal.connect(self._emit_options)
        self.view = ImageView("Choose A and B:\nthe current edit, a sample, a photo …")
        self.scrubber = Scrubber()
        self.scrubber.frameChanged.connect(self.show_frame)
        self.smoothness = QLabel("", wordWrap=True)
        # its own row, any width: a long verdict wraps instead of widening the window (issue 15)
        self.smoothness.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.smoothness.setToolTip("Step = mean absolute pixel difference between neighbouring frames (0–255);\n"
                                   "smooth when the largest step is at most twice the mean step")  # fmt: skip
        self.scale = QSpinBox(minimum=1, maximum=8, value=2, prefix="×", toolTip="Enlarge the exported frames")
        self.boomerang = QCheckBox("there and back", toolTip="The animation plays A → B → A (a seamless loop)")
        self.export_button = QPushButton("Export…", enabled=False, toolTip="GIF, MP4 or a PNG strip of all frames")
        self.export_button.clicked.connect(self._export_dialog)
        self.edit_button = QPushButton(enabled=False)
        self.edit_button.clicked.connect(lambda: self.editFrameRequested.emit(self.scrubber.frame()))
        self.set_photo_open(False)

        ends = QHBoxLayout()
        ends.addWidget(self.slots["a"], 1)
        ends.addWidget(self.slots["b"], 1)
        options = QHBoxLayout()
        for w in (QLabel("Frames"), self.steps, QLabel("Path"), self.mode, self.even):
            options.addWidget(w)
        options.addStretch(1)
        out = QHBoxLayout()
        out.addStretch(1)
        out.addWidget(self.edit_button)
        out.addWidget(self.scale)
        out.addWidget(self.boomerang)
        out.addWidget(self.export_button)
        left = QVBoxLayout()
        left.addLayout(ends, 1)
        left.addLayout(options)
        right = QVBoxLayout()
        right.addWidget(self.view, 1)
        right.addWidget(self.scrubber)
        right.addWidget(self.smoothness)
        right.addLayout(out)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def options(self) -> tuple[int, str, bool]:
        return self.steps.value(), self.mode.currentText(), self.even.isChecked()

    def _emit_options(self, *_: object) -> None:
        self.optionsChanged.emit(*self.options())

    # ------------------------------------------------------------------ frames
    def show_frames(self, result: Interpolated | None) -> None:
        self.result = result
        n = 0 if result is None else len(result.frames)
        self.scrubber.set_count(n)
        self.export_button.setEnabled(n > 0)
        self.edit_button.setEnabled(n > 0)
        if result is None:
            self.view.set_frame(None)
            self.smoothness.setText("")
            for slot in self.slots.values():
                slot.set_image(None)
            return
        self.slots["a"].set_image(result.frames[0])
        self.slots["b"].set_image(result.frames[-1])
        s = result.smoothness
        if s:
            verdict = "smooth" if s.get("ratio", 0) <= 2 else "uneven: try even steps"
            self.smoothness.setText(f"{n} frames · step max {s.get('max_step', 0):.1f}, mean {s.get('mean_step', 0):.1f} "
                                    f"(ratio {s.get('ratio', 0):.2f}, {verdict})")  # fmt: skip
        self.show_frame(self.scrubber.frame())

    def set_photo_open(self, open_: bool) -> None:
        text, tip = USE_FRAME[bool(open_)]
        self.edit_button.setText(text)
        self.edit_button.setToolTip(tip)

    def show_frame(self, k: int) -> None:
        if self.result is None or not len(self.result.frames):
            return
        k = int(np.clip(k, 0, len(self.result.frames) - 1))
        self.view.set_frame(Frame.from_array(np.ascontiguousarray(self.result.frames[k]), tag=k))

    def shown_frame(self) -> np.ndarray | None:
        return None if self.view.frame is None else self.view.frame.array

    def _export_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export interpolation", "interpolation.gif", ";;".join(EXPORT_FILTERS))
        if not path:
            return
        if not Path(path).suffix:
            path += EXPORT_FILTERS.get(chosen, ".gif")
        self.exportRequested.emit(path, self.scrubber.fps.value(), self.scale.value(), self.boomerang.isChecked())
