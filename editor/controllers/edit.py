"""The photo being edited: open → Encode → slider offsets → Decode, and traversal strips.

Every offset change asks for a decode on the "edit" lane (latest wins in the client), as a
cheap preview while a slider is held and at full quality on release. A zero edit shows the
engine's reconstruction itself, so "reset" gives back exactly those pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from engine.protocol import Decode, Decoded, Encode, Encoded, ErrorResponse, ModelInfo, Request, next_request_id
from editor.client import EngineClient
from editor.controllers.model import ModelController
from editor.imaging import Frame, ImageLoadError, read_image
from editor.latent_edit import LatentEdit

EDIT_LANE = "edit"
TRAVERSAL_LANE = "traversal"
SIGMA_RANGE = 3.0


class EditController(QObject):
    photoChanged = Signal(object, str)  # Frame | None, display name
    encoding = Signal(str)  # display name
    encodedChanged = Signal(object)  # Encoded | None
    editedChanged = Signal(object)  # Frame (tag = request id of its decode; 0 = reconstruction)
    offsetsChanged = Signal(object)  # np.ndarray σ offsets, after a change not made by a slider
    traversalReady = Signal(int, object, object)  # dim, N×S×S×3 images, σ values
    failed = Signal(str)

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
        self.last_request_id = 0
        self.traversal_dim: int | None = None
        self.traversal_steps = 7
        self._encode_id = 0
        self._traversals: dict[int, tuple[int, np.ndarray]] = {}
        self._rng = np.random.default_rng()
        self._refresh_traversal = qdebounced(self._request_traversal, timeout=150, parent=self)
        client.encoded.connect(self._on_encoded)
        client.decoded.connect(self._on_decoded)
        client.error.connect(self._on_error)
        model.changed.connect(self._on_model_changed)

    # ------------------------------------------------------------------ sources

    def open_image(self, path: str | Path) -> bool:
        """Read a photo file and encode it. False (and ``failed``) if it cannot be read."""
        path = Path(path)
        try:
            array, _ = read_image(path)
        except ImageLoadError as exc:
            self.failed.emit(str(exc))
            return False
        self.open_array(array, path.name, path)
        return True

    def open_array(self, array: np.ndarray, name: str = "image", path: Path | None = None) -> None:
        self.photo = np.ascontiguousarray(array, np.uint8)
        self.path, self.name, self.is_sample = path, name, False
        self.photoChanged.emit(Frame.from_array(self.photo), name)
        self.encode()

    def adopt(self, z: np.ndarray, image: np.ndarray, name: str = "sample") -> None:
        """Edit a latent that has no photo (a sample): it is its own reconstruction."""
        self.photo = np.ascontiguousarray(image, np.uint8)
        self.path, self.name, self.is_sample = None, name, True
        self.photoChanged.emit(Frame.from_array(self.photo), name)
        self._encode_id = next_request_id()
        self._set_encoded(Encoded(request_id=self._encode_id, z=np.asarray(z, np.float32),
                                  reconstruction=self.photo, aligned=self.photo))

    def encode(self) -> None:
        if self.photo is None:
            return
        self._client.cancel(EDIT_LANE)
        self._encode_id = self._client.submit(Encode(image=self.photo))
        self.encoding.emit(self.name)

    # ------------------------------------------------------------------ edits

    def set_offset(self, dim: int, sigma: float) -> None:
        if self.edit is None:
            return
        self.edit.set(dim, sigma)
        self._request_decode()

    def set_offsets(self, offsets: np.ndarray) -> None:
        if self.edit is None:
            return
        self.edit.set_all(offsets)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._request_decode()

    def set_shift(self, shift: np.ndarray | None) -> None:
        """A latent offset added to the sliders' edit (the attribute panel's Σ strength × step);
        None is zero. It lives as long as the current photo's edit."""
        if self.edit is None:
            return
        shift = np.zeros_like(self.edit.z) if shift is None else np.asarray(shift, np.float32).reshape(-1)
        if shift.shape != self.edit.z.shape:
            self.failed.emit(f"an edit offset of {shift.size} dimensions does not fit the {self.edit.dim}-d latent")
            return
        self.edit.set_shift(shift)
        self._request_decode()

    def begin_drag(self) -> None:
        self.dragging = True

    def end_drag(self) -> None:
        """Release: the full-quality decode of where the slider stopped."""
        self.dragging = False
        self._request_decode()

    def jump(self, dim: int, sigma: float) -> None:
        """Set one offset from outside the sliders (e.g. the traversal strip)."""
        if self.edit is None:
            return
        self.edit.set(dim, sigma)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._request_decode()

    def reset(self, dim: int | None = None) -> None:
        if self.edit is None:
            return
        self.edit.reset(dim)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._request_decode()

    def randomise(self, dims: np.ndarray, spread: float = 1.0, seed: int | None = None) -> None:
        if self.edit is None:
            return
        rng = self._rng if seed is None else np.random.default_rng(seed)
        self.edit.randomise(rng, np.asarray(dims, int), spread, SIGMA_RANGE)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._request_decode()

    def _request_decode(self) -> None:
        assert self.edit is not None and self.encoded is not None
        if self.edit.is_zero:  # the zero edit is the reconstruction, exactly
            self._client.cancel(EDIT_LANE)
            self._show(Frame.from_array(self.encoded.reconstruction, tag=0))
            self.last_request_id = 0
        else:
            request = Decode(z=self.edit.edited()[None], preview=self.dragging)
            self.last_request_id = self._client.submit(request, EDIT_LANE)
        if self.traversal_dim is not None and not self.dragging:
            self._refresh_traversal()

    # ------------------------------------------------------------------ traversal strip

    def show_traversal(self, dim: int | None, steps: int | None = None) -> None:
        """Decode the current edit with ``dim`` swept over −3σ…+3σ (one N×D request); None stops."""
        self.traversal_dim = dim
        if steps:
            self.traversal_steps = steps
        if dim is None:
            self._client.cancel(TRAVERSAL_LANE)
        else:
            self._request_traversal()

    def _request_traversal(self) -> None:
        if self.traversal_dim is None or self.edit is None or self.traversal_dim >= self.edit.dim:
            return
        values = np.linspace(-SIGMA_RANGE, SIGMA_RANGE, self.traversal_steps, dtype=np.float32)
        rid = self._client.submit(Decode(z=self.edit.traversal(self.traversal_dim, values)), TRAVERSAL_LANE)
        self._traversals[rid] = (self.traversal_dim, values)

    # ------------------------------------------------------------------ answers

    def _on_encoded(self, encoded: Encoded) -> None:
        if encoded.request_id == self._encode_id:
            self._set_encoded(encoded)

    def _set_encoded(self, encoded: Encoded) -> None:
        info: ModelInfo | None = self._model.info
        self.encoded = encoded
        if info is None or info.latent_dim != np.asarray(encoded.z).size:
            self.failed.emit("The engine's latent does not match the loaded model")
            self.edit = None
            return
        self.edit = LatentEdit(encoded.z, info.stats)
        self.encodedChanged.emit(encoded)
        self.offsetsChanged.emit(self.edit.offsets.copy())
        self._show(Frame.from_array(encoded.reconstruction, tag=0))
        if self.traversal_dim is not None:
            self._request_traversal()

    def _on_decoded(self, lane: str, decoded: Decoded) -> None:
        if lane == EDIT_LANE and self.edit is not None:
            self._show(Frame.from_array(decoded.images[0], tag=decoded.request_id))
        elif lane == TRAVERSAL_LANE and decoded.request_id in self._traversals:
            dim, values = self._traversals[decoded.request_id]
            self._traversals = {k: v for k, v in self._traversals.items() if k > decoded.request_id}
            if dim == self.traversal_dim:
                self.traversalReady.emit(dim, decoded.images, values)

    def _on_error(self, request: Request, error: ErrorResponse) -> None:
        # the window reports engine errors; here only the state follows
        if request.request_id == self._encode_id:
            self.encoded, self.edit = None, None
            self.encodedChanged.emit(None)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(EDIT_LANE)
        self._client.cancel(TRAVERSAL_LANE)
        self.encoded, self.edit, self.edited = None, None, None
        self.traversal_dim = None
        self.encodedChanged.emit(None)
        if self.photo is not None and not self.is_sample:
            self.encode()  # the same photo, in the new model's latent space
        else:
            self.photo, self.name, self.is_sample = None, "", False
            self.photoChanged.emit(None, "")

    def _show(self, frame: Frame) -> None:
        self.edited = frame
        self.editedChanged.emit(frame)
