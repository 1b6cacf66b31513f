"""Work the GUI thread must not wait for: decoding photo files, writing settings, scaling big images.

The monkey test (tests/editor/test_monkey.py, issue 9) measures the event loop's longest stall.
These were its causes:

- **Reading a photo**: a big or hostile file (a 12 MP JPEG, a truncated 30 MB PNG) took the
  window away for as long as Qt's decoder ran. :class:`ImageFileReader` decodes on one pool
  thread with ``editor.imaging.read_image`` (same checks, same one-line errors) and answers on
  the GUI thread; the newest request wins: a read not started yet is dropped, an answer to a
  superseded one is ignored.
- **Writing settings**: ``QSettings`` writes its file (``QSaveFile``: write, fsync, rename) from
  the event loop of the thread that owns the object; with other processes writing to the same
  disk that took 15–230 ms (measured), and moving ``QSettings.sync`` to another thread does not
  help: PySide6 holds the GIL through it (a 1.7 s stall measured). :func:`store_setting` keeps
  the values in memory and one writer thread writes them, with Python's file calls, to a JSON
  file beside the settings file; :func:`read_setting` reads them back (falling back to the
  ``QSettings`` value stored before). :func:`flush_settings` waits for the writer (the
  application does at quit).
- **Minifying a big photo for display** (:class:`PyramidBuilder`): see there.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QSettings, QThreadPool, Signal

from editor.imaging import Frame, ImageLoadError, read_image
from engine.protocol.files import atomic_write


def _one_line(path: Path, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{path.name}: cannot read ({type(exc).__name__}: {text[0] if text else 'no message'})"


def _emit(signal, *args) -> None:
    """Emit from a pool thread; the receiver may be gone (its window closed while we worked)."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted": nobody is waiting for the answer
        pass


