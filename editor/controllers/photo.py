"""The real-photo loop (issue 7): OpenPhoto → edit → RenderEdit → the full photo, and export.

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
    EditStack,
    ErrorResponse,
    Exported,
    ExportPhoto,
    OpenPhoto,
    PhotoOpened,
    RenderEdit,
    Rendered,
    Request,
    Response,
)
from editor.client import EngineClient
from editor.controllers.edit import EDIT_LANE, EditController
from editor.controllers.mask import MaskModel
from editor.imaging import Frame

PREVIEW_MAX_SIDE = 512
EXPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class PhotoController(QObject):
    opened = Signal(object)  # PhotoOpened | None (closed, or a sample is edited)
    facesChanged = Signal(object, int)  # tuple[PhotoFace, ...], chosen index
    rendered = Signal(object)  # Rendered, or None: the original photo
    exported = Signal(str)  # path written
    failed = Signal(str)

    def __init__(self, client: EngineClient, edit: EditController, mask: MaskModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self._mask = mask
        self.current: PhotoOpened | None = None
        self.last: Rendered | None = None  # the newest render shown (None: the original photo)
        self.preview_max_side = PREVIEW_MAX_SIDE
        self._pending_open: dict[int, str] = {}  # request id -> "open" | "face"
        self._renders: set[int] = set()
        self._exports: set[int] = set()
        self._expecting_photo = False
        edit.photo_loop = self
        edit.documentChanged.connect(self._on_document_changed)
        client.answered.connect(self._on_answered)
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

    def open(self, photo: np.ndarray, path: Path | None) -> int:
        """Ask the engine to open a photo (its file when there is one: EXIF, export metadata)."""
        self.close()
        request = OpenPhoto(path=str(path)) if path is not None else OpenPhoto(image=photo)
        self._pending_open[request.request_id] = "open"
        return self._client.submit(request)

    def reopen(self, photo: np.ndarray, path: Path | None) -> int:
        """The same photo and face for a newly loaded model (the engine re-aligns and re-encodes)."""
        if self.current is None:
            return self.open(photo, path)
        chosen = self.current.chosen
        self.close()
        request = ChooseFace(index=chosen)
        self._pending_open[request.request_id] = "open"
        return self._client.submit(request)

    def choose_face(self, index: int) -> int:
        """Edit another face of the open photo; the edit stack is kept."""
        if self.current is None or not 0 <= index < len(self.current.faces):
            return 0
        request = ChooseFace(index=int(index))
        self._pending_open[request.request_id] = "face"
        self._renders.clear()
        return self._client.submit(request)

    def render(self, stack: EditStack, dragging: bool) -> int:
        preview = bool(dragging or self._mask.painting)
        request = RenderEdit(edits=stack, mask=self._mask.snapshot(), preview=preview, full_resolution=not preview,
                             max_side=self.preview_max_side, labels=self._edit.labels)
        rid = self._client.submit(request, EDIT_LANE)
        self._renders.add(rid)
        return rid

    def show_original(self) -> None:
        self._renders.clear()
        if self.last is not None or self.current is not None:
            self.last = None
            self.rendered.emit(None)

    def adopt(self, opened: PhotoOpened, stack: EditStack | None, name: str) -> None:
        """Take a photo the engine opened elsewhere (a session) as the open photo."""
        self._pending_open.clear()
        self._renders.clear()
        self._set_current(opened)
        self._edit.photo_opened(opened, stack, name=name)

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path, *, overwrite: bool = False, quality: int = 95, keep_exif: bool = True) -> int:
        """Write the edited photo at its full resolution (PNG/JPEG/WebP by suffix). The engine
        refuses an existing file unless ``overwrite``, and the source photo always."""
        if self.current is None:
            self.failed.emit("Nothing to export yet: open a photo first")
            return 0
        path = Path(path)
        if path.suffix.lower() not in EXPORT_SUFFIXES:
            self.failed.emit(f"{path.name}: choose a .png, .jpg, .jpeg or .webp name")
            return 0
        request = ExportPhoto(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                              quality=int(quality), keep_exif=keep_exif, labels=self._edit.labels)
        self._exports.add(request.request_id)
        return self._client.submit(request)

    # ------------------------------------------------------------------ answers

    def _on_answered(self, lane: str, request: Request, response: Response) -> None:
        rid = request.request_id
        if rid in self._pending_open:
            kind = self._pending_open.pop(rid)
            if isinstance(response, PhotoOpened):
                self._set_current(response)
                keep = self._edit.stack if kind == "face" else None
                self._edit.photo_opened(response, keep)
        elif rid in self._renders:
            self._renders = {r for r in self._renders if r > rid}
            if isinstance(response, Rendered) and self.current is not None:
                self.last = response
                self.rendered.emit(response)
                self._edit.show_edited(Frame.from_array(np.ascontiguousarray(response.face), tag=rid))
        elif rid in self._exports:
            self._exports.discard(rid)
            if isinstance(response, Exported):
                self.exported.emit(response.path)
            elif isinstance(response, ErrorResponse):
                self.failed.emit(f"Export failed: {response.message}")

    def _set_current(self, opened: PhotoOpened) -> None:
        self.current = opened
        self.last = None
        self.opened.emit(opened)
        self.facesChanged.emit(opened.faces, opened.chosen)
        self.rendered.emit(None)

    def close(self) -> None:
        """Forget the open photo (another one is opening, a sample is edited, a session loads)."""
        self._pending_open.clear()
        self._renders.clear()
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
