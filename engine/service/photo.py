"""The engine's handlers for the photo workflow requests of :mod:`engine.protocol`.

``Engine`` registers them (``PhotoHandlers(engine).handlers()``); the logic lives in
:mod:`engine.photo` and :mod:`engine.session`. The engine holds one open photo at a time; it is
re-bound (re-aligned to the model's crop size, re-encoded) when another model is loaded. Like
every handler, these raise and ``Engine.handle`` turns the exception into an ErrorResponse.
"""

from __future__ import annotations

import numpy as np

from engine import protocol as p
from engine.data.align import start_warm_up
from engine.data.landmarks import load_models as load_landmark_models
from engine.service.handlers import EngineHost, Handler, HandlerBase, elapsed_ms
from engine.photo import PhotoEdit, PhotoError, open_photo
from engine.photo_export import export_photo
from engine.session import load_session, save_session, saved_edit_labels


class NoPhotoOpen(RuntimeError):
    pass


class PhotoHandlers(HandlerBase):
    def __init__(self, engine: EngineHost) -> None:
        super().__init__(engine)
        self.current: PhotoEdit | None = None
        # dlib's models, the landmark flow's 68-point predictor too, load on a background thread at engine start
        # (each holds the GIL: better once now than ~1.3 s into the first geometric edit's drag; align.start_warm_up)
        start_warm_up(load_landmark_models)

    def handlers(self) -> dict[type, Handler]:
        return {
            p.OpenPhoto: self._open,
            p.ChooseFace: self._choose,
            p.RenderEdit: self._render,
            p.ExportPhoto: self._export,
            p.ExportLayers: self._export_layers,
            p.SaveSession: self._save,
            p.LoadSession: self._load,
        }

    # ------------------------------------------------------------------ the open photo (the conditional handlers use it too)
    def require_photo(self) -> PhotoEdit:
        """The open photo, re-bound to the loaded model if another one was loaded since."""
        if self.current is None:
            raise NoPhotoOpen("no photo is open")
        model = self.require_model()
        if self.current.base_model is not model:  # a per-photo fit's own model is this model's copy
            with self.budget():
                self.current = self.current.rebind(model)
        return self.current

    def opened(self, rid: int, t0: float, pe: PhotoEdit) -> p.PhotoOpened:
        """The PhotoOpened answer for ``pe``."""
        faces = tuple(
            p.PhotoFace(box=tuple(f.box), left_eye=tuple(f.left_eye), right_eye=tuple(f.right_eye), score=f.score, method=f.method)
            for f in pe.faces
        )
        return p.PhotoOpened(
            request_id=rid, photo=pe.photo, source=str(pe.source.path or ""), faces=faces, chosen=pe.chosen,
            alignment=pe.alignment.matrix.astype(np.float64), region=tuple(int(v) for v in pe.region), aligned=pe.crop,
            z=pe.z, reconstruction=pe.reconstruction, labels=dict(pe.labels), fitted=pe.fit is not None, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    # ------------------------------------------------------------------ handlers
    def _open(self, req: p.OpenPhoto, t0: float) -> p.PhotoOpened:
        if (req.path is None) == (req.image is None):
            raise PhotoError("OpenPhoto needs a path or an image (one of them)")
        model = self.require_model()
        with self.budget():
            pe = open_photo(model, req.path if req.path is not None else np.asarray(req.image), detector=self.detector(req.detector), face_index=req.face_index,
                            face_box=req.face_box)
        self.current = pe
        return self.opened(req.request_id, t0, pe)

    def _choose(self, req: p.ChooseFace, t0: float) -> p.PhotoOpened:
        pe = self.require_photo()
        with self.budget():
            self.current = pe.choose_face(req.index) if req.face_box is None else pe.mark_face(req.face_box)
        return self.opened(req.request_id, t0, self.current)

    def _render(self, req: p.RenderEdit, t0: float) -> p.Rendered:
        pe = self.require_photo()
        with self.budget():
            z = pe.edited_latent(req.z, req.edits)
            r = pe.render(z, req.mask, full_resolution=req.full_resolution, whole_photo=req.whole_photo, max_side=req.max_side,
                          labels=req.labels)
        return p.Rendered(
            request_id=req.request_id, image=r.image, box=r.box, scale=r.scale, photo_size=pe.size, full_resolution=req.full_resolution,
            z=r.z, face=r.face, changed=r.changed, preview=req.preview, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    def _export(self, req: p.ExportPhoto, t0: float) -> p.Exported:
        pe = self.require_photo()
        if req.bit_depth == 16:
            from engine.export_16bit import export_16bit

            with self.budget():
                out = export_16bit(pe, pe.edited_latent(req.z, req.edits), req.path, req.mask, labels=req.labels, overwrite=req.overwrite)
            return p.Exported(request_id=req.request_id, path=out["path"], size=out["size"], format=out["format"], exif_kept=False,
                              elapsed_ms=elapsed_ms(t0))
        if req.bit_depth != 8:
            raise PhotoError(f"bit_depth must be 8 or 16, got {req.bit_depth}")
        with self.budget():
            image = pe.composite(pe.edited_latent(req.z, req.edits), req.mask, labels=req.labels)
            out = export_photo(image, req.path, pe.source, overwrite=req.overwrite, quality=req.quality, keep_exif=req.keep_exif)
        return p.Exported(request_id=req.request_id, path=out["path"], size=out["size"], format=out["format"], exif_kept=out["exif_kept"],
                          elapsed_ms=elapsed_ms(t0))

    def _export_layers(self, req: p.ExportLayers, t0: float) -> p.FileWritten:
        from engine.export_layers import export_layers

        pe = self.require_photo()
        with self.budget():
            out = export_layers(pe, pe.edited_latent(req.z, req.edits), req.path, req.mask, labels=req.labels, overwrite=req.overwrite)
        return p.FileWritten(request_id=req.request_id, path=out["path"], format=out["format"], bytes=out["bytes"], elapsed_ms=elapsed_ms(t0))

    def _save(self, req: p.SaveSession, t0: float) -> p.SessionSaved:
        pe = self.require_photo()
        path = save_session(req.path, pe, req.edits, req.mask, embed_photo=req.embed_photo, overwrite=req.overwrite, labels=req.labels)
        return p.SessionSaved(request_id=req.request_id, path=str(path), elapsed_ms=elapsed_ms(t0))

    def _load(self, req: p.LoadSession, t0: float) -> p.SessionLoaded:
        model = self.require_model()
        with self.budget():
            pe, edits, mask, warnings = load_session(req.path, model)
        self.current = pe
        labels = saved_edit_labels(req.path, model) if pe.labels else None
        return p.SessionLoaded(
            request_id=req.request_id, opened=self.opened(req.request_id, t0, pe), edits=edits, mask=mask,
            warnings=tuple(warnings), labels=labels, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

