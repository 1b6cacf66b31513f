"""Slots that hold a :class:`~engine.protocol.LatentTerm`: the operands of arithmetic and the ends
of an interpolation. No widgets here: a slot is filled from the current edit, from samples of the
sampling grid, from image files (decoded off the GUI thread, encoded by the engine) or from a
labelled group.

A slot of one image file shows what the model will see, not the file: the engine aligns its face
(``Encode`` with the face finder, as the term itself is encoded) and the slot shows that crop.

A slot filled from the current edit *follows* it: when the edit changes, the slot's latent is
updated and ``changed`` fires again, so a result built on it stays live.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.protocol import Encode, LatentTerm
from editor.background import ImageFileReader
from editor.client import Ticket
from editor.controllers.edit import EditController
from editor.controllers.photo_apply import apply_latent, applies_to_photo
from editor.controllers.sampling import SamplingController

MAX_FILES = 64  # images in one term chosen in a file dialog


@dataclass(frozen=True)
class Slot:
    term: LatentTerm
    label: str
    preview: np.ndarray | None = None  # S×S×3 (or any H×W×3) to show before the engine answers
    follows_edit: bool = False
    aligned: np.ndarray | None = None  # one image file: the S×S×3 crop the model encodes, once aligned
    note: str = ""  # why there is nothing to show (e.g. no face found)


class TermSlots(QObject):
    changed = Signal(str, object)  # key, Slot | None
    failed = Signal(str)

    def __init__(self, keys: tuple[str, ...], edit: EditController, sampling: SamplingController, parent: QObject | None = None,
                 client=None, lane: str = "terms") -> None:  # fmt: skip
        super().__init__(parent)
        self.keys = keys
        self.slots: dict[str, Slot | None] = {k: None for k in keys}
        self._edit = edit
        self._sampling = sampling
        self._client = client  # None: image files are shown as read (no engine to align them)
        self._lane = lane
        self._readers: dict[str, ImageFileReader] = {}  # per slot: the newest choice of files wins
        for key in keys:
            reader = self._readers[key] = ImageFileReader(self)
            reader.allRead.connect(lambda _ticket, results, k=key: self._on_files_read(k, results))
        edit.editedChanged.connect(self._on_edit_changed)

    # ------------------------------------------------------------------ filling
    def set(self, key: str, slot: Slot | None) -> None:
        """The user's new choice for ``key``: files still being read for it no longer count."""
        if key not in self.slots:
            raise KeyError(key)
        self._readers[key].cancel()
        self._put(key, slot)

    def _put(self, key: str, slot: Slot | None) -> None:
        self.slots[key] = slot
        self.changed.emit(key, slot)

    def clear(self, key: str | None = None) -> None:
        for k in (self.keys if key is None else (key,)):
            self.set(k, None)

    def set_current(self, key: str) -> bool:
        """The current edit (its edited latent); the slot follows later edits."""
        z = self._edit_latent()
        if z is None:
            self.failed.emit("Nothing to use yet: open a photo or pick a sample first")
            return False
        frame = self._edit.edited
        self.set(key, Slot(LatentTerm(latents=z, label=self._edit.name or "current edit"), f"current edit ({self._edit.name})" if self._edit.name else "current edit",
                           None if frame is None else frame.array, follows_edit=True))  # fmt: skip
        return True

    def set_latent(self, key: str, z: np.ndarray, label: str, preview: np.ndarray | None = None) -> None:
        self.set(key, Slot(LatentTerm(latents=np.asarray(z, np.float32), label=label), label, preview))

    def set_samples(self, key: str, indices) -> bool:
        """Samples of the current grid (their mean when several)."""
        result = self._sampling.result
        idx = [int(i) for i in indices]
        if result is None or not idx or not all(0 <= i < len(result.z) for i in idx):
            self.failed.emit("Draw samples first (Sample tab), then pick one or more")
            return False
        label = f"sample {idx[0]} (seed {self._sampling.seed})" if len(idx) == 1 else f"{len(idx)} samples (seed {self._sampling.seed})"
        preview = result.images[idx[0]] if len(idx) == 1 else None
        self.set(key, Slot(LatentTerm(latents=np.asarray(result.z)[idx], label=label), label, preview))
        return True

    def set_files(self, key: str, paths) -> bool:
        """Image files (their mean latent when several): decoded on a worker thread (a dialog may
        pick 64 big photos), then the slot is filled and the engine encodes them. False: nothing to read."""
        if key not in self.slots:
            raise KeyError(key)
        paths = [Path(p) for p in paths][:MAX_FILES]
        if not paths:
            return False
        self._readers[key].read_all(paths)
        return True

    def _on_files_read(self, key: str, results) -> None:
        message = next((m for _, _, m in results if m is not None), None)
        if message is not None:
            self.failed.emit(message)  # one bad file: the slot is left as it was
            return
        paths, images = [p for p, _, _ in results], [a for _, a, _ in results]
        label = paths[0].name if len(paths) == 1 else f"{len(paths)} images"
        aligning = self._client is not None and len(images) == 1
        self._put(key, Slot(LatentTerm(images=tuple(images), label=label), label, images[0] if len(images) == 1 and not aligning else None))
        if aligning:
            self.align(key)

    def align(self, key: str) -> Ticket | None:
        """Ask the engine for the crop the model sees of the slot's one image (its face aligned
        like an opened photo; an image at the model's size as it is); the slot shows it when it
        comes. No face: the engine's one line goes to ``failed`` (the term's request says it too)."""
        slot = self.slots[key]
        if self._client is None or slot is None or len(slot.term.images) != 1:
            return None
        return self._client.call(Encode(image=slot.term.images[0], detector="auto", name=slot.label), f"{self._lane}-{key}",
                                 done=lambda encoded: self._on_aligned(key, slot.term, encoded.aligned),
                                 failed=lambda error: self._on_aligned(key, slot.term, None, error))  # fmt: skip

    def _on_aligned(self, key: str, term: LatentTerm, aligned: np.ndarray | None, error=None) -> None:
        slot = self.slots[key]
        if slot is None or slot.term is not term:
            return  # another choice since
        note = "" if error is None else "no face found" if error.kind == "NoFaceError" else "cannot be used"
        self._put(key, replace(slot, aligned=None if aligned is None else np.asarray(aligned), note=note))
        if error is not None:
            self.failed.emit(error.message)

    def align_all(self) -> None:
        """Another model (another crop size): align the image slots again."""
        for key in self.keys:
            self.align(key)

    def set_group(self, key: str, group: str, data: str = "") -> None:
        """A labelled group: ``NAME=1`` / ``NAME=-1`` of a user attribute, or conditions on a data set."""
        group = group.strip()
        label = f"{group} ({Path(data.partition(':')[2] or data).name})" if data else group
        self.set(key, Slot(LatentTerm(group=group, data=data.strip()), label))  # the engine describes the group

    def forget_latents(self) -> None:
        """Empty the slots that hold latents (another model's latent space); files and groups stay."""
        for key, slot in self.slots.items():
            if slot is not None and slot.term.latents is not None:
                self._put(key, None)  # files still being read for it are kept: the new model encodes them

    # ------------------------------------------------------------------ reading
    def ready(self) -> bool:
        return all(self.slots[k] is not None for k in self.keys)

    def terms(self) -> dict[str, LatentTerm]:
        return {k: s.term for k, s in self.slots.items() if s is not None}

    def _edit_latent(self) -> np.ndarray | None:
        if self._edit.edit is None:
            return None
        return self._edit.edited_latent().astype(np.float32)

    def _on_edit_changed(self, frame) -> None:
        z = self._edit_latent()
        if z is None:
            return
        for key, slot in self.slots.items():
            if slot is not None and slot.follows_edit:
                old = slot.term.latents
                if old is not None and np.array_equal(np.asarray(old).reshape(-1), z):
                    continue
                self.slots[key] = replace(slot, term=replace(slot.term, latents=z), preview=None if frame is None else frame.array)
                self.changed.emit(key, self.slots[key])


