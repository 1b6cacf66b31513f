"""Your own attributes: tag examples as *with* / *without*, name the attribute, get a direction.

Examples come from the current edit, from samples of the grid, or from photo files (decoded off
the GUI thread, encoded by the engine, queued). ``create`` sends the tagged latents; the engine
computes the direction (mean difference), saves it in the user's data folder and the attribute
panel picks it up at once. The saved attributes can be listed, deleted, exported to a small file and imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.protocol import (
    CreateUserAttribute,
    DeleteUserAttribute,
    Encode,
    Encoded,
    ExportUserAttribute,
    ImportUserAttribute,
    ListUserAttributes,
    ModelInfo,
    UserAttributeList,
    UserAttributeSaved,
)
from editor.background import ImageFileReader
from editor.client import EngineClient, Ticket
from editor.controllers.attributes import AttributeController
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController

SIDES = ("with", "without")
MIN_PER_SIDE = 2  # the engine's minimum; 5–20 examples in all work well
SUGGESTED = (5, 20)


@dataclass(frozen=True)
class Example:
    image: np.ndarray  # what to show: the sample, the current edit, or a photo's aligned face crop
    z: np.ndarray  # D
    label: str


class UserAttributeController(QObject):
    examplesChanged = Signal()
    listed = Signal(object)  # tuple[UserAttributeSummary, ...]
    created = Signal(object)  # UserAttributeSaved (create or import)
    exported = Signal(str)
    failed = Signal(str)
    info = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 attributes: AttributeController, parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._client = client
        self._model = model
        self._edit = edit
        self._sampling = sampling
        self._attributes = attributes
        self.examples: dict[str, list[Example]] = {s: [] for s in SIDES}
        self.saved: tuple = ()
        self.folder = ""
        self._encodes: list[Ticket] = []  # photo files being encoded (dropped by clear)
        self._reader = ImageFileReader(self, newest_wins=False)  # every batch of files is added, in order
        self._reader_sides: dict[int, str] = {}  # read ticket -> side
        self._reader.allRead.connect(self._on_files_read)
        model.changed.connect(self._on_model_changed)

    # ------------------------------------------------------------------ tagging
    def counts(self) -> tuple[int, int]:
        return len(self.examples["with"]), len(self.examples["without"])

    def can_create(self) -> bool:
        return min(self.counts()) >= MIN_PER_SIDE

    def add(self, side: str, z: np.ndarray, image: np.ndarray, label: str) -> bool:
        if side not in SIDES:
            raise ValueError(f"side must be 'with' or 'without', not {side!r}")
        z = np.asarray(z, np.float32).reshape(-1)
        info = self._model.info
        if info is not None and z.size != info.latent_dim:
            self.failed.emit(f"{label}: a {z.size}-d latent does not fit the model's {info.latent_dim}-d latent")
            return False
        if any(np.array_equal(e.z, z) for e in self.examples[side]):
            return False  # already tagged
        other = "without" if side == "with" else "with"
        self.examples[other] = [e for e in self.examples[other] if not np.array_equal(e.z, z)]  # one side only
        self.examples[side].append(Example(np.ascontiguousarray(image, np.uint8), z, label))
        self.examplesChanged.emit()
        return True

    def add_current(self, side: str) -> bool:
        """The image being edited, as it is now (its edited latent)."""
        if self._edit.edit is None or self._edit.edited is None:
            self.failed.emit("Nothing to tag yet: open a photo or pick a sample first")
            return False
        return self.add(side, self._edit.edited_latent(), self._edit.edited.array, self._edit.name or "current image")

    def add_samples(self, side: str, indices) -> int:
        result = self._sampling.result
        if result is None:
            self.failed.emit("Draw samples first (Sample tab)")
            return 0
        added = 0
        for i in indices:
            i = int(i)
            if 0 <= i < len(result.z):
                added += self.add(side, result.z[i], result.images[i], f"sample {i} (seed {self._sampling.seed})")
        return added

    def add_files(self, side: str, paths) -> int:
        """Photo files: decoded on a worker thread, then encoded by the engine (queued); they
        appear when encoded. Returns how many files will be read."""
        if side not in SIDES:
            raise ValueError(f"side must be 'with' or 'without', not {side!r}")
        paths = [Path(p) for p in paths]
        if paths:
            self._reader_sides[self._reader.read_all(paths)] = side
        return len(paths)

    def _on_files_read(self, ticket: int, results) -> None:
        side = self._reader_sides.pop(ticket, None)
        if side is None:
            return
        for path, array, message in results:
            if message is not None:
                self.failed.emit(message)  # a bad file is skipped; the others are added
                continue
            self._encodes.append(self._client.call(
                Encode(image=array, detector="auto", name=path.name), None,  # the face aligned as in the editor
                done=lambda encoded, side=side, label=path.name: self._on_encoded(side, label, encoded),
                failed=lambda error, name=path.name: self.failed.emit(f"{name}: could not encode it ({error.message})")))

    def remove(self, side: str, indices) -> None:
        drop = {int(i) for i in indices}
        self.examples[side] = [e for i, e in enumerate(self.examples[side]) if i not in drop]
        self.examplesChanged.emit()

    def clear(self) -> None:
        self.examples = {s: [] for s in SIDES}
        for ticket in self._encodes:
            ticket.cancel()
        self._encodes.clear()
        self._reader.cancel()  # files still being read are dropped too
        self._reader_sides.clear()
        self.examplesChanged.emit()

    # ------------------------------------------------------------------ saved attributes
    def create(self, name: str, overwrite: bool = False) -> Ticket | None:
        name = name.strip()
        if not name:
            self.failed.emit("Name the attribute first")
            return None
        n_with, n_without = self.counts()
        if not self.can_create():
            self.failed.emit(f"Tag at least {MIN_PER_SIDE} examples on each side ({n_with} with, {n_without} without so far)")
            return None
        request = CreateUserAttribute(
            name=name, with_latents=np.stack([e.z for e in self.examples["with"]]),
            without_latents=np.stack([e.z for e in self.examples["without"]]), overwrite=overwrite,
        )  # fmt: skip
        return self._send(request, lambda saved: self._on_saved("Created", saved), "Could not create the attribute")

    def refresh(self) -> Ticket:
        return self._send(ListUserAttributes(), self._on_listed, "Could not list your attributes")

    def delete(self, name: str) -> Ticket:
        return self._send(DeleteUserAttribute(name=name), lambda listed: self._on_deleted(name, listed),
                          "Could not delete the attribute")

    def export(self, name: str, path: str | Path, overwrite: bool = False) -> Ticket:
        return self._send(ExportUserAttribute(name=name, path=str(path), overwrite=overwrite),
                          lambda written: self.exported.emit(written.path), "Could not export the attribute")

    def import_file(self, path: str | Path, name: str = "", overwrite: bool = False) -> Ticket:
        return self._send(ImportUserAttribute(path=str(path), name=name, overwrite=overwrite),
                          lambda saved: self._on_saved("Imported", saved), "Could not import the attribute")

    def _send(self, request, done, title: str) -> Ticket:
        return self._client.call(request, None, done=done,  # queued: never dropped
                                 failed=lambda error: self.failed.emit(f"{title}: {error.message}"))

    # ------------------------------------------------------------------ answers
    def _on_encoded(self, side: str, label: str, encoded: Encoded) -> None:
        self._encodes = [t for t in self._encodes if t.pending]
        self.add(side, encoded.z, encoded.aligned, label)  # what the model saw: the face, aligned

    def _on_saved(self, what: str, response: UserAttributeSaved) -> None:
        a = response.attribute
        text = f"{what} attribute “{a.name}” ({a.n_with} with, {a.n_without} without"
        text += f", leave-one-out accuracy {100 * a.loo_accuracy:.0f}%)" if a.loo_accuracy is not None else ")"
        self.info.emit(text + (f" — {response.warning}" if response.warning else ""))
        self.created.emit(response)
        self._attributes.refresh()  # its slider appears at once
        self.refresh()

    def _on_listed(self, response: UserAttributeList) -> None:
        self.saved, self.folder = tuple(response.attributes), response.folder
        self.listed.emit(self.saved)

    def _on_deleted(self, name: str, response: UserAttributeList) -> None:
        self._on_listed(response)
        self.info.emit(f"Deleted attribute “{name}”")
        self._attributes.refresh()

    def _on_model_changed(self, info: ModelInfo) -> None:
        if any(self.examples.values()) or any(t.pending for t in self._encodes):
            self.clear()  # tagged latents of another latent space mean nothing in this one
        self.refresh()
