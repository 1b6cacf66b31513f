"""A FakeEngine for editor tests: the engine protocol, numpy only, deterministic.

Decoding is a fixed random linear map squashed by tanh, so different latents give different
pixels and the same latent always the same pixels. ``delay`` (seconds) is slept on every
Encode/Decode/Sample to mimic model time; counters tell a test how much work was done.

The photo workflow (OpenPhoto, ChooseFace, RenderEdit, ExportPhoto, SaveSession, LoadSession) is
faked the same way (:class:`FakePhoto`, at the end): the "face" is the centre square (or, for a
photo at least twice as wide as high, two squares at its ends: two faces), aligned by
nearest-neighbour resizing; a render adds decode(z') − decode(z), resized back, times the
painted mask, to the photo's own pixels, so a zero edit is the original exactly and pixels
outside the face or the mask never change. Sessions are ``.npz`` files (nothing pickled);
exports are written by Pillow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import types

import numpy as np

from engine.protocol import (
    AttributeDirections,
    Decode,
    Decoded,
    Encode,
    Encoded,
    ErrorResponse,
    GetLatentStats,
    ListModels,
    ListUserAttributes,
    LatentStats,
    LoadModel,
    ModelEntry,
    ModelList,
    ModelInfo,
    Request,
    Response,
    Sample,
    Sampled,
    UserAttributeList,
)

# the photo workflow (issue 7)
import json  # noqa: E402
from pathlib import Path  # noqa: E402

from engine.protocol import (  # noqa: E402
    ChooseFace,
    EditStack,
    Exported,
    ExportPhoto,
    LoadSession,
    OpenPhoto,
    PhotoFace,
    PhotoOpened,
    RenderEdit,
    Rendered,
    SaveSession,
    SessionLoaded,
    SessionSaved,
)


class FakeCrash(BaseException):
    """Raised by ``crash_next``: not an Exception, so it takes the worker thread down."""


class FakeModel:
    def __init__(self, name: str, latent_dim: int, image_size: int, dead: int) -> None:
        self.name, self.latent_dim, self.image_size = name, latent_dim, image_size
        rng = np.random.default_rng(latent_dim * 1000 + image_size)
        self.basis = rng.standard_normal((latent_dim, image_size * image_size * 3)).astype(np.float32)
        self.basis /= np.sqrt(latent_dim)
        self.pinv = np.linalg.pinv(self.basis).astype(np.float32)
        kl = np.linspace(2.0, 0.2, latent_dim).astype(np.float32)
        if dead:
            kl[-dead:] = 0.001
        perm = rng.permutation(latent_dim)  # so that ordering by KL is not the identity
        self.stats = LatentStats(
            mean=np.zeros(latent_dim, np.float32),
            std=np.linspace(1.5, 0.5, latent_dim).astype(np.float32)[perm],
            kl=kl[perm],
        )
        # latent semantics: named directions (their own generator, so the model above is unchanged)
        arng = np.random.default_rng(7 + latent_dim)
        self.attributes = {n: arng.standard_normal(latent_dim).astype(np.float32) for n in FAKE_ATTRIBUTES}
        self.attributes["Smiling"] += self.attributes["Glasses"]  # entangled, as real attributes are
        self.metrics = {"Smiling": {"method": "classifier", "accuracy": 0.91, "auc": 0.97},
                        "Glasses": {"method": "mean", "accuracy": 0.88, "auc": 0.95}}

    def decode(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(z, np.float32))
        x = 127.5 + 127.5 * np.tanh(z @ self.basis)
        return np.round(x).astype(np.uint8).reshape(len(z), self.image_size, self.image_size, 3)

    def align(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        idx = (np.arange(self.image_size) * side // self.image_size)
        return np.ascontiguousarray(image[top + idx][:, left + idx])

    def encode(self, aligned: np.ndarray) -> np.ndarray:
        x = aligned.reshape(-1).astype(np.float32) / 127.5 - 1.0
        return (np.arctanh(np.clip(x, -0.95, 0.95)) @ self.pinv).astype(np.float32)


class FakeEngine:
    """``handle(request) -> Response`` like ``engine.service.Engine``; never raises unless told."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        latent_dim: int = 8,
        image_size: int = 32,
        dead: int = 2,
        models: dict[str, tuple[int, int]] | None = None,
        load_delay: float = 0.0,
    ) -> None:
        self.delay = delay
        self.load_delay = load_delay
        self.specs = {"default": (latent_dim, image_size), **(models or {})}
        self.dead = dead
        self.model: FakeModel | None = None
        self.decode_count = 0  # Decode requests handled
        self.requests: list[Request] = []
        self.fail_next: Exception | None = None  # raised from handle() once
        self.error_next: str | None = None  # answered as ErrorResponse once
        self.crash_next = False  # raise FakeCrash (kills the worker thread) once
        self.thread_ids: set[int] = set()
        self._semantics: dict | None = None  # engine.service.semantics handlers, built on first use
        self.semantics_count = 0
        self._lock = threading.Lock()
        self.photo: FakePhoto | None = None  # the open photo (photo workflow)
        self.render_count = 0  # RenderEdit requests that decoded (not zero edits)

    def decode_latents(self, z: np.ndarray) -> np.ndarray:
        """What the current model decodes ``z`` to (for test assertions, any thread)."""
        assert self.model is not None
        return self.model.decode(z)

    def handle(self, request: Request) -> Response:
        self.thread_ids.add(threading.get_ident())
        with self._lock:
            self.requests.append(request)
            fail, self.fail_next = self.fail_next, None
            error, self.error_next = self.error_next, None
            crash, self.crash_next = self.crash_next, False
        if crash:
            raise FakeCrash("fake engine crashed")
        if fail is not None:
            raise fail
        rid = request.request_id
        if error is not None:
            return ErrorResponse(request_id=rid, message=error, kind="FakeError")
        t0 = time.perf_counter()
        if isinstance(request, LoadModel):
            return self._load(request, t0)
        if isinstance(request, ListModels):  # the "bundled" models: one entry per spec
            return ModelList(request_id=rid, models=tuple(ModelEntry(source=name, name=name, family="fake", image_size=size)
                                                          for name, (_, size) in self.specs.items()), elapsed_ms=_ms(t0))
        if self.model is None:
            return ErrorResponse(request_id=rid, message="no model loaded", kind="NoModel")
        m = self.model
        if isinstance(request, GetLatentStats):
            return self._info(rid, t0)
        if isinstance(request, Decode):
            time.sleep(self.delay)
            self.decode_count += 1
            return Decoded(request_id=rid, images=m.decode(request.z), preview=request.preview, elapsed_ms=_ms(t0))
        if isinstance(request, Encode):
            time.sleep(self.delay)
            image = np.asarray(request.image)
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                return ErrorResponse(request_id=rid, message=f"bad image {image.shape} {image.dtype}", kind="ValueError")
            aligned = m.align(image)
            z = m.encode(aligned)
            return Encoded(request_id=rid, z=z, reconstruction=m.decode(z)[0], aligned=aligned, elapsed_ms=_ms(t0))
        photo_handler = PHOTO_HANDLERS.get(type(request))  # the photo workflow (issue 7)
        if photo_handler is not None:
            try:
                return photo_handler(self, request, t0)
            except (ValueError, OSError, KeyError) as exc:
                return ErrorResponse(request_id=rid, message=str(exc).splitlines()[0], kind=type(exc).__name__)
        if isinstance(request, Sample):
            time.sleep(self.delay)
            rng = np.random.default_rng(request.seed)
            z = (rng.standard_normal((request.n, m.latent_dim)) * request.temperature).astype(np.float32)
            return Sampled(request_id=rid, images=m.decode(z), z=z, elapsed_ms=_ms(t0))
        semantic = self.semantics_handler(request)  # latent semantics (issue 5): the engine's own handlers
        if semantic is not None:
            return semantic
        return ErrorResponse(request_id=rid, message=f"unsupported request {type(request).__name__}", kind="TypeError")

    def semantics_handler(self, request: Request) -> Response | None:
        """Answer a latent-semantics request with ``engine.service.semantics`` over this fake model
        (numpy; its user-attribute requests use the real files under $LATENT_STUDIO_DATA_DIR and are
        refused without it, so a test never reads the real user's folder). None: not one of those."""
        from engine.service.semantics import SemanticsHandlers

        if self._semantics is None:
            self._semantics = SemanticsHandlers(_SemanticsHost(self), budget=contextlib.nullcontext).handlers()
        handler = self._semantics.get(type(request))
        if handler is None:
            return None
        rid = request.request_id
        if not os.environ.get("LATENT_STUDIO_DATA_DIR"):
            if isinstance(request, AttributeDirections):
                request = dataclasses.replace(request, include_user=False)
            elif isinstance(request, ListUserAttributes):
                return UserAttributeList(request_id=rid, attributes=(), folder="")
            elif type(request).__name__.endswith("UserAttribute"):
                return ErrorResponse(request_id=rid, message="set LATENT_STUDIO_DATA_DIR for user attributes in tests", kind="FakeError")
        t0 = time.perf_counter()
        self.semantics_count += 1
        try:
            return handler(request, t0)
        except Exception as exc:  # like Engine.handle: errors are values
            return ErrorResponse(request_id=rid, message=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                                 kind=type(exc).__name__, elapsed_ms=_ms(t0))

    def _load(self, request: LoadModel, t0: float) -> Response:
        time.sleep(self.load_delay)
        if request.source not in self.specs:
            return ErrorResponse(
                request_id=request.request_id, message=f"{request.source}: not a model checkpoint", kind="CheckpointError"
            )
        latent_dim, image_size = self.specs[request.source]
        self.model = FakeModel(request.source, latent_dim, image_size, min(self.dead, latent_dim - 1))
        return self._info(request.request_id, t0)

    def _info(self, rid: int, t0: float) -> ModelInfo:
        m = self.model
        assert m is not None
        return ModelInfo(
            request_id=rid,
            elapsed_ms=_ms(t0),
            name=m.name,
            family="fake",
            image_size=m.image_size,
            channels=3,
            latent_dim=m.latent_dim,
            labels=(),
            device="cpu",
            stats=m.stats,
            attributes=dict(m.attributes),
            description="numpy fake for editor tests",
        )


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


