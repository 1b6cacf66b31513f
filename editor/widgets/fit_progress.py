"""The per-photo fit in the status bar: what it is doing, a progress bar and Stop while it runs;
"Fitted" (with how well, in the tooltip) once the photo renders with its fitted model."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


class FitProgress(QWidget):
    stopClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.bar = QProgressBar(maximumWidth=120, maximumHeight=14, textVisible=False)
        self.stop_button = QToolButton(text="Stop", autoRaise=True, toolTip="Stop fitting: keep the best fit so far")
        self.stop_button.clicked.connect(self.stopClicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.bar, self.stop_button):
            row.addWidget(w)
        self.clear()

    def running(self, on: bool) -> None:
        """The fit started (bar at 0) or its answer came (the bar goes)."""
        self.bar.setVisible(on)
        self.stop_button.setVisible(on)
        if on:
            self.bar.setValue(0)
            self.label.setText("Fitting the model to this face…")
            self.label.setToolTip("The reconstruction becomes this person; edits stay live meanwhile")
            self.setVisible(True)

    def show_progress(self, step: int, steps: int, psnr_db: float) -> None:
        self.bar.setMaximum(max(1, steps))
        self.bar.setValue(min(step, steps))
        # NaN: a cGAN's latent is still being refined, before the fit proper
        self.label.setText(f"Fitting to this face… {psnr_db:.1f} dB" if math.isfinite(psnr_db) else "Fitting: refining the latent…")

    def show_result(self, fitted: bool, text: str) -> None:
        self.running(False)
        self.label.setText("Fitted to this face" if fitted else "Not fitted")
        self.label.setToolTip(text)
        self.setVisible(True)

    def clear(self) -> None:
        self.running(False)
        self.label.setText("")
        self.setVisible(False)
