"""EngineClient: the editor's only door to the engine.

One worker ``QThread`` owns the engine (built *inside* that thread, so importing torch never
blocks the window) and serves a :class:`~editor.mailbox.Mailbox`: within a lane only the
newest pending request is computed (latest wins), while queued requests (LoadModel, Encode)
are never dropped. Answers come back as Qt signals on the GUI thread, tagged with their
request ids; an answer older than one already delivered on its lane, or cancelled, is
dropped as stale. An engine exception or :class:`ErrorResponse` becomes the ``error``
signal; if the worker thread dies it is restarted and the last model is reloaded.

Widgets are never touched from the worker: it only emits signals (queued connections).
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal

from engine.protocol import (
    Decode,
    Decoded,
    Encoded,
    ErrorResponse,
    LoadModel,
    ModelInfo,
    Request,
    Response,
    Sample,
    Sampled,
    create_engine,
)
from editor.mailbox import Entry, Mailbox

EngineFactory = Callable[[], Any]

AUTO: Any = object()  # submit(lane=AUTO): pick the lane from the request type
_REPLAY = "__replay__"  # internal lane: reload the model after a worker restart


def default_lane(request: Request) -> str | None:
    """Decode and Sample coalesce (latest wins); everything else queues."""
    if isinstance(request, Decode):
        return "decode"
    if isinstance(request, Sample):
        return "sample"
    return None


def _error(request: Request, message: str, kind: str = "error") -> ErrorResponse:
    return ErrorResponse(request_id=request.request_id, message=message, kind=kind)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Worker(QThread):
    """Takes requests from the mailbox and answers them; never touches a widget."""

    answered = Signal(object, object, float)  # Entry, Response, ms spent in handle()
    crashed = Signal(object, str)  # Entry in flight (or None), reason
    stopped = Signal(object)  # this worker, as run() returns

    def __init__(self, factory: EngineFactory, mailbox: Mailbox, parent: QObject | None = None):
        super().__init__(parent)
        self._factory = factory
        self._mailbox = mailbox
        self._engine: Any = None

    def run(self) -> None:  # worker thread
        entry: Entry | None = None
        try:
            while True:
                entry = self._mailbox.take()
                if entry is None:
                    return
                t0 = time.perf_counter()
                response = self._handle(entry.request)
                self.answered.emit(entry, response, (time.perf_counter() - t0) * 1e3)
                entry = None
        except BaseException as exc:  # noqa: BLE001 - the thread is going down: report, let the client restart it
            self.crashed.emit(entry, _one_line(exc))
        finally:
            self.stopped.emit(self)

    def _handle(self, request: Request) -> Response:
        if self._engine is None:
            try:
                self._engine = self._factory()
            except Exception as exc:  # noqa: BLE001 - an engine that cannot start is an answer too
                traceback.print_exc()
                return _error(request, f"Engine failed to start: {_one_line(exc)}", type(exc).__name__)
        try:
            response = self._engine.handle(request)
        except Exception as exc:  # noqa: BLE001 - Engine.handle should not raise; if it does, it is data
            return _error(request, _one_line(exc), type(exc).__name__)
        if not isinstance(response, Response):
            return _error(request, f"engine returned {type(response).__name__}, not a Response", "ProtocolError")
        return response


class EngineClient(QObject):
    """Asynchronous, latest-wins access to an engine, for the GUI thread."""

    modelInfo = Signal(object)  # ModelInfo (LoadModel, GetLatentStats)
    encoded = Signal(object)  # Encoded
    decoded = Signal(str, object)  # lane, Decoded
    sampled = Signal(object)  # Sampled
    answered = Signal(str, object, object)  # lane ("" when queued), request, response: every delivered answer
    error = Signal(object, object)  # request, ErrorResponse
    timing = Signal(str, float)  # request type name, ms the worker spent in handle()
    busyChanged = Signal(bool)
    workerRestarted = Signal(str)  # reason

    def __init__(
        self,
        engine_factory: EngineFactory | None = None,
        parent: QObject | None = None,
        *,
        max_restarts: int = 10,
    ) -> None:
        super().__init__(parent)
        self._factory: EngineFactory = engine_factory or create_engine
        self._mailbox = Mailbox()
        self._outstanding: set[int] = set()
        self._delivered: dict[str, int] = {}  # lane -> newest request id delivered
        self._barrier: dict[str, int] = {}  # lane -> answers to ids below this are stale
        self._last_submitted: dict[str, int] = {}
        self._last_load: LoadModel | None = None
        self._restarts_left = max_restarts
        self._shutting_down = False
        self.counts: Counter[str] = Counter()  # submitted, replaced, stale, delivered, errors, restarts
        self._worker = self._start_worker()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ public API

    def submit(self, request: Request, lane: str | None = AUTO) -> int:
        """Queue ``request``; returns its id. On a named lane it replaces the pending one."""
        if lane is AUTO:
            lane = default_lane(request)
        rid = request.request_id
        if self._shutting_down:
            self._deliver_error(request, "Engine client is shut down", "ShutDown")
            return rid
        self.counts["submitted"] += 1
        if lane is not None:
            self._last_submitted[lane] = rid
        self._set_outstanding(add=rid)
        replaced = self._mailbox.put(request, lane)
        if replaced is not None:
            self.counts["replaced"] += 1
            self._set_outstanding(remove=replaced.request.request_id)
        return rid

    def cancel(self, lane: str) -> None:
        """Forget ``lane``: drop its pending request and any answer still in flight."""
        for entry in self._mailbox.cancel(lane):
            self._set_outstanding(remove=entry.request.request_id)
        newest = self._last_submitted.get(lane)
        if newest is not None:
            self._barrier[lane] = newest + 1

    @property
    def busy(self) -> bool:
        return bool(self._outstanding)

    @property
    def pending(self) -> int:
        return len(self._mailbox)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker after its current request. True if it stopped in time."""
        if self._shutting_down:
            return not self._worker.isRunning()
        self._shutting_down = True
        self._mailbox.close()
        return self._worker.wait(timeout_ms)

    # ------------------------------------------------------------------ worker

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._factory, self._mailbox, self)
        worker.answered.connect(self._on_answered, Qt.ConnectionType.QueuedConnection)
        worker.crashed.connect(self._on_crashed, Qt.ConnectionType.QueuedConnection)
        worker.stopped.connect(self._on_worker_stopped, Qt.ConnectionType.QueuedConnection)
        worker.start()
        return worker

    def _on_crashed(self, entry: Entry | None, reason: str) -> None:
        self.counts["crashes"] += 1
        if entry is not None:
            self._deliver_error(entry.request, f"Engine worker stopped ({reason}); restarting it", "WorkerCrashed")

    def _on_worker_stopped(self, worker: _Worker) -> None:
        worker.wait(2000)
        if worker is not self._worker or self._shutting_down:
            return
        worker.deleteLater()
        if self._restarts_left <= 0:
            self._shutting_down = True
            self._mailbox.close()
            for entry in self._mailbox.drain():
                self._deliver_error(entry.request, "Engine worker keeps stopping; gave up", "WorkerCrashed")
            return
        self._restarts_left -= 1
        self.counts["restarts"] += 1
        if self._last_load is not None:  # the new engine starts empty: reload the model first
            self._mailbox.put(LoadModel(source=self._last_load.source, device=self._last_load.device), _REPLAY, front=True)
        self._worker = self._start_worker()
        self.workerRestarted.emit("engine worker stopped unexpectedly and was restarted")

    # ------------------------------------------------------------------ delivery (GUI thread)

    def _on_answered(self, entry: Entry, response: Response, ms: float) -> None:
        request, lane = entry.request, entry.lane
        rid = request.request_id
        self._set_outstanding(remove=rid)
        self.timing.emit(type(request).__name__, ms)
        if lane == _REPLAY:
            if isinstance(response, ErrorResponse):
                self._deliver_error(request, f"Could not reload the model: {response.message}", response.kind)
            return
        if lane is not None:
            if rid < self._barrier.get(lane, 0) or rid < self._delivered.get(lane, 0):
                self.counts["stale"] += 1
                return
            self._delivered[lane] = rid
        self.counts["delivered"] += 1
        if isinstance(response, ErrorResponse):
            self.counts["errors"] += 1
            self.error.emit(request, response)
        elif isinstance(response, ModelInfo):
            if isinstance(request, LoadModel):
                self._last_load = request
            self.modelInfo.emit(response)
        elif isinstance(response, Encoded):
            self.encoded.emit(response)
        elif isinstance(response, Decoded):
            self.decoded.emit(lane or "", response)
        elif isinstance(response, Sampled):
            self.sampled.emit(response)
        self.answered.emit(lane or "", request, response)

    def _deliver_error(self, request: Request, message: str, kind: str) -> None:
        self.counts["errors"] += 1
        self._set_outstanding(remove=request.request_id)
        response = _error(request, message, kind)
        self.error.emit(request, response)
        self.answered.emit("", request, response)

    def _set_outstanding(self, add: int | None = None, remove: int | None = None) -> None:
        was = bool(self._outstanding)
        if add is not None:
            self._outstanding.add(add)
        if remove is not None:
            self._outstanding.discard(remove)
        if bool(self._outstanding) != was:
            self.busyChanged.emit(bool(self._outstanding))
