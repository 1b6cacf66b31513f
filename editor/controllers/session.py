"""Documents: session files, autosave, crash recovery and recipes.

- **Sessions** are the engine's versioned ``.lsession`` files (``SaveSession``/``LoadSession``):
  the photo (embedded), its face alignment and latent, the edit stack and the painted mask.
- **Autosave** writes the open photo's session every ``interval_s`` seconds, when something
  changed since the last one, to ``<data>/autosave/autosave-<pid>.lsession``. ``<data>`` is
  ``$LATENT_STUDIO_DATA_DIR`` or the platform's user data folder + ``latent-studio`` (the same
  folder the engine's platformdirs picks for user attributes on Linux and macOS).
- **Crash recovery**: each running editor holds ``autosave-<pid>.lock`` (a QLockFile: stale once
  its process is gone). A clean exit (:meth:`finish`) deletes the autosave and the lock; at the
  next start (:meth:`start`) an autosave whose lock is stale is a run that did not exit cleanly,
  and ``recoveryAvailable`` offers it (:meth:`restore` / :meth:`discard_recovery`).
- **Recipes**: the edit stack as JSON (``EditStack.to_json``), what ``latent-studio edit
  --recipe R.json`` applies to a folder of photos; loading one into the editor is undoable.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEventLoop, QLockFile, QObject, QStandardPaths, QTimer, Signal

from engine.protocol import (
    ErrorResponse,
    LoadSession,
    SaveSession,
    SessionLoaded,
    SessionSaved,
    read_recipe,
    recipe_json,
)
from engine.protocol.files import atomic_write, read_regular
from editor.client import EngineClient, Ticket
from editor.controllers.edit import EditController
from editor.controllers.history import HistoryController
from editor.controllers.mask import MaskModel
from editor.controllers.photo import PhotoController

ENV_DATA = "LATENT_STUDIO_DATA_DIR"
SESSION_SUFFIX = ".lsession"
RECIPE_SUFFIX = ".json"
DEFAULT_AUTOSAVE_S = 60.0
RECIPE_MAX_BYTES = 16 * 2**20  # a recipe is a few KB of JSON


def user_data_dir() -> Path:
    """``$LATENT_STUDIO_DATA_DIR``, else the platform's user data folder + ``latent-studio``."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base or Path.home() / ".local" / "share") / "latent-studio"


