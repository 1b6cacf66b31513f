"""The realism gauge's data: after each full-quality frame of the edit, ask the engine how
plausible the edited image is (``Realism`` of the edited latent with the edit's labels).

Never on the slider path: nothing is asked while a slider is held (previews), the request waits
for a quiet moment (debounced) and goes on its own latest-wins lane, so only the newest edit is
scored. Models whose checkpoint has no realism calibration are not asked at all (``available``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from engine.protocol import ModelInfo, Realism, RealismScore
from editor.client import Ticket

REALISM_LANE = "realism"
QUIET_MS = 200


class RealismController(QObject):
    availableChanged = Signal(object)  # RealismCalibration | None
    scored = Signal(object)  # RealismScore of the current edit
    failed = Signal(str)  # one line: the gauge could not be computed
    cleared = Signal()  # nothing to score (no photo or sample)

    def __init__(self, client, model, edit, k: int = 16, quiet_ms: int = QUIET_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.k = k
        self.calibration = None
        self.last: RealismScore | None = None
        self.scoring: Ticket | None = None  # the newest reading asked for
        self.requests = 0  # Realism requests sent (tests check the slider path stays clear)
        self._request_later = qdebounced(self.request, timeout=quiet_ms, parent=self)
        model.changed.connect(self._on_model_changed)
        edit.editedChanged.connect(self._on_frame)
        edit.encodedChanged.connect(lambda encoded: self._on_cleared() if encoded is None else None)

    @property
    def available(self) -> bool:
        return self.calibration is not None

    def request(self) -> bool:
        """Score the current edit now (False: nothing to score)."""
        edit = self._edit
        if not self.available or edit.edit is None or edit.dragging:
            return False
        try:
            z = edit.edited_latent()
        except ValueError as exc:
            self.failed.emit(str(exc))
            return False
        self.scoring = self._client.call(Realism(z=np.asarray(z, np.float32), labels=edit.labels, k=self.k), REALISM_LANE,
                                         done=self._on_scored,
                                         failed=lambda error: self.failed.emit(f"The realism gauge failed: {error.message}"))
        self.requests += 1
        return True

    def hold(self) -> None:
        """A slider is being grabbed: drop a pending reading so it cannot delay the drag's frames."""
        self._client.cancel(REALISM_LANE)

    def _on_frame(self, frame) -> None:
        if self.available and not self._edit.dragging:
            self._request_later()

    def _on_scored(self, score: RealismScore) -> None:
        self.last = score
        self.scored.emit(score)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(REALISM_LANE)
        self.calibration = getattr(info, "realism", None)
        self.last = None
        self.availableChanged.emit(self.calibration)

    def _on_cleared(self) -> None:
        self._client.cancel(REALISM_LANE)
        self.last = None
        self.cleared.emit()