# --------------------------------------------------------------------------- latent semantics

FAKE_ATTRIBUTES = ("Smiling", "Glasses", "Young")


class FakeSemanticsModel:
    """The face of ``engine.api.Model`` that ``engine.service.semantics`` uses, over a FakeModel."""

    def __init__(self, m: FakeModel) -> None:
        self.fake = m
        self.name, self.latent_dim, self.image_size = m.name, m.latent_dim, m.image_size
        self.latent_stats = m.stats
        self.attributes = m.attributes
        self.ckpt = types.SimpleNamespace(info={"attributes": m.metrics}, extra=_fake_pca(m), latent_dim=m.latent_dim)
        self.fingerprint = f"fake-{m.name}-{m.latent_dim}"  # what semantics_service keys user attributes by

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        images = images[None] if images.ndim == 3 else images
        return np.stack([self.fake.encode(self.fake.align(im)) for im in images])

    def decode(self, z: np.ndarray, labels=None) -> np.ndarray:
        return self.fake.decode(z)

    def sample_latents(self, n: int, seed: int = 0, temperature: float = 1.0, prior: str = "auto") -> np.ndarray:
        rng = np.random.default_rng(seed)  # the same latents as FakeEngine's Sample
        return (rng.standard_normal((int(n), self.latent_dim)) * temperature).astype(np.float32)


