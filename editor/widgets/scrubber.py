"""A scrub bar for a sequence of frames: drag to a frame, or play/pause (a QTimer) at some fps."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

PLAY, PAUSE = "▶", "⏸"


class Scrubber(QWidget):
    frameChanged = Signal(int)
    playingChanged = Signal(bool)

    def __init__(self, fps: float = 12.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = 0
        self.play_button = QToolButton(text=PLAY, checkable=True, toolTip="Play / pause (loops)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self._on_value)
        self.position = QLabel("–")
        self.position.setMinimumWidth(48)
        self.fps = QDoubleSpinBox(minimum=0.5, maximum=60.0, value=fps, singleStep=1.0, decimals=1, suffix=" fps",
                                  toolTip="Playback speed (and the exported animation's)")  # fmt: skip
        self.fps.valueChanged.connect(self._on_fps)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.step)
        self._on_fps(fps)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position)
        layout.addWidget(self.fps)
        self.set_count(0)

    # ------------------------------------------------------------------ state
    def frame(self) -> int:
        return int(self.slider.value())

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def set_count(self, n: int) -> None:
        """A new sequence of ``n`` frames; the position is kept where it still exists."""
        self.count = max(0, int(n))
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(0, self.count - 1))
        self.slider.setEnabled(self.count > 1)
        self.play_button.setEnabled(self.count > 1)
        if self.count <= 1:
            self.pause()
        self._label()

    def set_frame(self, k: int) -> None:
        if self.count:
            self.slider.setValue(int(k) % self.count)

    def step(self) -> None:
        """The next frame, looping at the end (the timer's tick)."""
        if self.count:
            self.set_frame(self.frame() + 1)

    def play(self) -> None:
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    # ------------------------------------------------------------------ slots
    def _on_play_toggled(self, on: bool) -> None:
        if on and self.count > 1:
            self.timer.start()
        else:
            self.timer.stop()
            if on:
                with QSignalBlocker(self.play_button):
                    self.play_button.setChecked(False)
        self.play_button.setText(PAUSE if self.timer.isActive() else PLAY)
        self.playingChanged.emit(self.timer.isActive())

    def _on_fps(self, fps: float) -> None:
        self.timer.setInterval(max(1, round(1000.0 / max(float(fps), 0.1))))

    def _on_value(self, k: int) -> None:
        self._label()
        self.frameChanged.emit(int(k))

    def _label(self) -> None:
        self.position.setText(f"{self.frame() + 1}/{self.count}" if self.count else "–")
