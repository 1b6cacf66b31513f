"""The realism gauge: where the current edit falls among held-out data (percentile, 0–100), with
a soft warning colour and an explanation when it is below the plausible threshold. Hidden when
the model's checkpoint has no realism calibration."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from engine.protocol import LATENT_RMS_LIMIT, RealismCalibration, RealismScore

WARNING_STYLE = "QProgressBar { background: #fde3c8; color: #7a3e00; border: 1px solid #d9822b; } QProgressBar::chunk { background: #d9822b; }"


class RealismGauge(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Realism")
        self.title.setMinimumWidth(self.title.fontMetrics().horizontalAdvance("Realism ⚠") + 2)  # no jump when it warns
        # the reading is a label beside a thin bar, not text drawn inside the bar, where the
        # filled part ran over it (brown on orange when warning)
        self.bar = QProgressBar(minimum=0, maximum=100, value=0, textVisible=False)
        self.bar.setFixedSize(90, 10)
        self.reading = QLabel("–")
        self.reading.setMinimumWidth(self.reading.fontMetrics().horizontalAdvance("< 1st percentile") + 4)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addStretch(1)  # extra width goes to the left, not between the title and its bar
        layout.addWidget(self.title)
        layout.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.reading)
        self.set_text("–")
        self.calibration: RealismCalibration | None = None
        self.percentile: float | None = None  # the number shown (None: nothing yet)
        self.warning = False
        self.set_calibration(None)

    def set_calibration(self, calibration: RealismCalibration | None) -> None:
        """A new model: hidden without a calibration, else waiting for the first score."""
        self.calibration = calibration
        self.setVisible(calibration is not None)
        self.clear()

    def clear(self) -> None:
        self.percentile = None
        self._set_warning(False)
        self.bar.setValue(0)
        self.set_text("–")
        cal = self.calibration
        self.setToolTip("" if cal is None else f"How typical the edited image is among {cal.n} reference images ({cal.data}).")

    def show_score(self, score: RealismScore) -> None:
        if self.calibration is None or not score.calibrated or len(score.percentile) == 0:
            self.clear()
            return
        pct, value, plausible = float(score.percentile[0]), float(score.score[0]), bool(score.plausible[0])
        if math.isnan(pct):
            self.clear()
            return
        self.percentile = pct
        self.bar.setValue(int(round(pct)))
        self.set_text(f"{ordinal(round(pct))} percentile" if pct >= 1 else "< 1st percentile")
        self._set_warning(not plausible)
        cal = self.calibration
        lines = [f"Realism: percentile {pct:.1f} among {cal.n} reference images ({cal.data}).",
                 f"Score {value:.3f} — {score.units}."]
        rms, tail = score.details.get("latent_rms"), score.details.get("latent_percentile")
        far_out = False
        if rms is not None and len(rms):
            lines.append(f"Latent: {float(rms[0]):.2f}× the prior's typical radius "
                         f"({float(tail[0]):.2g} % of its draws lie farther out).")
            far_out = float(rms[0]) > LATENT_RMS_LIMIT
        if not plausible:
            why = (f"the latent is beyond {LATENT_RMS_LIMIT:g}× the typical radius, where the generator was never trained" if far_out
                   else f"less typical than {100 - score.warn_below_percentile:.0f} % of the reference set: the edit has left the region the model knows")
            lines.insert(0, f"Implausible: {why}; expect artefacts.")
        self.setToolTip("\n".join(lines))

    def show_error(self, message: str) -> None:
        self.clear()
        self.set_text("error")
        self.setToolTip(f"The realism gauge failed: {message}")

    def set_text(self, text: str) -> None:
        """The reading beside the bar (kept as the bar's format too, for accessibility tools)."""
        self.bar.setFormat(text)
        self.reading.setText(text)

    def _set_warning(self, on: bool) -> None:
        self.warning = on
        self.bar.setStyleSheet(WARNING_STYLE if on else "")
        self.title.setText("Realism ⚠" if on else "Realism")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st …"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