def _fake_pca(m: FakeModel) -> dict[str, np.ndarray]:
    """PCA axes as a checkpoint stores them (``engine.semantics.pca``): a fixed random rotation,
    with the model's per-dimension variances sorted as the axes' variances (largest first)."""
    rng = np.random.default_rng(11 + m.latent_dim)
    q, _ = np.linalg.qr(rng.standard_normal((m.latent_dim, m.latent_dim)))
    variance = np.sort(np.asarray(m.stats.std, np.float64) ** 2)[::-1]
    return {"pca.axes": q.T.astype(np.float32), "pca.variance": variance.astype(np.float32), "pca.mean": np.zeros(m.latent_dim, np.float32)}


class _SemanticsHost:
    """What SemanticsHandlers needs of an engine: the loaded model."""

    interactive_threads = 1

    def __init__(self, fake: FakeEngine) -> None:
        self._fake = fake
        self._wrapped: tuple[FakeModel, FakeSemanticsModel] | None = None

    @property
    def model(self) -> FakeSemanticsModel | None:
        m = self._fake.model
        if m is None:
            return None
        if self._wrapped is None or self._wrapped[0] is not m:
            self._wrapped = (m, FakeSemanticsModel(m))
        return self._wrapped[1]


# --------------------------------------------------------------------------- photo workflow (issue 7)


