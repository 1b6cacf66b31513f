"""The realism gauge's reading is its own label beside the bar: nothing overlaps, at any reading."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel, QMainWindow

from editor.widgets.realism_gauge import RealismGauge
from engine.protocol import RealismCalibration, RealismScore

CALIBRATION = RealismCalibration(score=np.linspace(0, 1, 11), units="bits/dim", n=500, data="held-out faces", warn_below_percentile=2.0)


def score(percentile: float, plausible: bool) -> RealismScore:
    return RealismScore(request_id=1, score=np.array([0.3]), percentile=np.array([percentile]), plausible=np.array([plausible]),
                        units="bits/dim", calibrated=True, warn_below_percentile=2.0, details={})


@pytest.mark.parametrize("width", [1280, 800])
def test_label_and_bar_do_not_overlap_in_the_status_bar(qtbot, width):
    window = QMainWindow()
    window.setCentralWidget(QLabel("canvas"))
    gauge = RealismGauge()
    window.statusBar().addPermanentWidget(gauge)
    window.statusBar().showMessage("Decoded in 3.1 ms · a long message beside the permanent widgets")
    qtbot.addWidget(window)
    window.resize(width, 400)
    window.show()
    qtbot.waitExposed(window)
    gauge.set_calibration(CALIBRATION)
    title_width = None
    for reading in (score(0.4, False), score(55.0, True), score(99.0, True), score(1.5, False), None):
        if reading is None:
            gauge.show_error("boom")
        else:
            gauge.show_score(reading)
        qtbot.waitUntil(lambda: gauge.layout().geometry().width() > 0)
        window.layout().activate()
        assert not gauge.bar.isTextVisible()  # no text drawn inside the bar, where the fill covered it
        parts = {"title": gauge.title.geometry(), "bar": gauge.bar.geometry(), "reading": gauge.reading.geometry()}
        assert not parts["title"].intersects(parts["bar"]), parts
        assert not parts["reading"].intersects(parts["bar"]), parts
        assert not parts["title"].intersects(parts["reading"]), parts
        text = gauge.reading.text()
        assert text == gauge.bar.format() and text in ("< 1st percentile", "55th percentile", "99th percentile", "2nd percentile", "error")
        assert gauge.reading.width() >= gauge.reading.fontMetrics().horizontalAdvance(text)  # the whole reading shows
        assert gauge.rect().contains(parts["reading"]) and gauge.rect().contains(parts["bar"])
        title_width = title_width or parts["title"].width()
        assert parts["title"].width() == title_width  # the warning sign does not shift the bar