class LiveTermsController(QObject):
    """Term slots that drive one engine request on their own lane: whenever the slots are all
    filled (or a slot that follows the edit sees it change) the request is sent again, newest
    wins; an emptied slot or another model clears the result. Subclasses name the lane and the
    title of its failures, build the request from the terms and publish the result."""

    failed = Signal(str)
    photoOpen = Signal(bool)  # a result would go onto an open photo (True) or be edited like a sample
    lane = ""
    failure_title = "Failed"

    def __init__(self, keys: tuple[str, ...], client, model, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.slots = TermSlots(keys, edit, sampling, self, client=client, lane=f"{self.lane}-slot")
        self.slots.changed.connect(self._on_slot_changed)
        self.slots.failed.connect(self.failed)
        self.result = None
        self.computing: Ticket | None = None  # the newest request
        self._sent: dict[str, LatentTerm] = {}  # the terms of the newest request
        model.changed.connect(self._on_model_changed)
        edit.encodedChanged.connect(lambda encoded: self.photoOpen.emit(self.applies_to_photo))

    def build_request(self, terms: dict[str, LatentTerm]):
        raise NotImplementedError

    def publish(self, result) -> None:
        """Emit the subclass's result signal (None: no result)."""
        raise NotImplementedError

    @property
    def up_to_date(self) -> bool:
        """The result shown answers the newest request (none is on its way)."""
        return self.computing is None or not self.computing.pending

    def compute(self) -> Ticket | None:
        if not self.slots.ready():
            self._client.cancel(self.lane)
            if self.result is not None:
                self._set_result(None)
            return None
        self._sent = self.slots.terms()
        self.computing = self._client.call(self.build_request(self._sent), self.lane, done=self._set_result,
                                           failed=lambda error: self.failed.emit(f"{self.failure_title}: {error.message}"))
        return self.computing

    def _on_slot_changed(self, key: str, slot: Slot | None) -> None:
        if slot is not None and slot.term is self._sent.get(key):
            return  # only what the slot shows changed (its aligned crop came)
        self.compute()

    def _set_result(self, result) -> None:
        self.result = result
        self.publish(result)

    def _on_model_changed(self, info) -> None:
        self._client.cancel(self.lane)
        self._set_result(None)
        self.slots.forget_latents()  # files and groups are encoded again by the new model
        self.slots.align_all()
        self.compute()

    # ------------------------------------------------------------------ on the open photo
    @property
    def applies_to_photo(self) -> bool:
        """A photo (not a sample) is open: a result goes onto it (:meth:`apply_to_photo`)."""
        return applies_to_photo(self._edit)

    def apply_latent(self, target: np.ndarray, label: str, what: str) -> bool:
        """Move the open photo's edit to ``target`` as one undo step ``what`` (see
        :mod:`editor.controllers.photo_apply`); refused while a newer result is on its way."""
        if not self.applies_to_photo:
            return False
        if not self.up_to_date:
            self.failed.emit("The result is still being computed: try again in a moment")
            return False
        return apply_latent(self._edit, target, label, what)