class FakePhoto:
    """An open photo: its pixels, face squares, the chosen one's crop, latent and reconstruction."""

    def __init__(self, engine: FakeEngine, photo: np.ndarray, source: str, chosen: int | None = None,
                 z: np.ndarray | None = None) -> None:
        self.engine, self.photo, self.source = engine, np.ascontiguousarray(photo, np.uint8), source
        h, w = self.photo.shape[:2]
        side = min(h, w)
        if w >= 2 * h:
            boxes = [(0, 0, h, h), (w - h, 0, w, h)]
        else:
            x0, y0 = (w - side) // 2, (h - side) // 2
            boxes = [(x0, y0, x0 + side, y0 + side)]
        self.boxes = boxes
        self.faces = tuple(
            PhotoFace(box=tuple(float(v) for v in b), left_eye=(b[0] + 0.3 * (b[2] - b[0]), b[1] + 0.4 * (b[3] - b[1])),
                      right_eye=(b[0] + 0.7 * (b[2] - b[0]), b[1] + 0.4 * (b[3] - b[1])), score=1.0 - 0.1 * i, method="fake")
            for i, b in enumerate(boxes)
        )
        self.chosen = 0 if chosen is None else int(chosen)
        if not 0 <= self.chosen < len(boxes):
            raise ValueError(f"face {self.chosen} does not exist: {len(boxes)} face(s) found")
        m = engine.model
        self.region = boxes[self.chosen]
        x0, y0, x1, y1 = self.region
        self.aligned = _resize_nearest(self.photo[y0:y1, x0:x1], m.image_size, m.image_size)
        self.z = m.encode(self.aligned) if z is None else np.asarray(z, np.float32).reshape(-1)
        self.reconstruction = m.decode(self.z)[0]

    def opened(self, rid: int, t0: float) -> PhotoOpened:
        x0, y0, x1, y1 = self.region
        s = (x1 - x0) / self.engine.model.image_size
        alignment = np.array([[s, 0.0, x0], [0.0, s, y0]])
        return PhotoOpened(request_id=rid, photo=self.photo, source=self.source, faces=self.faces, chosen=self.chosen,
                           alignment=alignment, region=self.region, aligned=self.aligned, z=self.z,
                           reconstruction=self.reconstruction, elapsed_ms=_ms(t0))

    def edited(self, z: np.ndarray | None, edits: EditStack | None) -> np.ndarray:
        if z is not None:
            return np.asarray(z, np.float32).reshape(-1)
        if edits is None or edits.is_empty:
            return self.z
        m = self.engine.model
        return edits.apply(self.z, m.stats.std, m.attributes)

    def patch(self, z_edit: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
        """(the face region's edited pixels at full resolution, the decoded face, changed)."""
        x0, y0, x1, y1 = self.region
        original = self.photo[y0:y1, x0:x1]
        if np.array_equal(z_edit, self.z):
            return original.copy(), self.reconstruction, False
        self.engine.render_count += 1
        face = self.engine.model.decode(z_edit)[0]
        delta = _resize_nearest(face.astype(np.float32) - self.reconstruction.astype(np.float32), y1 - y0, x1 - x0)
        if mask is not None:
            m = np.asarray(mask)
            m = m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else np.clip(m.astype(np.float32), 0, 1)
            h, w = self.photo.shape[:2]
            delta = delta * _resize_nearest(m, h, w)[y0:y1, x0:x1, None]
        return np.clip(np.rint(original + delta), 0, 255).astype(np.uint8), face, True

    def composite(self, z_edit: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        patch, _, _ = self.patch(z_edit, mask)
        x0, y0, x1, y1 = self.region
        out = self.photo.copy()
        out[y0:y1, x0:x1] = patch
        return out


def _resize_nearest(a: np.ndarray, h: int, w: int) -> np.ndarray:
    rows = np.minimum(((np.arange(h) + 0.5) * a.shape[0] / h).astype(int), a.shape[0] - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * a.shape[1] / w).astype(int), a.shape[1] - 1)
    return np.ascontiguousarray(a[rows][:, cols])


def _read(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _current(engine: FakeEngine) -> FakePhoto:
    if engine.photo is None:
        raise ValueError("no photo is open")
    if engine.photo.z.size != engine.model.latent_dim:  # another model: re-align, re-encode
        engine.photo = FakePhoto(engine, engine.photo.photo, engine.photo.source, engine.photo.chosen)
    return engine.photo


def _open_photo(engine: FakeEngine, req: OpenPhoto, t0: float) -> Response:
    time.sleep(engine.delay)
    if (req.path is None) == (req.image is None):
        raise ValueError("OpenPhoto needs a path or an image (one of them)")
    photo = _read(req.path) if req.path is not None else np.asarray(req.image)
    engine.photo = FakePhoto(engine, photo, req.path or "", req.face_index)
    return engine.photo.opened(req.request_id, t0)


def _choose_face(engine: FakeEngine, req: ChooseFace, t0: float) -> Response:
    current = _current(engine)
    engine.photo = FakePhoto(engine, current.photo, current.source, req.index)
    return engine.photo.opened(req.request_id, t0)


def _render(engine: FakeEngine, req: RenderEdit, t0: float) -> Response:
    time.sleep(engine.delay)
    ph = _current(engine)
    z = ph.edited(req.z, req.edits)
    engine.decode_count += 1
    patch, face, changed = ph.patch(z, req.mask)
    x0, y0, x1, y1 = ph.region
    box, scale = (x0, y0, x1, y1), 1.0
    if req.full_resolution and req.whole_photo:
        image = ph.photo.copy()
        image[y0:y1, x0:x1] = patch
        box = (0, 0, ph.photo.shape[1], ph.photo.shape[0])
    elif not req.full_resolution and max(x1 - x0, y1 - y0) > req.max_side:
        scale = req.max_side / max(x1 - x0, y1 - y0)
        image = _resize_nearest(patch, max(1, round((y1 - y0) * scale)), max(1, round((x1 - x0) * scale)))
    else:
        image = patch
    return Rendered(request_id=req.request_id, image=image, box=box, scale=scale,
                    photo_size=(ph.photo.shape[1], ph.photo.shape[0]), full_resolution=req.full_resolution, z=z, face=face,
                    changed=changed, preview=req.preview, elapsed_ms=_ms(t0))


def _export(engine: FakeEngine, req: ExportPhoto, t0: float) -> Response:
    from PIL import Image

    ph = _current(engine)
    path = Path(req.path)
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
    if path.suffix.lower() not in formats:
        raise ValueError(f"{path.name}: choose a .png, .jpg, .jpeg or .webp name")
    if ph.source and path.exists() and os.path.samefile(path, ph.source):
        raise ValueError(f"{path.name} is the original photo; it is never overwritten — choose another name")
    if path.exists() and not req.overwrite:
        raise ValueError(f"{path.name} already exists (use overwrite=True / --overwrite to replace it)")
    image = ph.composite(ph.edited(req.z, req.edits), req.mask)
    Image.fromarray(image).save(path, format=formats[path.suffix.lower()])
    return Exported(request_id=req.request_id, path=str(path), size=(image.shape[1], image.shape[0]),
                    format=formats[path.suffix.lower()], exif_kept=False, elapsed_ms=_ms(t0))


def _save_session(engine: FakeEngine, req: SaveSession, t0: float) -> Response:
    ph = _current(engine)
    path = Path(req.path)
    if path.exists() and not req.overwrite:
        raise ValueError(f"{path.name} already exists")
    arrays = {"photo": ph.photo, "z": ph.z, "chosen": np.array(ph.chosen),
              "meta": np.frombuffer(json.dumps({"source": ph.source, "edits": req.edits.to_dict()}).encode(), np.uint8)}
    if req.mask is not None:
        arrays["mask"] = np.asarray(req.mask)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return SessionSaved(request_id=req.request_id, path=str(path), elapsed_ms=_ms(t0))


def _load_session(engine: FakeEngine, req: LoadSession, t0: float) -> Response:
    with np.load(req.path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        photo, z, chosen = data["photo"], data["z"], int(data["chosen"])
        mask = data["mask"] if "mask" in data.files else None
    engine.photo = FakePhoto(engine, photo, meta["source"], chosen, z=z)
    return SessionLoaded(request_id=req.request_id, opened=engine.photo.opened(req.request_id, t0),
                         edits=EditStack.from_dict(meta["edits"]), mask=mask, elapsed_ms=_ms(t0))


PHOTO_HANDLERS = {
    OpenPhoto: _open_photo,
    ChooseFace: _choose_face,
    RenderEdit: _render,
    ExportPhoto: _export,
    SaveSession: _save_session,
    LoadSession: _load_session,
}
