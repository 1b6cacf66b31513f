"""EngineClient: the editor's only door to the engine, and its one request path.

``call(request, lane=…, done=…, failed=…)`` queues a request and returns a :class:`Ticket`; the
answer comes back on the GUI thread to ``done(response)``, or to ``failed(error)`` as an
:class:`~engine.protocol.ErrorResponse` (errors are data: the caller, who knows what it asked
for, words the message). A ticket can be cancelled; then neither callback fires.

One worker ``QThread`` owns the engine (built *inside* that thread, so importing torch never
blocks the window) and serves a :class:`~editor.mailbox.Mailbox`: within a lane only the
newest pending request is computed (latest wins: a replaced request is *superseded* and its
callbacks never fire), while queued requests (lane None: LoadModel, OpenPhoto, exports) are
never dropped. A request cancelled or superseded while the engine computes it is *abandoned*:
the engine stops at its next check point (engine.protocol.still_wanted; a full-resolution render
between bands) instead of finishing an answer nobody takes. If the worker thread dies it is restarted, and what the new, empty engine needs
(the model, the open photo) is asked of the functions registered with :meth:`on_restart` and
sent before anything else.

Widgets are never touched from the worker: it only emits signals (queued connections).
"""

from __future__ import annotations

import functools
import time
import traceback
from collections import Counter
from typing import Any, Callable, Iterable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal

from engine.protocol import Abandoned, Decode, ErrorResponse, Request, Response, Sample, answer_wanted
from editor.engine_factory import create_engine
from editor.mailbox import Entry, Mailbox

EngineFactory = Callable[[], Any]
Done = Callable[[Any], None]  # takes the answer to its request: the Response subclass that request gets
Failed = Callable[[ErrorResponse], None]
Replay = Callable[[], Iterable[Request]]

AUTO: Any = object()  # call(lane=AUTO): pick the lane from the request type


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


