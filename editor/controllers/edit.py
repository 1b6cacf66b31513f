"""The photo being edited: open → Encode → slider offsets → Decode, and traversal strips.

Every offset change asks for a decode on the "edit" lane (latest wins in the client), as a
cheap preview while a slider is held and at full quality on release. A zero edit shows the
engine's reconstruction itself, so "reset" gives back exactly those pixels.

The edit is an :class:`~engine.protocol.EditStack` (``self.stack``): the non-destructive list of
operations that undo steps through, sessions save and recipes carry. Every change goes through
it: the sliders' offsets are its dimension steps, ``set_shift`` (other panels) is one
``AddVector`` labelled "shift", and :meth:`apply_stack` sets it wholesale (undo/redo, sessions,
recipes). A change made here (not by ``apply_stack``) is announced by ``stackEdited`` so the
history can record it. The edited latent is ``stack.apply(z, std, attributes)``, the function
the engine itself applies.

With a ``photo_loop`` (the PhotoController) a photo is opened with ``OpenPhoto`` (the
engine aligns the face) and edits render the full photo with ``RenderEdit``; without one (and
for samples) the latent is decoded as before.
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
    Decoded,
    DimensionStep,
    EditStack,
    Encode,
    Encoded,
    ErrorResponse,
    ModelInfo,
    PhotoOpened,
    next_request_id,
)
from editor.background import ImageFileReader
from editor.client import EngineClient, Ticket
from editor.controllers.model import ModelController
from editor.imaging import Frame
from editor.controllers.stack_edits import with_dimension, with_dimensions
from editor.latent_edit import LatentEdit

EDIT_LANE = "edit"
TRAVERSAL_LANE = "traversal"
SIGMA_RANGE = 3.0
SHIFT_LABEL = "shift"  # the AddVector that holds set_shift's latent offset
MERGE_S = 1.0  # changes of one control closer than this (wheel, keys, attribute panel) are one history step


class EditController(QObject):
    photoChanged = Signal(object, str)  # Frame | None, display name
    encoding = Signal(str)  # display name
    encodedChanged = Signal(object)  # Encoded | None
    editedChanged = Signal(object)  # Frame (tag = request id of its decode; 0 = reconstruction)
    offsetsChanged = Signal(object)  # np.ndarray σ offsets, after a change not made by a slider
    traversalReady = Signal(int, object, object)  # dim, N×S×S×3 images, σ values
    failed = Signal(str)
    stackChanged = Signal(object)  # EditStack: after every change of the edit
    stackEdited = Signal(object, object, str, object)  # before, after, what, merge key: a change not made by apply_stack
    documentChanged = Signal()  # another photo or sample: a new edit (history and mask start again)
    fileOpened = Signal(object)  # Path: a photo file was read and is now the document (recent files, title)

    def __init__(self, client: EngineClient, model: ModelController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._model = model
        self.path: Path | None = None  # the photo's file (None for a sample)
        self.name = ""
        self.photo: np.ndarray | None = None
        self.is_sample = False  # the photo is a model sample: it has no file and no encoding
        self.encoded: Encoded | None = None
        self.edit: LatentEdit | None = None
        self.edited: Frame | None = None
        self.dragging = False
        self.rendering: Ticket | None = None  # the newest render of the edit (None: the reconstruction is shown)
        self.traversal_dim: int | None = None
        self.traversal_steps = 7
        self._encoding: Ticket | None = None  # the photo's Encode / OpenPhoto still on its way
        self.stack = EditStack()  # the edit, as data
        self.labels: dict[str, float] | None = None  # conditional models: the labels edits decode with (set_labels)
        self.base_labels: dict[str, float] | None = None  # the labels of the reconstruction (the photo's estimate)
        self.photo_loop = None  # PhotoController: photos open with OpenPhoto and render with RenderEdit
        self._drag_serial = 0
        self._merge_key: tuple | None = None
        self._merge_time = 0.0
        self._traversal: Ticket | None = None
        self._rng = np.random.default_rng()
        self._refresh_traversal = qdebounced(self._request_traversal, timeout=150, parent=self)
        self._reader = ImageFileReader(self)  # photo files are decoded off the GUI thread, newest wins
        self._reader.finished.connect(self._on_file_read)
        self._reader.failed.connect(lambda ticket, path, message: self.failed.emit(message))
        model.changed.connect(self._on_model_changed)

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
        self.photo = np.ascontiguousarray(array, np.uint8)
        self.path, self.name, self.is_sample = path, name, False
        self.stack = EditStack()
        self.documentChanged.emit()
        self.photoChanged.emit(Frame.from_array(self.photo), name)
        self.encode()

    def adopt(self, z: np.ndarray, image: np.ndarray, name: str = "sample", labels: dict[str, float] | None = None) -> None:
        """Edit a latent that has no photo (a sample, decoded with ``labels``): it is its own reconstruction."""
        self._client.cancel(EDIT_LANE)  # a decode of the previous edit must not land on the sample
        self._reader.cancel()  # nor a photo file still being read
        self._cancel_encoding()
        self.rendering = None
        self.photo = np.ascontiguousarray(image, np.uint8)
        self.path, self.name, self.is_sample = None, name, True
        self.stack = EditStack()
        self.documentChanged.emit()
        self.photoChanged.emit(Frame.from_array(self.photo), name)
        self._set_encoded(Encoded(request_id=next_request_id(), z=np.asarray(z, np.float32),
                                  reconstruction=self.photo, aligned=self.photo, labels=dict(labels or {})))

    def encode(self) -> None:
        if self.photo is None:
            return
        self._client.cancel(EDIT_LANE)
        self._cancel_encoding()
        if self.photo_loop is not None:
            self._encoding = self.photo_loop.open(self.photo, self.path)
        else:
            self._encoding = self._client.call(Encode(image=self.photo), None, done=self._set_encoded,
                                               failed=lambda error: self.encode_failed("Could not encode the photo", error))
        self.encoding.emit(self.name)

    def _cancel_encoding(self) -> None:
        if self._encoding is not None:
            self._encoding.cancel()
            self._encoding = None

    def encode_failed(self, title: str, error: ErrorResponse) -> None:
        """The photo could not be opened or encoded: there is nothing to edit."""
        self.failed.emit(f"{title}: {error.message}")
        self.encoded, self.edit = None, None
        self.encodedChanged.emit(None)


    def photo_opened(self, opened: PhotoOpened, stack: EditStack | None = None, name: str | None = None) -> None:
        """The engine opened a photo (OpenPhoto, ChooseFace, LoadSession): show its pixels (the
        engine's decode, which edits are composited on) and edit its latent with ``stack``."""
        self.photo = opened.photo
        if name is not None:  # another document (a session): a photo file still being read loses
            self._reader.cancel()
            self.name, self.path = name, (Path(opened.source) if opened.source else None)
        self.is_sample = False
        self.photoChanged.emit(Frame.from_array(self.photo), self.name)
        self._encoding = None
        self.stack = EditStack()
        self._set_encoded(Encoded(request_id=opened.request_id, z=opened.z, reconstruction=opened.reconstruction,
                                  aligned=opened.aligned, labels=dict(opened.labels)))
        if self.edit is not None and stack is not None and not stack.is_empty:
            self.apply_stack(stack)

    # ------------------------------------------------------------------ edits

    def set_offset(self, dim: int, sigma: float) -> None:
        if self.edit is None:
            return
        self._change(with_dimension(self.stack, dim, sigma), f"z{dim} → {sigma:+.2f}σ", echo=False, merge=self._merge(("dim", int(dim))))

    def set_offsets(self, offsets: np.ndarray) -> None:
        if self.edit is None:
            return
        self._change(with_dimensions(self.stack, np.asarray(offsets, np.float32)), "Set offsets")

    def set_labels(self, labels: dict[str, float] | None) -> None:
        """Conditional models: decode the edit with ``labels`` (None: the reconstruction's own),
        through the same latest-wins path as the sliders (editor.controllers.labels drives this)."""
        self.labels = None if labels is None else {str(k): float(v) for k, v in labels.items()}
        if self.edit is not None and self.encoded is not None:
            self._request_decode()

    def set_shift(self, shift: np.ndarray | None, what: str = "Attributes", control: str = "") -> None:
        """A latent offset added to the sliders' edit (the attribute panel's Σ strength × step);
        None is zero. It lives as long as the current photo's edit (an ``AddVector`` op).
        ``what`` names the change in the history ("Eyeglasses +2.0σ"); the changes to one
        ``control`` (an attribute's name) within a drag, or a burst of keys, are one step."""
        if self.edit is None:
            return
        shift = None if shift is None else np.asarray(shift, np.float32).reshape(-1)
        if shift is not None and shift.shape != self.edit.z.shape:
            self.failed.emit(f"an edit offset of {shift.size} dimensions does not fit the {self.edit.dim}-d latent")
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

    def end_drag(self) -> None:
        """Release: the full-quality decode of where the slider stopped."""
        self.dragging = False
        self._drag_serial += 1
        self._merge_key = None
        if self.edit is not None:
            self._request_decode()

    def jump(self, dim: int, sigma: float) -> None:
        """Set one offset from outside the sliders (e.g. the traversal strip)."""
        if self.edit is None:
            return
        self._change(with_dimension(self.stack, dim, sigma), f"z{dim} → {sigma:+.2f}σ")

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
        if self.edit is None:
            return False
        try:
            self._sync(stack)
        except ValueError as exc:
            self.failed.emit(f"Cannot apply the edit: {exc}")
            return False
        self.stack = stack
        if echo:
            self.offsetsChanged.emit(self.edit.offsets.copy())
        self.stackChanged.emit(stack)
        self._request_decode()
        return True

    def edited_latent(self, stack: EditStack | None = None) -> np.ndarray:
        """``stack`` (default: the current edit) applied to the photo's latent, as the engine does."""
        info = self._model.info
        return (self.stack if stack is None else stack).apply(self.edit.z, info.stats.std, info.attributes)

    def refresh(self) -> None:
        """Render the current edit again (e.g. the painted mask changed)."""
        if self.edit is not None and self.encoded is not None:
            self._request_decode()

    def show_edited(self, frame: Frame) -> None:
        """Show a rendered edit (the photo loop's face) as the edited image."""
        self._show(frame)

    def _change(self, after: EditStack, what: str, echo: bool = True, merge=None) -> None:
        before = self.stack
        if after == before:
            return
        if self.apply_stack(after, echo=echo):
            self.stackEdited.emit(before, after, what, merge)

    def _sync(self, stack: EditStack) -> None:
        """Mirror ``stack`` into the LatentEdit (slider offsets + everything else as a shift)."""
        edit = self.edit
        offsets = stack.slider_offsets(edit.dim)
        edited = self.edited_latent(stack)
        edit.set_all(offsets)
        if all(isinstance(op, DimensionStep) for op in stack.ops):
            edit.set_shift(np.zeros_like(edit.z))
        else:
            edit.set_shift(edited - (edit.z + offsets * edit.scale))
        self._edited_z = edited

    def _request_decode(self) -> None:
        assert self.edit is not None and self.encoded is not None
        edited = getattr(self, "_edited_z", None)
        if edited is None or edited.shape != self.edit.z.shape:
            edited = self._edited_z = self.edited_latent()
        photo_mode = self.photo_loop is not None and self.photo_loop.active
        same_labels = self.labels is None or self.labels == self.base_labels
        if np.array_equal(edited, self.edit.z) and same_labels:  # the zero edit is the reconstruction (the photo), exactly
            self._client.cancel(EDIT_LANE)
            self._show(Frame.from_array(self.encoded.reconstruction, tag=0))
            self.rendering = None
            if photo_mode:
                self.photo_loop.show_original()
        elif photo_mode:
            self.rendering = self.photo_loop.render(self.stack, self.dragging)
        else:
            request = Decode(z=edited[None], preview=self.dragging, labels=self.labels)
            self.rendering = self._client.call(request, EDIT_LANE, done=self._on_decoded, intermediate=True,
                                               failed=lambda error: self.failed.emit(f"Decoding failed: {error.message}"))
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
        if self.traversal_dim is None or self.edit is None or self.traversal_dim >= self.edit.dim:
            return
        dim = self.traversal_dim
        values = np.linspace(-SIGMA_RANGE, SIGMA_RANGE, self.traversal_steps, dtype=np.float32)
        self._traversal = self._client.call(
            Decode(z=self.edit.traversal(dim, values), labels=self.labels), TRAVERSAL_LANE,
            done=lambda decoded: self._on_traversal(dim, values, decoded),
            failed=lambda error: self.failed.emit(f"Decoding the traversal failed: {error.message}"))

    def _cancel_traversal(self) -> None:
        if self._traversal is not None:
            self._traversal.cancel()
            self._traversal = None

    def _on_traversal(self, dim: int, values: np.ndarray, decoded: Decoded) -> None:
        if dim == self.traversal_dim:
            self.traversalReady.emit(dim, decoded.images, values)

    # ------------------------------------------------------------------ answers

    def _set_encoded(self, encoded: Encoded) -> None:
        info: ModelInfo | None = self._model.info
        self.encoded = encoded
        if info is None or info.latent_dim != np.asarray(encoded.z).size:
            self.failed.emit("The engine's latent does not match the loaded model")
            self.edit = None
            return
        self.edit = LatentEdit(encoded.z, info.stats)
        self.base_labels = self.labels = dict(encoded.labels) or None
        self._edited_z = self.edit.z.copy()
        self._encoding = None
        self.rendering = None  # what is shown is the reconstruction; no edit is on its way
        self.encodedChanged.emit(encoded)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._show(Frame.from_array(encoded.reconstruction, tag=0))
        if self.traversal_dim is not None:
            self._request_traversal()

    def _on_decoded(self, decoded: Decoded) -> None:
        if self.edit is not None:
            self._show(Frame.from_array(decoded.images[0], tag=decoded.request_id))

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(EDIT_LANE)
        self._cancel_traversal()
        self._cancel_encoding()
        self.encoded, self.edit, self.edited = None, None, None
        self.stack = EditStack()  # its operations refer to the old latent space
        self.traversal_dim = None
        self.encodedChanged.emit(None)
        if self.photo is not None and not self.is_sample:
            if self.photo_loop is not None:  # the same photo and face, in the new model's latent space
                self._client.cancel(EDIT_LANE)
                self._encoding = self.photo_loop.reopen(self.photo, self.path)
                self.encoding.emit(self.name)
            else:
                self.encode()  # the same photo, in the new model's latent space
        else:
            self.photo, self.name, self.is_sample = None, "", False
            self.photoChanged.emit(None, "")

    def _show(self, frame: Frame) -> None:
        self.edited = frame
        self.editedChanged.emit(frame)
