"""Status bar readout: model, device, decode time and frames per second, busy state."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar
from superqt.utils import qthrottled

from engine.protocol import ModelInfo


class StatusPanel:
    """Permanent labels in a QStatusBar; transient messages use the bar itself."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.model = QLabel("no model")
        self.device = QLabel("")
        self.perf = QLabel("decode – ms · – fps")
        self.perf.setToolTip("Decode: time the engine spent on the last decode.\n"
                             "FPS: edited frames shown per second, over the last 2 s.")
        self.busy = QLabel("")
        for label in (self.busy, self.perf, self.device, self.model):
            bar.addPermanentWidget(label)
        self.decode_ms: float | None = None
        self._frames: deque[float] = deque(maxlen=240)
        self._refresh = qthrottled(self._render, timeout=250, parent=bar)
        self._idle = QTimer(bar, interval=1000)  # lets the FPS fall to 0 when nothing is drawn
        self._idle.timeout.connect(self._render)
        self._idle.start()

    def set_loading(self, source: str) -> None:
        self.model.setText(f"loading {source} …")

    def set_model(self, info: ModelInfo | None) -> None:
        if info is None:
            self.model.setText("no model")
            self.device.setText("")
            return
        self.model.setText(f"{info.name} · {info.family} · {info.image_size}px · {info.latent_dim}-d")
        self.model.setToolTip(info.description)
        self.device.setText(info.device)

    def set_busy(self, busy: bool) -> None:
        self.busy.setText("● working" if busy else "")

    def on_timing(self, kind: str, ms: float) -> None:
        if kind in ("Decode", "RenderEdit"):  # a photo renders its edits with RenderEdit
            self.decode_ms = ms
            self._refresh()

    def on_frame(self, *_: object) -> None:
        self._frames.append(time.perf_counter())
        self._refresh()

    def fps(self) -> float:
        now = time.perf_counter()
        recent = [t for t in self._frames if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def _render(self) -> None:
        ms = "–" if self.decode_ms is None else f"{self.decode_ms:.1f}"
        self.perf.setText(f"decode {ms} ms · {self.fps():.0f} fps")