class SessionController(QObject):
    saved = Signal(str)  # a session file written by Save
    loaded = Signal(str, object)  # path, warnings (tuple of str)
    autosaved = Signal(str)
    recoveryAvailable = Signal(str)  # the autosave of a run that did not exit cleanly
    recoveryResolved = Signal()
    pathChanged = Signal(object)  # the document's session file, or None
    recipeSaved = Signal(str)
    recipeLabels = Signal(object)  # a conditional model's labels from an applied recipe (dict)
    failed = Signal(str)

    def __init__(self, client: EngineClient, edit: EditController, photo: PhotoController, mask: MaskModel,
                 history: HistoryController, parent: QObject | None = None, *, data_dir: str | Path | None = None,
                 interval_s: float = DEFAULT_AUTOSAVE_S) -> None:
        super().__init__(parent)
        self._client, self._edit, self._photo, self._mask, self._history = client, edit, photo, mask, history
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.interval_s = float(interval_s)
        self.path: Path | None = None
        self.loaded_labels: dict | None = None  # the edit labels of the session opened last (conditional models)
        self.recovery: Path | None = None
        self._recovery_lock: QLockFile | None = None
        self._lock: QLockFile | None = None
        self._autosaved_revision = -1
        self._autosave_in_flight: Ticket | None = None
        self._started = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.autosave_now)
        edit.documentChanged.connect(self._on_document_changed)

    # ------------------------------------------------------------------ places

    @property
    def autosave_dir(self) -> Path:
        return (self.data_dir or user_data_dir()) / "autosave"

    @property
    def autosave_path(self) -> Path:
        return self.autosave_dir / f"autosave-{os.getpid()}{SESSION_SUFFIX}"

    # ------------------------------------------------------------------ sessions

    def save(self, path: str | Path, then=None) -> Ticket | None:
        """Write the open photo's session to ``path`` (``.lsession`` added if missing);
        ``then(written)`` follows the engine's answer."""
        if not self._photo.active:
            self.failed.emit("Nothing to save yet: open a photo first")
            return None
        path = Path(path)
        if path.suffix.lower() != SESSION_SUFFIX:
            path = path.with_name(path.name + SESSION_SUFFIX)
        return self._submit_save(path, "save", then)

    @property
    def needs_saving(self) -> bool:
        """The running app (autosave started) has an open photo with changes not saved to a session."""
        return self._started and self._photo.active and not self._history.undo_stack.isClean()

    def save_and_wait(self, path: str | Path, timeout_ms: int = 60_000) -> bool:
        """Save and wait for the engine's answer (closing the window): True once it is written."""
        loop = QEventLoop()
        outcome: list[bool] = []

        def then(written: bool) -> None:
            outcome.append(written)
            loop.quit()

        if self.save(path, then) is None:
            return False
        QTimer.singleShot(timeout_ms, loop.quit)
        if not outcome:
            loop.exec()
        return bool(outcome and outcome[0])

    def open(self, path: str | Path) -> Ticket:
        path = Path(path)
        return self._client.call(LoadSession(path=str(path)), None, done=lambda loaded: self._on_loaded(loaded, path, "load"),
                                 failed=lambda error: self.failed.emit(f"Could not open the session: {error.message}"))

    # ------------------------------------------------------------------ autosave and recovery

    def start(self, interval_s: float | None = None) -> None:
        """Start-up: hold this run's lock, look for a crashed run's autosave, start autosaving."""
        if interval_s is not None:
            self.interval_s = float(interval_s)
        try:
            self.autosave_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.failed.emit(f"Autosave is off: cannot create {self.autosave_dir} ({exc.strerror})")
            return
        self._started = True
        self._lock = QLockFile(str(self._lock_path(self.autosave_path)))
        self._lock.setStaleLockTime(0)  # a lock is stale only when its process is gone
        if not self._lock.tryLock(0):
            self._lock = None
        self._find_recovery()
        self.set_interval(self.interval_s)

    def set_interval(self, seconds: float) -> None:
        self.interval_s = float(seconds)
        if self._started and self.interval_s > 0:
            self._timer.start(max(50, int(self.interval_s * 1000)))
        else:
            self._timer.stop()

    def autosave_now(self) -> bool:
        """Autosave if a photo is open and something changed since the last autosave."""
        in_flight = self._autosave_in_flight is not None and self._autosave_in_flight.pending
        if not self._started or not self._photo.active or in_flight:
            return False
        if self._history.revision == self._autosaved_revision:
            return False
        self._autosave_in_flight = self._submit_save(self.autosave_path, "autosave")
        return True

    def restore(self) -> Ticket | None:
        """Reopen the crashed run's autosave (the document is then unsaved: no session file)."""
        if self.recovery is None:
            return None
        path = self.recovery
        return self._client.call(LoadSession(path=str(path)), None, done=lambda loaded: self._on_loaded(loaded, path, "restore"),
                                 failed=self._on_restore_failed)

    def discard_recovery(self) -> None:
        self._drop_recovery()

    def finish(self) -> None:
        """A clean exit: this run's autosave and lock go (nothing to recover next time). A crashed
        run's autosave that was neither restored nor discarded stays, to be offered again."""
        self._timer.stop()
        self._drop_recovery(delete=False)
        if self._started:
            self.autosave_path.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        self._started = False

    # ------------------------------------------------------------------ recipes

    def save_recipe(self, path: str | Path) -> Path | None:
        """Write the current edit stack as a recipe (``latent-studio edit --recipe``)."""
        if self._edit.edit is None:
            self.failed.emit("Nothing to save yet: open a photo and edit it first")
            return None
        path = Path(path)
        if path.suffix.lower() != RECIPE_SUFFIX:
            path = path.with_name(path.name + RECIPE_SUFFIX)
        try:
            atomic_write(path, recipe_json(self._edit.stack, self._edit_labels()) + "\n")
        except OSError as exc:
            self.failed.emit(f"{path.name}: cannot write the recipe ({exc})")
            return None
        self.recipeSaved.emit(str(path))
        return path

    def apply_recipe(self, path: str | Path) -> bool:
        """Make a recipe the current edit (one undoable step)."""
        path = Path(path)
        try:
            stack, labels = read_recipe(read_regular(path, "recipe", max_bytes=RECIPE_MAX_BYTES).decode("utf-8"))
        except OSError as exc:  # missing, a folder, a FIFO (refused before the read could block), too big
            self.failed.emit(f"{path.name}: cannot read the recipe ({str(exc).splitlines()[0].removeprefix(f'{path.name}: ')})")
            return False
        except UnicodeDecodeError:
            self.failed.emit(f"{path.name}: cannot read the recipe (not UTF-8 text)")
            return False
        except ValueError as exc:
            self.failed.emit(f"{path.name}: {exc}")
            return False
        if self._edit.edit is None:
            self.failed.emit("Open a photo first, then apply a recipe to it")
            return False
        applied = self._history.apply_stack(stack, f"Apply recipe {path.name}")
        if labels:
            self.recipeLabels.emit(labels)  # the label controls make it a step of its own
        return applied

    # ------------------------------------------------------------------ internals

    def _edit_labels(self) -> dict | None:
        """A conditional model's labels when the user changed them (None: the photo's own)."""
        return self._edit.labels if self._edit.labels != self._edit.base_labels else None

    def _submit_save(self, path: Path, kind: str, then=None) -> Ticket:
        request = SaveSession(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), embed_photo=True,
                              overwrite=True, labels=self._edit_labels())
        revision = self._history.revision

        def failed(error: ErrorResponse) -> None:
            title = "Autosave failed" if kind == "autosave" else "Could not save the session"
            self.failed.emit(f"{title}: {error.message}")
            if then is not None:
                then(False)

        def done(saved: SessionSaved) -> None:
            self._on_saved(saved, kind, revision)
            if then is not None:
                then(True)

        return self._client.call(request, None, done=done, failed=failed)

    def _on_saved(self, response: SessionSaved, kind: str, revision: int) -> None:
        if kind == "autosave":
            self._autosaved_revision = revision
            self.autosaved.emit(response.path)
        else:
            self.path = Path(response.path)
            self._history.undo_stack.setClean()
            self.pathChanged.emit(self.path)
            self.saved.emit(response.path)

    def _on_restore_failed(self, error: ErrorResponse) -> None:
        # the autosave may be the only copy of that work: keep it and the offer
        self.failed.emit(f"Could not restore the autosave: {error.message} (it is kept until you discard it)")

    def _on_loaded(self, response: SessionLoaded, path: Path, kind: str) -> None:
        self._adopt(response, path)
        if kind == "restore":
            self.path = None
            self._autosaved_revision = -1  # autosave this run's copy soon
            self._drop_recovery()
        else:
            self.path = path
            self._history.undo_stack.setClean()
        self.pathChanged.emit(self.path)
        self.loaded.emit(str(path), tuple(response.warnings))

    def _adopt(self, loaded: SessionLoaded, path: Path) -> None:
        opened = loaded.opened
        name = Path(opened.source).name if opened.source else path.stem
        self._photo.close()
        self._mask.reset((opened.photo.shape[1], opened.photo.shape[0]))
        if loaded.mask is not None:
            self._mask.set_array(loaded.mask)
        self._photo.adopt(opened, loaded.edits, name, opened_by=LoadSession(path=str(path)))  # replayed after a restart
        self.loaded_labels = loaded.labels  # a conditional model's edit labels: the label controls put them on
        self._history.clear()

    def _on_document_changed(self) -> None:
        if self.path is not None:
            self.path = None
            self.pathChanged.emit(None)

    @staticmethod
    def _lock_path(session: Path) -> Path:
        return session.with_suffix(".lock")

    def _find_recovery(self) -> None:
        own = self.autosave_path
        candidates = sorted((p for p in self.autosave_dir.glob(f"autosave-*{SESSION_SUFFIX}") if p != own),
                            key=lambda p: p.stat().st_mtime, reverse=True)
        for path in candidates:
            lock = QLockFile(str(self._lock_path(path)))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):  # its run is gone (a live run holds its lock)
                self.recovery, self._recovery_lock = path, lock
                self.recoveryAvailable.emit(str(path))
                return

    def _drop_recovery(self, delete: bool = True) -> None:
        if self.recovery is not None and delete:
            self.recovery.unlink(missing_ok=True)
        if self._recovery_lock is not None:
            self._recovery_lock.unlock()
        if self.recovery is not None or self._recovery_lock is not None:
            self.recovery, self._recovery_lock = None, None
            self.recoveryResolved.emit()
