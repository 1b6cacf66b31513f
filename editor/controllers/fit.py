"""The per-photo fit in the editor (issue 18): tune the model to the open photo's face in the
background, so that the reconstruction is this person and edits are this person's.

When a photo, face or model is newly opened (and the "fit automatically" setting is on), the
fit starts by itself: ``FitPhoto`` slices of about :data:`SLICE_S` seconds, one after the other on
the "fit" lane, so renders of the edit go in between and the sliders stay live; while a slider
is dragged or a mask stroke painted the next slice waits, so every frame of the drag is computed
at once. Each answer reports progress; Stop asks the engine to end now with the best weights so far. When the fit
ends well the photo is adopted with its fitted reconstruction and pivot (the edit stack and the
undo history are kept, the edit re-renders with the fitted model), and the document keeps the
fit as a ``RestoreFit`` for an engine that restarts. Another photo, face or model abandons it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ErrorResponse, FitPhoto, FitStatus, PhotoOpened, RestoreFit
from editor.client import EngineClient

FIT_LANE = "fit"
SLICE_S = 0.3  # engine time per slice: the longest a render waits behind the fit
STEPS = 200  # the CLI's default (engine.fit.FitConfig)


class FitController(QObject):
    runningChanged = Signal(bool)
    progress = Signal(int, int, float)  # step, steps, PSNR (dB)
    finished = Signal(str)  # one line: how it ended
    failed = Signal(str)
    adopted = Signal(object)  # the user's label override (dict) to put back on, or None

    def __init__(self, client: EngineClient, photo, edit, parent: QObject | None = None, *, auto: bool = True,
                 steps: int = STEPS) -> None:
        super().__init__(parent)
        self._client, self._photo, self._edit = client, photo, edit
        self.auto = auto  # start by itself on every newly opened face
        self.steps = int(steps)
        self.last: FitStatus | None = None  # the newest answer
        self.fitted = False  # the open photo renders with a fitted model
        self._active = False  # a fit is under way (a slice on its way, or one waiting for a drag to end)
        self._held = False  # a drag or a stroke is under way: no new slice
        self._waiting = False  # the next slice waits for the drag to end
        photo.newFace.connect(self._on_new_face)
        photo.opened.connect(lambda opened: self.abandon() if opened is None else None)
        edit.documentChanged.connect(self.abandon)
        edit.draggingChanged.connect(self.hold)

    @property
    def running(self) -> bool:
        return self._active

    def start(self) -> bool:
        """Fit the open photo's face (again); False when there is none."""
        if not self._photo.active or self._edit.is_sample:
            self.failed.emit("Fitting needs an open photo (a sample is the model's own)")
            return False
        self.abandon()
        self.fitted = False
        self._active = True
        self._send(FitPhoto(start=True, steps=self.steps, seconds=SLICE_S))
        self.runningChanged.emit(True)
        return True

    def hold(self, held: bool) -> None:
        """A slider drag or a mask stroke began (True) or ended: the fit pauses between slices."""
        self._held = bool(held)
        if not held and self._waiting and self._active:
            self._waiting = False
            self._send(FitPhoto(seconds=SLICE_S))

    def stop(self) -> None:
        """End now: the engine keeps the best weights so far (if they beat the unfitted model)."""
        if self.running:
            self._waiting = False
            self._send(FitPhoto(stop=True))  # replaces the slice still waiting on the lane

    def abandon(self) -> None:
        """Another photo, face or model: forget the fit in progress (the engine drops it too)."""
        was = self.running
        self._client.cancel(FIT_LANE)  # the slice on its way, if any: its answer never comes
        self._active, self._waiting = False, False
        self.fitted = False
        if was:
            self.runningChanged.emit(False)

    # ------------------------------------------------------------------ answers

    def _send(self, request: FitPhoto) -> None:
        self._client.call(request, FIT_LANE, done=self._on_status, failed=self._on_failed)

    def _on_new_face(self, opened: PhotoOpened) -> None:
        self.abandon()
        self.fitted = bool(opened.fitted)  # a session restores its fit
        if self.auto and not opened.fitted and not self._edit.is_sample:
            self.start()

    def _on_failed(self, error: ErrorResponse) -> None:
        self._active, self._waiting = False, False
        self.runningChanged.emit(False)
        self.failed.emit(f"Fitting stopped: {error.message}")

    def _on_status(self, status: FitStatus) -> None:
        self.last = status
        self.progress.emit(status.step, status.steps, status.psnr_db)
        if not status.done:
            if self._held:
                self._waiting = True
            else:
                self._send(FitPhoto(seconds=SLICE_S))
            return
        self._active = False
        self.runningChanged.emit(False)
        if status.fitted and status.opened is not None:
            self._adopt(status)
        self.finished.emit(summary(status))

    def _adopt(self, status: FitStatus) -> None:
        """The photo renders with the fitted model now: its pivot and reconstruction, same edit."""
        opened = status.opened
        override = self._edit.labels if self._edit.labels != self._edit.base_labels else None
        self._photo.adopt(opened, self._edit.stack, self._edit.name)
        doc = self._edit.document
        if doc is not None:
            doc.fit = RestoreFit(weights=status.weights, facts=dict(status.facts), z=opened.z, labels=dict(opened.labels))
        self.fitted = True
        self.adopted.emit(override)


def summary(status: FitStatus) -> str:
    """One line for the status bar: how a fit ended."""
    if status.fitted:
        how = "stopped early: " if status.stopped else ""
        return (f"Fitted the model to this face ({how}{status.psnr_before:.1f} → {status.psnr_db:.1f} dB, "
                f"{status.step} steps, {status.seconds:.1f} s)")
    if status.message:
        return f"The fit was not kept: {status.message}"
    return "The fit was not kept: it did not reproduce the face better than the model already does"