class ImageFileReader(QObject):
    """Decodes photo files on a worker thread.

    :meth:`read` returns a ticket; exactly one of ``finished(ticket, path, array)`` (H×W×3 uint8,
    EXIF orientation applied) or ``failed(ticket, path, message)`` follows on the GUI thread.
    :meth:`read_all` reads several files as one request and answers once, with
    ``allRead(ticket, results)``: one ``(path, array | None, message | None)`` per file, in order.
    With ``newest_wins`` (the default) a newer request or :meth:`cancel` supersedes the older
    ones (a read not started yet is dropped, an answer to a superseded one is never delivered);
    without it every request is answered, in the order made.
    """

    finished = Signal(int, object, object)  # ticket, Path, np.ndarray
    failed = Signal(int, object, str)  # ticket, Path, one line for a person
    allRead = Signal(int, object)  # ticket, list[(Path, np.ndarray | None, str | None)]
    _done = Signal(int, bool, object)  # worker -> GUI thread: ticket, several?, results

    def __init__(self, parent: QObject | None = None, newest_wins: bool = True) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._newest_wins = newest_wins
        self._ticket = 0
        self._cancelled = 0  # requests with a ticket up to this one are not answered
        self._done.connect(self._deliver)

    @property
    def ticket(self) -> int:
        """The newest request's ticket (0: none yet)."""
        return self._ticket

    def read(self, path: str | Path) -> int:
        return self._start([Path(path)], several=False)

    def read_all(self, paths) -> int:
        return self._start([Path(p) for p in paths], several=True)

    def cancel(self) -> None:
        """Forget every request made so far: no answer to any of them will be delivered."""
        self._cancelled = self._ticket
        self._pool.clear()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def _start(self, paths: list[Path], several: bool) -> int:
        if self._newest_wins:
            self.cancel()  # older requests are superseded
        self._ticket += 1
        ticket = self._ticket
        self._pool.start(lambda: self._run(ticket, paths, several))
        return ticket

    def _wanted(self, ticket: int) -> bool:
        return ticket > self._cancelled

    def _run(self, ticket: int, paths: list[Path], several: bool) -> None:  # pool thread: no widgets, only the signal
        results = []
        for path in paths:
            if not self._wanted(ticket):
                return  # superseded while queued or while reading
            try:
                results.append((path, read_image(path)[0], None))
            except ImageLoadError as exc:
                results.append((path, None, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a decoder failure is an answer, never a silent thread death
                results.append((path, None, _one_line(path, exc)))
        _emit(self._done, ticket, several, results)

    def _deliver(self, ticket: int, several: bool, results) -> None:  # GUI thread
        if not self._wanted(ticket):
            return  # a newer read (or a cancel) won
        if several:
            self.allRead.emit(ticket, results)
            return
        path, array, message = results[0]
        if message is not None:
            self.failed.emit(ticket, path, message)
        else:
            self.finished.emit(ticket, path, array)


# ---------------------------------------------------------------------- settings

_lock = threading.Lock()
_stores: dict[Path, dict[str, Any]] = {}  # side file -> its keys and values (the newest, in memory)
_dirty: set[Path] = set()  # side files with values not yet on disk
_writer: QThreadPool | None = None


def _writer_pool() -> QThreadPool:
    global _writer
    if _writer is None:
        _writer = QThreadPool()
        _writer.setMaxThreadCount(1)
        _writer.setExpiryTimeout(-1)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(flush_settings)
    return _writer


def side_file(settings: QSettings) -> Path | None:
    """The JSON file beside ``settings``' own file that :func:`store_setting` writes (None for
    settings without a file path, e.g. Windows' registry: those are set directly)."""
    name = settings.fileName()
    if not name or settings.format() not in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        return None
    path = Path(name)
    return path.with_name(path.name + ".json") if path.is_absolute() else None


def _store(path: Path) -> dict[str, Any]:  # under _lock
    if path not in _stores:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        _stores[path] = loaded if isinstance(loaded, dict) else {}
    return _stores[path]


def read_setting(settings: QSettings, key: str, default: Any = None) -> Any:
    """A value :func:`store_setting` stored (else what ``settings`` holds: values from before)."""
    path = side_file(settings)
    if path is not None:
        with _lock:
            store = _store(path)
            if key in store:
                return store[key]
    return settings.value(key, default)


def store_setting(settings: QSettings, key: str, value: Any) -> None:
    """Remember a JSON-able ``value`` under ``key``: at once in memory, on disk by the writer
    thread, in the JSON side file of ``settings`` (:func:`side_file`). Not ``QSettings.sync``:
    PySide6 holds the GIL through it, so even on another thread its fsync stalled the window —
    1.7 s in the monkey test while other jobs kept the disk busy. Python's file calls release it."""
    path = side_file(settings)
    if path is None:
        settings.setValue(key, value)
        return
    with _lock:
        _store(path)[key] = value
        idle = not _dirty
        _dirty.add(path)
    if idle:
        _writer_pool().start(_write_dirty)


def _write_dirty() -> None:  # writer thread: Python I/O only (the GIL is free while it waits on the disk)
    with _lock:
        jobs = [(path, json.dumps(_stores[path], indent=1, sort_keys=True)) for path in _dirty]
        _dirty.clear()
    for path, text in jobs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text)  # a crash leaves the old file or the new one
        except OSError as exc:
            print(f"latent-studio: cannot save settings to {path}: {exc}", file=sys.stderr)


def flush_settings(timeout_ms: int = 5000) -> bool:
    """Wait until every stored setting is on disk. True if it finished in time."""
    if _writer is None:
        return True
    return _writer.waitForDone(timeout_ms)


# ---------------------------------------------------------------------- display copies of big images

PYRAMID_MIN_SIDE = 128  # the smallest level of an image pyramid


def halve(array: np.ndarray) -> np.ndarray:
    """H×W×C uint8 → ⌊H/2⌋×⌊W/2⌋×C, each pixel the rounded mean of a 2×2 block (a box filter).

    numpy ufuncs on strided views: they run without the GIL, unlike Qt's image scaling in
    PySide6, which holds it (a worker thread doing ``QImage.scaled`` stalls the GUI thread too).
    """
    h, w = array.shape[0] // 2 * 2, array.shape[1] // 2 * 2
    a = array[:h, :w]
    total = a[0::2, 0::2].astype(np.uint16)
    total += a[1::2, 0::2]
    total += a[0::2, 1::2]
    total += a[1::2, 1::2]
    total += 2
    total >>= 2
    return total.astype(np.uint8)


def pyramid(array: np.ndarray, min_side: int = PYRAMID_MIN_SIDE) -> list[np.ndarray]:
    """Box-filtered halvings of ``array`` (largest first) down to ``min_side`` px on the short side."""
    levels: list[np.ndarray] = []
    level = array
    while min(level.shape[:2]) >= 2 * min_side:
        level = halve(level)
        levels.append(level)
    return levels


class PyramidBuilder(QObject):
    """Image pyramids of big photos, built on a worker thread, for drawing them minified.

    Smoothly minifying a 12 MP photo with Qt (``QImage.scaled``) took 40–80 ms in every paint
    after a new photo, zoom or resize; with a pyramid, a paint draws the smallest level that is
    still at least the target size, bilinearly (≤ 2× minification: a few ms, no aliasing).
    :meth:`request` queues one build per ``key`` (newest wins); ``ready(key, stamp, levels)``
    answers on the GUI thread with a list of :class:`~editor.imaging.Frame`, largest first.
    """

    ready = Signal(str, object, object)  # key, stamp, list[Frame]
    _done = Signal(str, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._wanted: dict[str, object] = {}  # key -> stamp of the newest request
        self._done.connect(self._deliver)

    def request(self, key: str, stamp: object, array: np.ndarray) -> None:
        if self._wanted.get(key) == stamp:
            return  # already on its way
        self._wanted[key] = stamp

        def run() -> None:  # pool thread: numpy only, no Qt image work
            if self._wanted.get(key) == stamp:
                _emit(self._done, key, stamp, pyramid(array))

        self._pool.start(run)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def _deliver(self, key: str, stamp: object, levels: list[np.ndarray]) -> None:
        if self._wanted.get(key) == stamp:
            del self._wanted[key]
            self.ready.emit(key, stamp, [Frame.from_array(level) for level in levels])
