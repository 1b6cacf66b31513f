"""``Engine.handle(request) -> response``: synchronous, Qt-free, never raises.

It owns the loaded model and answers the requests of :mod:`engine.protocol`. Handlers are
registered per request type (no if/elif chain), one class per domain on one base
(:class:`engine.service.handlers.HandlerBase`: the model, ``require_model()``, ``budget()``). Interactive requests (Decode, Encode) run
with their own small thread budget so that a training run beside the app cannot starve a
slider drag (measured: 2 threads under load have a p90 past 100 ms, 1 thread ~3 ms).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from engine import protocol as p
from engine.api import Model, bundled_files, load_model
from engine.data.align import FaceFinder
from engine.service.conditional import ConditionalHandlers, conditional_info
from engine.service.handlers import EngineHost, Handler, HandlerBase, NoModelLoaded, elapsed_ms

INTERACTIVE_THREADS = 1

__all__ = ["INTERACTIVE_THREADS", "Engine", "ModelHandlers", "NoModelLoaded"]


class Engine:
    def __init__(self, interactive_threads: int = INTERACTIVE_THREADS, *, face_finder: FaceFinder | None = None,
                 model_folder: str | Path | None = None) -> None:
        """``face_finder``: runs where the ``auto``/``dlib`` face detector would (default: dlib);
        ``model_folder``: the checkpoints offered by name (ListModels, LoadModel by file stem)
        instead of the bundled ones. Both let a test serve the real handlers over its own models
        and faces."""
        self.model: Model | None = None
        self.interactive_threads = interactive_threads
        self.face_finder = face_finder
        self.crops: OrderedDict = OrderedDict()  # aligned crops of recent images (HandlerBase.model_crop)
        self.model_folder = None if model_folder is None else Path(model_folder)
        from engine.service.photo import PhotoHandlers  # the photo workflow: OpenPhoto, RenderEdit, ...
        from engine.service.semantics import SemanticsHandlers  # attributes + locks, arithmetic, interpolation, user attributes

        self.photos = PhotoHandlers(self)  # the open photo, which the conditional handlers read too
        self._handlers: dict[type, Handler] = {}
        from engine.service.fit import FitHandlers  # the per-photo fit, in slices between renders

        for group in (ModelHandlers(self, self.photos), self.photos, SemanticsHandlers(self), ConditionalHandlers(self), FitHandlers(self, self.photos)):
            self._handlers.update(group.handlers())

    def model_files(self) -> list[Path]:
        """The checkpoints this engine offers by name, the default first."""
        if self.model_folder is None:
            return bundled_files()
        return sorted(self.model_folder.glob("*.safetensors"), key=lambda f: (f.stem != "default", f.name))

    def handle(self, request: p.Request) -> p.Response:
        t0 = time.perf_counter()
        rid = getattr(request, "request_id", -1)
        try:
            handler = self._handlers.get(type(request))
            if handler is None:
                raise TypeError(f"the engine does not handle {type(request).__name__}")
            return handler(request, t0)
        except Exception as exc:  # errors are values: the GUI shows them and carries on
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return p.ErrorResponse(request_id=rid, message=message, kind=type(exc).__name__, elapsed_ms=elapsed_ms(t0))


class ModelHandlers(HandlerBase):
    """The model itself: load it, describe it, encode, decode and sample."""

    def __init__(self, engine: EngineHost, photos) -> None:
        super().__init__(engine)
        self.photos = photos  # engine.service.photo.PhotoHandlers: the open photo, whose model Decode(photo=True) uses

    def handlers(self) -> dict[type, Handler]:
        return {
            p.LoadModel: self._load,
            p.GetLatentStats: self._stats,
            p.Encode: self._encode,
            p.Decode: self._decode,
            p.Sample: self._sample,
        }

    def _load(self, req: p.LoadModel, t0: float) -> p.ModelInfo:
        source = req.source
        if self.engine.model_folder is not None:  # a name of the engine's own folder → its file
            source = next((str(f) for f in self.engine.model_files() if f.stem == source), source)
        self.engine.model = load_model(source, device=req.device)
        return self._info(req.request_id, t0)

    def _stats(self, req: p.GetLatentStats, t0: float) -> p.ModelInfo:
        return self._info(req.request_id, t0)

    def _info(self, rid: int, t0: float) -> p.ModelInfo:
        m = self.require_model()
        return p.ModelInfo(
            request_id=rid,
            name=m.name,
            family=m.family,
            image_size=m.image_size,
            channels=m.channels,
            latent_dim=m.latent_dim,
            labels=tuple(m.labels),
            device=m.device_name,
            stats=m.latent_stats,
            attributes=dict(m.attributes),
            description=str(m.ckpt.info.get("description", "")),
            priors=tuple(m.priors),
            elapsed_ms=elapsed_ms(t0),
            **conditional_info(m),
        )

    def _encode(self, req: p.Encode, t0: float) -> p.Encoded:
        m = self.require_model()
        image = np.asarray(req.image)
        if req.detector != "none":
            with self.budget():
                image = self.model_crop(image, m.image_size, req.detector, req.name or "the image")
        with self.budget(), torch.inference_mode():
            x = m.to_tensor(image)
            mu, y = m.encode_tensor(x)  # y: the label estimate of a conditional model, else None
            recon = m.to_images(m.decode_tensor(mu, y))
            aligned = m.to_images(x)
            labels = {} if y is None else m.label_space.as_dict(y[0].float().cpu().numpy())
        return p.Encoded(
            request_id=req.request_id, z=mu[0].float().cpu().numpy(), reconstruction=recon[0], aligned=aligned[0], labels=labels,
            elapsed_ms=elapsed_ms(t0),
        )

    def _decode(self, req: p.Decode, t0: float) -> p.Decoded:
        m = self.photos.require_photo().model if req.photo else self.require_model()
        with self.budget():
            images = m.decode(req.z, labels=req.labels)
        return p.Decoded(request_id=req.request_id, images=images, preview=req.preview, elapsed_ms=elapsed_ms(t0))

    def _sample(self, req: p.Sample, t0: float) -> p.Sampled:
        m = self.require_model()
        z = m.sample_latents(req.n, seed=req.seed, temperature=req.temperature, prior=req.prior)
        images = m.decode(z, labels=req.labels)
        return p.Sampled(request_id=req.request_id, images=images, z=z, elapsed_ms=elapsed_ms(t0))

