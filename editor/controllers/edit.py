"""The current document and its edit: open → encode → slider offsets → render, and traversal strips.

Every offset change asks the document's renderer for pixels on the "edit" lane (latest wins in
the client), as a cheap preview while a slider is held and at full quality on release. A zero
edit shows the engine's reconstruction itself, so "reset" gives back exactly those pixels.

The edit is the document's :class:`~engine.protocol.EditStack`: the non-destructive list of
operations that undo steps through, sessions save and recipes carry, and the one source of the
slider offsets. Every change goes through it: the sliders' offsets are its dimension steps,
``set_shift`` (other panels) is one ``AddVector`` labelled "shift", and :meth:`apply_stack` sets
it wholesale (undo/redo, sessions, recipes). A change made here (not by ``apply_stack``) is
announced by ``stackEdited`` so the history can record it. The edited latent is
``stack.apply(z, std, attributes)``, the function the engine itself applies.

With a ``photo_loop`` (the PhotoController) a photo is opened with ``OpenPhoto`` (the engine
aligns the face) and the photo loop renders it; without one (and for samples) the latent is
encoded and decoded (:class:`~editor.document.LatentRenderer`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from engine.protocol import (
    AddVector,
    Decode,
    EditStack,
    Encode,
    Encoded,
    ErrorResponse,
    LoadSession,
    ModelInfo,
    PhotoOpened,
    Request,
    next_request_id,
)
from editor.background import ImageFileReader
from editor.client import EngineClient, Ticket
from editor.controllers.model import ModelController
from editor.controllers.stack_edits import slider_step, with_dimension, with_dimensions
from editor.document import EDIT_LANE, Document, LatentRenderer, Renderer
from editor.imaging import Frame

TRAVERSAL_LANE = "traversal"
SIGMA_RANGE = 3.0
SHIFT_LABEL = "shift"  # the AddVector that holds set_shift's latent offset
MERGE_S = 1.0  # changes of one control closer than this (wheel, keys, attribute panel) are one history step
__all__ = ["EDIT_LANE", "EditController", "SHIFT_LABEL", "TRAVERSAL_LANE"]


class EditController(QObject):
    photoChanged = Signal(object, str)  # Frame | None, display name
    encoding = Signal(str)  # display name
    encodedChanged = Signal(object)  # Encoded | None
    editedChanged = Signal(object)  # Frame (tag = request id of its render; 0 = reconstruction)
    offsetsChanged = Signal(object)  # np.ndarray σ offsets, after a change not made by a slider
    traversalReady = Signal(int, object, object)  # dim, N×S×S×3 images, σ values
    failed = Signal(str)
    stackChanged = Signal(object)  # EditStack: after every change of the edit
    stackEdited = Signal(object, object, str, object)  # before, after, what, merge key: a change not made by apply_stack
    documentChanged = Signal()  # another photo or sample: a new edit (history and mask start again)
    draggingChanged = Signal(bool)  # a slider is held (background work such as the per-photo fit waits)
    fileOpened = Signal(object)  # Path: a photo file was read and is now the document (recent files, title)

    def __init__(self, client: EngineClient, model: ModelController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._model = model
        self.document: Document | None = None
        self.edited: Frame | None = None  # what the edited view shows
        self.dragging = False
        self.rendering: Ticket | None = None  # the newest render of the edit (None: the reconstruction is shown)
        self.traversal_dim: int | None = None
        self.traversal_steps = 7
        self.photo_loop = None  # PhotoController: photos open with OpenPhoto and render onto the photo
        self._encoding: Ticket | None = None  # the document's Encode / OpenPhoto still on its way
        self._traversal: Ticket | None = None
        self._latent_renderer = LatentRenderer(client, self._show, self.failed.emit)
        self._drag_serial = 0
        self._merge_key: tuple | None = None
        self._merge_time = 0.0
        self._rng = np.random.default_rng()
        self._refresh_traversal = qdebounced(self._request_traversal, timeout=150, parent=self)
        self._reader = ImageFileReader(self)  # photo files are decoded off the GUI thread, newest wins
        self._reader.finished.connect(self._on_file_read)
        self._reader.failed.connect(lambda ticket, path, message: self.failed.emit(message))
        model.changed.connect(self._on_model_changed)
        client.on_restart(self._replay)

    # ------------------------------------------------------------------ the document, read-only views

    @property
    def edit(self) -> Document | None:
        """The document, once its latent is known (None: nothing can be edited yet)."""
        doc = self.document
        return doc if doc is not None and doc.encoded is not None else None

    @property
    def stack(self) -> EditStack:
        return EditStack() if self.document is None else self.document.stack

    @property
    def encoded(self) -> Encoded | None:
        return None if self.document is None else self.document.encoded

    @property
    def labels(self) -> dict[str, float] | None:
        return None if self.document is None else self.document.labels

    @property
    def base_labels(self) -> dict[str, float] | None:
        return None if self.document is None else self.document.base_labels

    @property
    def photo(self) -> np.ndarray | None:
        return None if self.document is None else self.document.photo

    @property
    def name(self) -> str:
        return "" if self.document is None else self.document.name

    @property
    def path(self) -> Path | None:
        return None if self.document is None else self.document.path

    @property
    def is_sample(self) -> bool:
        return self.document is not None and self.document.is_sample

    @property
    def up_to_date(self) -> bool:
        """What is shown is the newest edit (no render of it is still on its way)."""
        return self.rendering is None or not self.rendering.pending

    # ------------------------------------------------------------------ sources

    def open_image(self, path: str | Path) -> bool:
        """Open a photo file: it is decoded off the GUI thread (a big or broken file never freezes
        the window), then shown and encoded, and ``fileOpened`` says so. False (and ``failed``) at
        once when there is no such file; a file that cannot be decoded is reported by ``failed``
        when the reader answers (one line naming the file). The newest open wins, also over a
        sample or a session opened while the file was being read."""
        path = Path(path)
        if not path.is_file():
            self.failed.emit(f"{path.name}: no such file")
            return False
        self._reader.read(path)
        return True

    def _on_file_read(self, ticket: int, path: Path, array: np.ndarray) -> None:
        self.open_array(array, path.name, path)
        self.fileOpened.emit(path)

    def open_array(self, array: np.ndarray, name: str = "image", path: Path | None = None) -> None:
        self._reader.cancel()  # a file still being read must not replace this photo
        self._new_document(Document(name, array, path))
        self.encode()

    def adopt(self, z: np.ndarray, image: np.ndarray, name: str = "sample", labels: dict[str, float] | None = None) -> None:
        """Edit a latent that has no photo (a sample, decoded with ``labels``): it is its own reconstruction."""
        self._reader.cancel()  # a photo file still being read must not replace the sample
        doc = Document(name, image, sample=True)
        doc.renderer = self._latent_renderer
        self._new_document(doc)
        self._set_encoded(Encoded(request_id=next_request_id(), z=np.asarray(z, np.float32),
                                  reconstruction=doc.photo, aligned=doc.photo, labels=dict(labels or {})))

    def _new_document(self, doc: Document) -> None:
        self._client.cancel(EDIT_LANE)  # a render of the previous document must not land on this one
        self._cancel_encoding()
        self.rendering = None
        self.document = doc
        self.documentChanged.emit()
        self.photoChanged.emit(Frame.from_array(doc.photo), doc.name)

    def encode(self) -> None:
        doc = self.document
        if doc is None or doc.is_sample:
            return
        self._client.cancel(EDIT_LANE)
        self._cancel_encoding()
        if self.photo_loop is not None:
            self._encoding = self.photo_loop.open(doc.photo, doc.path)
        else:
            doc.renderer = self._latent_renderer
            self._encoding = self._client.call(Encode(image=doc.photo), None, done=self._set_encoded,
                                               failed=lambda error: self.encode_failed("Could not encode the photo", error))
        self.encoding.emit(doc.name)

    def _cancel_encoding(self) -> None:
        if self._encoding is not None:
            self._encoding.cancel()
            self._encoding = None

    def encode_failed(self, title: str, error: ErrorResponse) -> None:
        """The photo could not be opened or encoded: there is nothing to edit."""
        self.failed.emit(f"{title}: {error.message}")
        self._encoding = None
        if self.document is not None:
            self.document.encoded = None
        self.encodedChanged.emit(None)

    def photo_opened(self, opened: PhotoOpened, stack: EditStack | None = None, name: str | None = None, *,
                     opened_by: Request | None = None, renderer: Renderer | None = None) -> None:
        """The engine opened a photo (OpenPhoto, ChooseFace, LoadSession: ``opened_by``, remembered
        for a restarted engine; None: the open photo's latent changed, e.g. refined): show its
        pixels (the engine's decode, which edits are composited on) and edit its latent with
        ``stack``. A session is another document, which a photo file still being read does not
        replace; ``name`` names it."""
        doc = self.document
        if doc is None or isinstance(opened_by, LoadSession):
            self._reader.cancel()
            doc = self.document = Document(name or "photo", opened.photo)
        if name is not None:
            doc.name, doc.path = name, (Path(opened.source) if opened.source else None)
        doc.photo = opened.photo
        doc.face = opened.chosen
        doc.renderer = renderer or doc.renderer or self._latent_renderer
        if opened_by is not None:
            doc.opened_with(opened_by)
        elif doc.fit is None:  # the same photo with a better latent: a restarted engine needs it too
            doc.latent_adopted(opened.z, opened.labels)
        self.photoChanged.emit(Frame.from_array(doc.photo), doc.name)
        self._encoding = None
        doc.stack = EditStack()
        self._set_encoded(Encoded(request_id=opened.request_id, z=opened.z, reconstruction=opened.reconstruction,
                                  aligned=opened.aligned, labels=dict(opened.labels)))
        if self.edit is not None and stack is not None and not stack.is_empty:
            self.apply_stack(stack)

    def _replay(self) -> list[Request]:
        """A restarted engine is empty: it needs the open photo (and its face) again."""
        return [] if self.document is None else self.document.replay()

    # ------------------------------------------------------------------ edits

    def set_offset(self, dim: int, sigma: float) -> None:
        if self.edit is None:
            return
        self._change(with_dimension(self.stack, dim, sigma), slider_step(f"z{dim}", sigma), echo=False, merge=self._merge(("dim", int(dim))))

    def set_offsets(self, offsets: np.ndarray) -> None:
        if self.edit is None:
            return
        self._change(with_dimensions(self.stack, np.asarray(offsets, np.float32)), "Set offsets")

    def set_labels(self, labels: dict[str, float] | None) -> None:
        """Conditional models: decode the edit with ``labels`` (None: the reconstruction's own),
        through the same latest-wins path as the sliders (editor.controllers.labels drives this)."""
        if self.document is None:
            return
        self.document.labels = None if labels is None else {str(k): float(v) for k, v in labels.items()}
        if self.edit is not None:
            self._render()

    def set_shift(self, shift: np.ndarray | None, what: str = "Attributes", control: str = "") -> None:
        """A latent offset added to the sliders' edit (the attribute panel's Σ strength × step);
        None is zero. It lives as long as the current photo's edit (an ``AddVector`` op).
        ``what`` names the change in the history ("Eyeglasses +2.0σ"); the changes to one
        ``control`` (an attribute's name) within a drag, or a burst of keys, are one step."""
        doc = self.edit
        if doc is None:
            return
        shift = None if shift is None else np.asarray(shift, np.float32).reshape(-1)
        if shift is not None and shift.size != doc.dim:
            self.failed.emit(f"an edit offset of {shift.size} dimensions does not fit the {doc.dim}-d latent")
            return
        ops = [op for op in self.stack.ops if not (isinstance(op, AddVector) and op.label == SHIFT_LABEL)]
        if shift is not None and np.any(shift):
            ops.append(AddVector(vector=tuple(float(v) for v in shift), amount=1.0, label=SHIFT_LABEL))
        self._change(EditStack(ops=tuple(ops)), what, echo=False, merge=self._merge((SHIFT_LABEL, control)))

    def change(self, after: EditStack, what: str, control: tuple | None = None) -> None:
        """Make ``after`` the edit as a move of one control of another panel (e.g. a PCA axis
        slider): recorded in the history like a dimension slider — one step per drag, or per burst
        of changes to ``control`` (None: a step of its own)."""
        if self.edit is None:
            return
        self._change(after, what, echo=False, merge=None if control is None else self._merge(tuple(control)))

    def _merge(self, control: tuple) -> tuple:
        """The history merge key of a change to ``control``: one step per drag, or per burst of
        changes to the same control (mouse wheel, arrow keys, typing) less than MERGE_S apart."""
        now = time.monotonic()
        last = self._merge_key
        if self.dragging:
            key = (*control, -self._drag_serial)
        elif last is not None and last[:-1] == control and last[-1] > 0 and now - self._merge_time <= MERGE_S:
            key = last
        else:
            key = (*control, next_request_id())
        self._merge_key, self._merge_time = key, now
        return key

    def begin_drag(self) -> None:
        self.dragging = True
        self._drag_serial += 1
        self.draggingChanged.emit(True)

    def end_drag(self) -> None:
        """Release: the full-quality render of where the slider stopped."""
        self.dragging = False
        self._drag_serial += 1
        self._merge_key = None
        if self.edit is not None:
            self._render()
        self.draggingChanged.emit(False)

    def jump(self, dim: int, sigma: float) -> None:
        """Set one offset from outside the sliders (e.g. the traversal strip)."""
        if self.edit is None:
            return
        self._change(with_dimension(self.stack, dim, sigma), slider_step(f"z{dim}", sigma))

    def reset(self, dim: int | None = None) -> None:
        if self.edit is None:
            return
        if dim is None:
            self._change(with_dimensions(self.stack, {}), "Reset all dimensions")
        else:
            self._change(with_dimension(self.stack, dim, 0.0), f"Reset z{dim}")

    def randomise(self, dims: np.ndarray, spread: float = 1.0, seed: int | None = None) -> None:
        if self.edit is None:
            return
        rng = self._rng if seed is None else np.random.default_rng(seed)
        dims = np.asarray(dims, int)
        values = np.clip(rng.standard_normal(len(dims)) * spread, -SIGMA_RANGE, SIGMA_RANGE)
        self._change(with_dimensions(self.stack, dict(zip(dims.tolist(), values.tolist()))), f"Randomise {len(dims)} dimensions")

    def apply_stack(self, stack: EditStack, echo: bool = True) -> bool:
        """Make ``stack`` the edit (undo/redo, sessions, recipes): the sliders follow (``echo``)
        and the pixels re-render. False (and ``failed``) if it does not fit the model."""
        doc = self.edit
        if doc is None:
            return False
        try:
            self.edited_latent(stack)
        except ValueError as exc:
            self.failed.emit(f"Cannot apply the edit: {exc}")
            return False
        doc.stack = stack
        if echo:
            self.offsetsChanged.emit(doc.offsets())
        self.stackChanged.emit(stack)
        self._render()
        return True

    def edited_latent(self, stack: EditStack | None = None) -> np.ndarray:
        """``stack`` (default: the current edit) applied to the photo's latent, as the engine does."""
        info = self._model.info
        return self.edit.edited(info.stats.std, info.attributes, stack)

    def refresh(self) -> None:
        """Render the current edit again (e.g. the painted mask changed)."""
        if self.edit is not None:
            self._render()

    def show_edited(self, frame: Frame) -> None:
        """Show a rendered edit (the photo loop's face) as the edited image."""
        self._show(frame)

    def _change(self, after: EditStack, what: str, echo: bool = True, merge=None) -> None:
        before = self.stack
        if after == before:
            return
        if self.apply_stack(after, echo=echo):
            self.stackEdited.emit(before, after, what, merge)

    def _render(self) -> None:
        doc = self.edit
        edited = self.edited_latent()
        same_labels = doc.labels is None or doc.labels == doc.base_labels
        if np.array_equal(edited, doc.z) and same_labels:
            # the zero edit is the reconstruction (the photo), exactly
            self._client.cancel(EDIT_LANE)
            self._show(Frame.from_array(doc.encoded.reconstruction, tag=0))
            self.rendering = None
            doc.renderer.show_original()
        else:
            self.rendering = doc.renderer.render(doc, edited, self.dragging)
        if self.traversal_dim is not None and not self.dragging:
            self._refresh_traversal()

    # ------------------------------------------------------------------ traversal strip

    def show_traversal(self, dim: int | None, steps: int | None = None) -> None:
        """Decode the current edit with ``dim`` swept over −3σ…+3σ (one N×D request); None stops."""
        self.traversal_dim = dim
        if steps:
            self.traversal_steps = steps
        if dim is None:
            self._cancel_traversal()
        else:
            self._request_traversal()

    def _request_traversal(self) -> None:
        doc = self.edit
        if self.traversal_dim is None or doc is None or self.traversal_dim >= doc.dim:
            return
        dim, info = self.traversal_dim, self._model.info
        values = np.linspace(-SIGMA_RANGE, SIGMA_RANGE, self.traversal_steps, dtype=np.float32)
        z = doc.traversal(dim, values, info.stats.std, info.attributes).astype(np.float32)
        self._traversal = self._client.call(
            self.strip_request(z), TRAVERSAL_LANE,
            done=lambda decoded: self.traversalReady.emit(dim, decoded.images, values) if dim == self.traversal_dim else None,
            failed=lambda error: self.failed.emit(f"Decoding the traversal failed: {error.message}"))

    def strip_request(self, z: np.ndarray) -> Decode:
        """Decode ``z`` (N×D) for a traversal strip as the open document's crop is drawn."""
        doc = self.edit
        renderer = (doc.renderer if doc is not None else None) or self._latent_renderer
        return renderer.decode_request(z, doc.labels if doc is not None else None)

    def _cancel_traversal(self) -> None:
        if self._traversal is not None:
            self._traversal.cancel()
            self._traversal = None

    # ------------------------------------------------------------------ answers

    def _set_encoded(self, encoded: Encoded) -> None:
        info: ModelInfo | None = self._model.info
        doc = self.document
        self._encoding = None
        if info is None or info.latent_dim != np.asarray(encoded.z).size:
            self.failed.emit("The engine's latent does not match the loaded model")
            doc.encoded = None
            self.encodedChanged.emit(None)
            return
        doc.set_encoded(encoded)
        self.rendering = None  # what is shown is the reconstruction; no edit is on its way
        self.encodedChanged.emit(encoded)
        self.offsetsChanged.emit(doc.offsets())
        self._show(Frame.from_array(encoded.reconstruction, tag=0))
        if self.traversal_dim is not None:
            self._request_traversal()

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(EDIT_LANE)
        self._cancel_traversal()
        self._cancel_encoding()
        self.edited, self.rendering, self.traversal_dim = None, None, None
        doc = self.document
        if doc is not None:
            doc.encoded, doc.stack = None, EditStack()  # its operations refer to the old latent space
        self.encodedChanged.emit(None)
        if doc is not None and not doc.is_sample:
            if self.photo_loop is not None:  # the same photo and face, in the new model's latent space
                self._encoding = self.photo_loop.reopen(doc.photo, doc.path)
                self.encoding.emit(doc.name)
            else:
                self.encode()  # the same photo, in the new model's latent space
        else:
            self.document = None
            self.photoChanged.emit(None, "")

    def _show(self, frame: Frame) -> None:
        self.edited = frame
        self.editedChanged.emit(frame)
