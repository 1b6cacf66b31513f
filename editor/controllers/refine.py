"""Refining the open photo's inversion in the background (issue 6): ``Refine`` chunks of a few
optimisation steps, one after the other on the "refine" lane; each better result becomes the
photo's latent (``adopt``), so the view, the edit and the next chunk start from it. Stop at any
time: the next chunk is simply not sent. The edit stack is kept; the labels the user set are
handed back (``adopted``) so the label controls can put them on again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ErrorResponse, Refine, Refined
from editor.client import Ticket

REFINE_LANE = "refine"
CHUNKS = 10
STEPS = 20


class RefineController(QObject):
    runningChanged = Signal(bool)
    progress = Signal(str)  # one line for the status bar
    adopted = Signal(object)  # the user's label override (dict) to put back on, or None
    finished = Signal(str)
    failed = Signal(str)

    def __init__(self, client, photo, edit, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._photo = photo
        self._edit = edit
        self.chunks, self.steps = CHUNKS, STEPS
        self.done = 0
        self.start_psnr: float | None = None
        self.start_loss: float | None = None
        self.last: Refined | None = None
        self._chunk: Ticket | None = None  # the chunk on its way
        self._stopping = False
        edit.documentChanged.connect(self._abandon)
        edit.encodedChanged.connect(lambda encoded: self._abandon() if encoded is None else None)  # another model

    @property
    def running(self) -> bool:
        return self._chunk is not None and not self._stopping

    def start(self, chunks: int = CHUNKS, steps: int = STEPS) -> bool:
        if not self._photo.active or self._edit.edit is None:
            self.failed.emit("Refining needs an open photo (a sample is already exact)")
            return False
        self.chunks, self.steps = int(chunks), int(steps)
        self.done, self.start_psnr, self.start_loss, self.last = 0, None, None, None
        self._stopping = False
        self._send()
        self.runningChanged.emit(True)
        return True

    def stop(self) -> None:
        """No further chunk; the one in flight still lands (the engine adopts it either way)."""
        if self.running:
            self._stopping = True
            self.runningChanged.emit(False)
            self.finished.emit(self._summary("Refining stopped"))

    def _abandon(self) -> None:
        """Another photo or model: forget the refinement altogether."""
        was = self.running
        if self._chunk is not None:
            self._chunk.cancel()
        self._chunk, self._stopping = None, False
        if was:
            self.runningChanged.emit(False)

    def _send(self) -> None:
        self._chunk = self._client.call(Refine(steps=self.steps, adopt=True), REFINE_LANE, done=self._on_refined,
                                        failed=self._on_failed)

    def _on_failed(self, error: ErrorResponse) -> None:
        was = self.running
        self._chunk, self._stopping = None, False
        if was:
            self.runningChanged.emit(False)
            self.failed.emit(f"Refining stopped: {error.message}")

    def _on_refined(self, response: Refined) -> None:
        self.done += 1
        self.last = response
        if self.start_psnr is None:
            self.start_psnr, self.start_loss = response.start_psnr_db, response.start_loss
        if response.opened is not None:
            override = self._edit.labels if self._edit.labels != self._edit.base_labels else None
            self._photo.adopt(response.opened, self._edit.stack, self._edit.name)
            self.adopted.emit(override)
        if self._stopping:
            self._chunk, self._stopping = None, False
            return
        self.progress.emit(self._summary("Refining"))
        if self.done < self.chunks:
            self._send()
        else:
            self._chunk = None
            self.runningChanged.emit(False)
            self.finished.emit(self._summary("Refined"))

    def _summary(self, what: str) -> str:
        if self.last is None or self.start_psnr is None:
            return what
        r = self.last
        return (f"{what}: PSNR {self.start_psnr:.2f} → {r.psnr_db:.2f} dB after {self.done * self.steps} steps "
                f"({r.ms_per_step:.0f} ms/step)")
