"""One open image: its edit, how the edit becomes pixels, where it came from, and what the
engine must be told again after a restart. No widgets: the EditController keeps the current
document and drives it; other panels read it.

- ``stack`` is the edit as data (:class:`~engine.protocol.EditStack`): the one source of the
  slider offsets (:meth:`Document.offsets`) and of the edited latent (:meth:`Document.edited`).
- ``renderer`` turns an edit into pixels: :class:`LatentRenderer` decodes the edited latent (a
  sample, or a photo the engine only encoded); the photo loop (PhotoController) renders the
  edit onto the whole photo. The EditController does not care which.
- ``fit`` is the per-photo fit the engine made of this photo's face, as the
  :class:`~engine.protocol.RestoreFit` that gives it back (None: not fitted); another face or
  model drops it.
- ``adopted`` is a latent the engine made the photo's after it opened it (a cGAN's refined
  inversion), as the :class:`~engine.protocol.AdoptLatent` that gives it back.
- :meth:`replay` gives the requests that put this image into the engine (OpenPhoto or
  LoadSession, then the chosen face, then the adopted latent or the fit), fresh, for an engine
  that restarted empty.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from engine.protocol import (
    AdoptLatent, ChooseFace, Decode, Decoded, EditStack, Encoded, LoadSession, OpenPhoto, Request, RestoreFit,
    next_request_id,
)
from editor.client import EngineClient, Ticket
from editor.controllers.stack_edits import with_dimension
from editor.imaging import Frame

EDIT_LANE = "edit"


class Renderer(Protocol):
    def render(self, document: "Document", edited: np.ndarray, preview: bool) -> Ticket:
        """Ask for the pixels of ``document``'s edit (``edited``: its latent); latest wins."""

    def show_original(self) -> None:
        """The zero edit: show the original pixels (nothing is asked of the engine)."""

    def decode_request(self, z: np.ndarray, labels: dict[str, float] | None) -> Decode:
        """The request that decodes latents (N×D) as this document's crop is drawn: the traversal strips'."""


class LatentRenderer:
    """Decode the edited latent (samples; photos the engine only encoded)."""

    def __init__(self, client: EngineClient, show: Callable[[Frame], None], failed: Callable[[str], None]) -> None:
        self._client, self._show, self._failed = client, show, failed

    def render(self, document: "Document", edited: np.ndarray, preview: bool) -> Ticket:
        request = Decode(z=np.asarray(edited, np.float32)[None], preview=preview, labels=document.labels)
        # intermediate: while a slider is dragged, each frame computed on the way is shown
        return self._client.call(request, EDIT_LANE, done=self._on_decoded, intermediate=True,
                                 failed=lambda error: self._failed(f"Decoding failed: {error.message}"))

    def show_original(self) -> None:
        pass  # the EditController shows the reconstruction itself

    def decode_request(self, z: np.ndarray, labels: dict[str, float] | None) -> Decode:
        return Decode(z=np.asarray(z, np.float32), labels=labels)

    def _on_decoded(self, decoded: Decoded) -> None:
        self._show(Frame.from_array(decoded.images[0], tag=decoded.request_id))


class Document:
    """An image being edited (a photo file, pixels, or a model sample)."""

    def __init__(self, name: str, photo: np.ndarray, path: Path | None = None, *, sample: bool = False) -> None:
        self.name = name
        self.path = path  # the photo's file (None: a sample, or pixels without a file)
        self.photo = np.ascontiguousarray(photo, np.uint8)  # the original pixels shown
        self.is_sample = sample  # a model sample: no file, no encoding (it is its own reconstruction)
        self.stack = EditStack()
        self.encoded: Encoded | None = None  # the latent edits start from, and its reconstruction
        self.labels: dict[str, float] | None = None  # conditional models: the labels edits decode with
        self.base_labels: dict[str, float] | None = None  # the reconstruction's own labels
        self.renderer: Renderer | None = None  # None until the engine knows the image
        self.face: int | None = None  # the chosen face of a photo the engine opened
        self.fit: RestoreFit | None = None  # the per-photo fit the engine made (what gives it back to a new engine)
        self.adopted: AdoptLatent | None = None  # a latent the engine adopted for the open photo (a refinement)
        self._in_engine: tuple[Request, ...] = ()  # what put this image into the engine, in order

    # ------------------------------------------------------------------ the latent and its edit

    @property
    def z(self) -> np.ndarray | None:
        return None if self.encoded is None else np.asarray(self.encoded.z, np.float32).reshape(-1)

    @property
    def dim(self) -> int:
        return 0 if self.encoded is None else int(np.asarray(self.encoded.z).size)

    def set_encoded(self, encoded: Encoded) -> None:
        """The image's latent is known (or known again, in another model's latent space)."""
        self.encoded = encoded
        self.base_labels = self.labels = dict(encoded.labels) or None

    def offsets(self) -> np.ndarray:
        """The dimension sliders' positions, σ per dimension, as the stack holds them."""
        return self.stack.slider_offsets(self.dim)

    def edited(self, std: np.ndarray, attributes: dict, stack: EditStack | None = None) -> np.ndarray:
        """``stack`` (default: the edit) applied to the latent, exactly as the engine applies it."""
        if self.z is None:
            raise ValueError("the document has no latent yet")
        return (self.stack if stack is None else stack).apply(self.z, std, attributes)

    def traversal(self, dim: int, values: np.ndarray, std: np.ndarray, attributes: dict) -> np.ndarray:
        """N×D: the edit with dimension ``dim``'s slider at each of ``values`` (σ)."""
        return np.stack([self.edited(std, attributes, with_dimension(self.stack, dim, float(v))) for v in values])

    # ------------------------------------------------------------------ the engine's copy

    def opened_with(self, request: Request) -> None:
        """The engine answered ``request`` by opening this image (OpenPhoto, LoadSession) or by
        choosing one of its faces (ChooseFace): remember it for :meth:`replay`. A fit belonged to
        the face and model before: it is dropped, and so is an adopted latent."""
        self.fit = self.adopted = None
        if isinstance(request, ChooseFace):
            self._in_engine = tuple(r for r in self._in_engine if not isinstance(r, ChooseFace)) + (request,)
        else:
            self._in_engine = (request,)

    def latent_adopted(self, z: np.ndarray, labels: dict[str, float] | None) -> None:
        """The engine made ``z`` the open photo's latent (a refinement): give it back after a restart."""
        self.adopted = AdoptLatent(z=np.asarray(z, np.float32).copy(), labels=dict(labels) if labels else None)

    def replay(self) -> list[Request]:
        """Fresh copies of the requests that put this image into the engine, for a new engine."""
        requests = list(self._in_engine)
        if requests and isinstance(requests[0], LoadSession) and not Path(requests[0].path).is_file():
            requests = []  # the session file is gone (a restored autosave): open the pixels instead
        if not requests and self._in_engine:
            requests = [OpenPhoto(image=self.photo, face_index=self.face)]
        if requests and self.fit is not None:
            requests.append(self.fit)  # it carries its own pivot
        elif requests and self.adopted is not None:
            requests.append(self.adopted)
        return [replace(r, request_id=next_request_id()) for r in requests]
