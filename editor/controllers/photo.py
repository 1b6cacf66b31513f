"""The real-photo loop: OpenPhoto → edit → RenderEdit → the full photo, and export.

Installed as the EditController's ``photo_loop``: opening a photo sends ``OpenPhoto`` (the engine
finds and aligns the face; ``ChooseFace`` picks another one), and every change of the edit sends
``RenderEdit`` with the edit stack and the painted mask on the "edit" lane (latest wins): a
preview of the face region at ≤ :data:`PREVIEW_MAX_SIDE` px while a slider or a brush is held,
the face region at the photo's own resolution on release. A zero edit sends nothing: the view
shows the engine's photo itself, so it is the original pixels exactly.

``rendered`` carries the engine's :class:`~engine.protocol.Rendered` (an image for a box of the
photo) or None for the original; :meth:`composite` gives the whole edited photo as an array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.protocol import (
    ChooseFace,
    Decode,
    EditStack,
    ErrorResponse,
    ExportPhoto,
    OpenPhoto,
    PhotoOpened,
    RenderEdit,
    Rendered,
    Request,
)
from editor.client import EngineClient, Ticket
from editor.controllers.edit import EDIT_LANE, EditController
from editor.controllers.mask import MaskModel
from editor.document import Document
from editor.imaging import Frame

PREVIEW_MAX_SIDE = 512
EXPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class PhotoController(QObject):
    opened = Signal(object)  # PhotoOpened | None (closed, or a sample is edited)
    newFace = Signal(object)  # PhotoOpened: a photo, face or model newly opened (not a better latent of the same)
    facesChanged = Signal(object, int)  # tuple[PhotoFace, ...], chosen index
    rendered = Signal(object)  # Rendered, or None: the original photo
    exported = Signal(str)  # path written
    openFailed = Signal(object)  # ErrorResponse: the engine could not open the photo or use the face
    failed = Signal(str)

    def __init__(self, client: EngineClient, edit: EditController, mask: MaskModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self._mask = mask
        self.current: PhotoOpened | None = None
        self.last: Rendered | None = None  # the newest render shown (None: the original photo)
        self.preview_max_side = PREVIEW_MAX_SIDE
        self._opening: Ticket | None = None  # OpenPhoto / ChooseFace on its way
        edit.photo_loop = self
        edit.documentChanged.connect(self._on_document_changed)
        mask.changed.connect(self._on_mask_changed)
        mask.strokeActive.connect(self._on_stroke_active)

    # ------------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        """A photo is open in the engine and edits render onto it."""
        return self.current is not None

    @property
    def faces(self):
        return () if self.current is None else self.current.faces

    @property
    def chosen(self) -> int:
        return -1 if self.current is None else self.current.chosen

    def composite(self) -> np.ndarray | None:
        """The edited photo as shown, H×W×3 uint8 (None while only a preview is shown)."""
        if self.current is None:
            return None
        photo = self.current.photo
        r = self.last
        if r is None:
            return photo.copy()
        if not r.full_resolution:
            return None
        if r.box == (0, 0, photo.shape[1], photo.shape[0]):
            return r.image.copy()
        out = photo.copy()
        x0, y0, x1, y1 = r.box
        out[y0:y1, x0:x1] = r.image
        return out

    # ------------------------------------------------------------------ the loop (called by EditController)

    def open(self, photo: np.ndarray, path: Path | None, *, detector: str = "auto", face_box=None) -> Ticket:
        """Ask the engine to open a photo (its file when there is one: EXIF, export metadata).
        ``detector="centre"``: the whole image's centre square; ``face_box``: a face the user marked."""
        self.close()
        where = {"path": str(path)} if path is not None else {"image": photo}
        request = OpenPhoto(**where, detector=detector, face_box=face_box)
        return self._send_open(request, keep_stack=False, title="Could not open the photo")

    def mark_face(self, box) -> Ticket | None:
        """Edit the face the user marked (x0, y0, x1, y1) on the open photo; the edit stack is kept."""
        if self.current is None:
            return None
        self._client.cancel(EDIT_LANE)
        return self._send_open(ChooseFace(face_box=tuple(float(v) for v in box)), keep_stack=True, title="Could not use that face")

    def reopen(self, photo: np.ndarray, path: Path | None) -> Ticket:
        """The same photo and face for a newly loaded model (the engine re-aligns and re-encodes)."""
        if self.current is None:
            return self.open(photo, path)
        chosen = self.current.chosen
        self.close()
        return self._send_open(ChooseFace(index=chosen), keep_stack=False, title="Could not open the photo")

    def choose_face(self, index: int) -> Ticket | None:
        """Edit another face of the open photo; the edit stack is kept."""
        if self.current is None or not 0 <= index < len(self.current.faces):
            return None
        self._client.cancel(EDIT_LANE)  # a render of the other face must not land on this one
        return self._send_open(ChooseFace(index=int(index)), keep_stack=True, title="Could not use that face")

    def _send_open(self, request: OpenPhoto | ChooseFace, keep_stack: bool, title: str) -> Ticket:
        if self._opening is not None:
            self._opening.cancel()  # the newest open wins
        self._opening = self._client.call(request, None, done=lambda opened: self._on_opened(opened, keep_stack, request),
                                          failed=lambda error: self._on_open_failed(title, error))
        return self._opening

    def render(self, document: Document, edited: np.ndarray, preview: bool) -> Ticket:
        """The document's renderer: its edit stack rendered onto the whole photo by the engine."""
        preview = bool(preview or self._mask.painting)
        request = RenderEdit(edits=document.stack, mask=self._mask.snapshot(), preview=preview, full_resolution=not preview,
                             max_side=self.preview_max_side, labels=document.labels)
        # a preview in flight is still shown when a newer one comes (the frames of a drag); a full-resolution
        # render (seconds on a 12 MP photo) is abandoned by any newer request: it would show a state already left
        return self._client.call(request, EDIT_LANE, done=self._on_rendered, intermediate=preview,
                                 failed=lambda error: self.failed.emit(f"Rendering the edit failed: {error.message}"))

    def decode_request(self, z: np.ndarray, labels: dict[str, float] | None) -> Decode:
        """Strips decode with the photo's own model: once fitted, they show this face."""
        return Decode(z=np.asarray(z, np.float32), labels=labels, photo=True)

    def show_original(self) -> None:
        if self.last is not None or self.current is not None:
            self.last = None
            self.rendered.emit(None)

    def adopt(self, opened: PhotoOpened, stack: EditStack | None, name: str, opened_by: Request | None = None) -> None:
        """Take a photo the engine opened elsewhere (``opened_by`` a LoadSession; None: the open
        photo itself, with a better latent) as the open photo."""
        self._forget_opening()
        self._client.cancel(EDIT_LANE)
        self._set_current(opened)
        self._edit.photo_opened(opened, stack, name=name, opened_by=opened_by, renderer=self)
        if opened_by is not None:
            self.newFace.emit(opened)

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path, *, overwrite: bool = False, quality: int = 95, keep_exif: bool = True) -> Ticket | None:
        """Write the edited photo at its full resolution (PNG/JPEG/WebP by suffix). The engine
        refuses an existing file unless ``overwrite``, and the source photo always."""
        if self.current is None:
            self.failed.emit("Nothing to export yet: open a photo first")
            return None
        path = Path(path)
        if path.suffix.lower() not in EXPORT_SUFFIXES:
            self.failed.emit(f"{path.name}: choose a .png, .jpg, .jpeg or .webp name")
            return None
        request = ExportPhoto(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                              quality=int(quality), keep_exif=keep_exif, labels=self._edit.labels)
        return self._client.call(request, None, done=lambda exported: self.exported.emit(exported.path),
                                 failed=lambda error: self.failed.emit(f"Export failed: {error.message}"))

    # ------------------------------------------------------------------ answers

    def _on_opened(self, opened: PhotoOpened, keep_stack: bool, request: Request) -> None:
        self._opening = None
        self._set_current(opened)
        self._edit.photo_opened(opened, self._edit.stack if keep_stack else None, opened_by=request, renderer=self)
        self.newFace.emit(opened)

    def _on_open_failed(self, title: str, error: ErrorResponse) -> None:
        self._opening = None
        self.openFailed.emit(error)
        self._edit.encode_failed(title, error)

    def _on_rendered(self, rendered: Rendered) -> None:
        if self.current is not None:
            self.last = rendered
            self.rendered.emit(rendered)
            self._edit.show_edited(Frame.from_array(np.ascontiguousarray(rendered.face), tag=rendered.request_id))

    def _forget_opening(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None

    def _set_current(self, opened: PhotoOpened) -> None:
        self.current = opened
        self.last = None
        self.opened.emit(opened)
        self.facesChanged.emit(opened.faces, opened.chosen)
        self.rendered.emit(None)

    def close(self) -> None:
        """Forget the open photo (another one is opening, a sample is edited, a session loads)."""
        self._forget_opening()
        self._client.cancel(EDIT_LANE)
        if self.current is not None:
            self.current = None
            self.last = None
            self.opened.emit(None)
            self.facesChanged.emit((), -1)
            self.rendered.emit(None)

    def _on_document_changed(self) -> None:
        photo = self._edit.photo
        if self._edit.is_sample or photo is None:
            self.close()
            self._mask.reset(None)
        else:
            self._mask.reset((photo.shape[1], photo.shape[0]))

    def _on_mask_changed(self, rect) -> None:
        if self.current is not None:
            self._edit.refresh()

    def _on_stroke_active(self, active: bool) -> None:
        if not active and self.current is not None:
            self._edit.refresh()  # the stroke is finished: full quality