class Ticket:
    """One request on its way: ``cancel()`` it, or ask whether it is still ``pending``."""

    __slots__ = ("request", "lane", "intermediate", "state", "_done", "_failed", "_client")

    def __init__(self, client: "EngineClient", request: Request, lane: str | None, done: Done | None, failed: Failed | None,
                 intermediate: bool = False):
        self.request, self.lane, self.intermediate = request, lane, intermediate
        self.state = "pending"  # then "answered", "failed", "cancelled" or "superseded"
        self._done, self._failed, self._client = done, failed, client

    @property
    def request_id(self) -> int:
        return self.request.request_id

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    def cancel(self) -> None:
        """Neither callback will fire; a request not yet started is not computed at all."""
        if self.pending:
            self._client._drop(self, "cancelled")

    def __repr__(self) -> str:
        return f"Ticket({type(self.request).__name__} #{self.request_id}, {self.state})"


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
                with answer_wanted(functools.partial(self._mailbox.wanted, entry)):
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

    failed = Signal(str)  # one line for a person: an error no caller took (no ``failed`` callback, a replay)
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
        self._tickets: dict[int, Ticket] = {}  # request id -> ticket not yet answered
        self._replays: list[Replay] = []
        self._restarts_left = max_restarts
        self._shutting_down = False
        self.counts: Counter[str] = Counter()  # submitted, replaced, stale, abandoned, delivered, errors, restarts, crashes
        self._worker = self._start_worker()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ public API

    def call(self, request: Request, lane: str | None = AUTO, done: Done | None = None, failed: Failed | None = None,
             *, intermediate: bool = False) -> Ticket:
        """Send ``request``; ``done(response)`` or ``failed(error)`` follows on the GUI thread.

        On a named lane it supersedes the older requests there (latest wins): one still waiting
        is not computed, and their callbacks never fire. ``intermediate``: this request's answer
        is still wanted when it was already being computed as a newer one came (a slider drag
        shows the frames computed along the way instead of none until the slider rests)."""
        if lane is AUTO:
            lane = default_lane(request)
        ticket = Ticket(self, request, lane, done, failed, intermediate)
        if self._shutting_down:  # the app is quitting: the panels that asked may be gone already
            ticket.state = "cancelled"
            return ticket
        self.counts["submitted"] += 1
        self._track(ticket)
        replaced = self._mailbox.put(request, lane)
        if replaced is not None:
            self.counts["replaced"] += 1
            old = self._tickets.get(replaced.request.request_id)
            if old is not None:
                self._drop(old, "superseded", in_mailbox=False)
        if lane is not None:
            for old in [t for t in self._tickets.values() if t.lane == lane and t is not ticket and not t.intermediate]:
                self._drop(old, "superseded")
        return ticket

    def cancel(self, lane: str) -> None:
        """Forget ``lane``: drop its pending request and any answer still in flight."""
        for ticket in [t for t in self._tickets.values() if t.lane == lane]:
            self._drop(ticket, "cancelled")

    def on_restart(self, replay: Replay) -> None:
        """After a worker restart, send ``replay()``'s requests first (in registration order):
        the new engine starts empty and needs e.g. the model and the open photo again."""
        self._replays.append(replay)

    @property
    def busy(self) -> bool:
        return bool(self._tickets)

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

    # ------------------------------------------------------------------ tickets

    def _track(self, ticket: Ticket) -> None:
        was = self.busy
        self._tickets[ticket.request_id] = ticket
        if not was:
            self.busyChanged.emit(True)

    def _untrack(self, ticket: Ticket) -> None:
        was = self.busy
        self._tickets.pop(ticket.request_id, None)
        if was and not self.busy:
            self.busyChanged.emit(False)

    def _drop(self, ticket: Ticket, state: str, in_mailbox: bool = True) -> None:
        ticket.state = state
        if in_mailbox:
            self._mailbox.remove(ticket.request)
        self._untrack(ticket)

    def _finish(self, ticket: Ticket, response: Response) -> None:
        """Hand ``response`` to the ticket's callback; an error nobody takes goes to ``failed``."""
        self._untrack(ticket)
        self.counts["delivered"] += 1
        if isinstance(response, ErrorResponse):
            ticket.state = "failed"
            self.counts["errors"] += 1
            if ticket._failed is not None:
                ticket._failed(response)
            else:
                self.failed.emit(f"{type(ticket.request).__name__} failed: {response.message}")
        else:
            ticket.state = "answered"
            if ticket._done is not None:
                ticket._done(response)

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
        if self._shutting_down:
            return
        if entry is None:
            return
        ticket = self._tickets.get(entry.request.request_id)
        if ticket is not None:
            self._finish(ticket, _error(entry.request, f"Engine worker stopped ({reason}); restarting it", "WorkerCrashed"))

    def _on_worker_stopped(self, worker: _Worker) -> None:
        worker.wait(2000)
        if worker is not self._worker or self._shutting_down:
            return
        worker.deleteLater()
        if self._restarts_left <= 0:
            self._shutting_down = True
            self._mailbox.close()
            for entry in self._mailbox.drain():
                ticket = self._tickets.get(entry.request.request_id)
                if ticket is not None:
                    self._finish(ticket, _error(entry.request, "Engine worker keeps stopping; gave up", "WorkerCrashed"))
            return
        self._restarts_left -= 1
        self.counts["restarts"] += 1
        self._replay()
        self._worker = self._start_worker()
        self.workerRestarted.emit("engine worker stopped unexpectedly and was restarted")

    def _replay(self) -> None:
        """Put what the new engine needs in front of everything still waiting, in order."""
        requests = [r for replay in self._replays for r in replay()]
        for request in reversed(requests):
            ticket = Ticket(self, request, None, None, lambda e: self.failed.emit(f"After the engine restarted: {e.message}"))
            self._track(ticket)
            self._mailbox.put(request, None, front=True)

    # ------------------------------------------------------------------ delivery (GUI thread)

    def _on_answered(self, entry: Entry, response: Response, ms: float) -> None:
        if self._shutting_down:  # the panels that asked may be gone already
            return
        self.timing.emit(type(entry.request).__name__, ms)
        ticket = self._tickets.get(entry.request.request_id)
        if ticket is None or not ticket.pending:
            self.counts["stale"] += 1  # cancelled or superseded while it was computed
            if isinstance(response, ErrorResponse) and response.kind == Abandoned.__name__:
                self.counts["abandoned"] += 1  # ... and the engine stopped computing it
            return
        self._finish(ticket, response)
