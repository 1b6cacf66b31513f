"""A FakeEngine for editor tests: the engine protocol, numpy only, deterministic.

Decoding is a fixed random linear map squashed by tanh, so different latents give different
pixels and the same latent always the same pixels. ``delay`` (seconds) is slept on every
Encode/Decode/Sample to mimic model time; counters tell a test how much work was done.
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
    LatentStats,
    LoadModel,
    ModelInfo,
    Request,
    Response,
    Sample,
    Sampled,
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
        self._semantics: dict | None = None  # engine.semantics_service handlers, built on first use
        self.semantics_count = 0
        self._lock = threading.Lock()

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
        """Answer a latent-semantics request with ``engine.semantics_service`` over this fake model
        (numpy; its user-attribute requests use the real files under $LATENT_STUDIO_DATA_DIR and are
        refused without it, so a test never reads the real user's folder). None: not one of those."""
        from engine.semantics_service import SemanticsHandlers

        if self._semantics is None:
            self._semantics = SemanticsHandlers(_SemanticsHost(self), budget=contextlib.nullcontext).handlers()
        handler = self._semantics.get(type(request))
        if handler is None:
            return None
        rid = request.request_id
        if not os.environ.get("LATENT_STUDIO_DATA_DIR"):
            if isinstance(request, AttributeDirections):
                request = dataclasses.replace(request, include_user=False)
            elif type(request).__name__.endswith(("UserAttribute", "UserAttributes")):
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
    """The face of ``engine.api.Model`` that ``engine.semantics_service`` uses, over a FakeModel."""

    def __init__(self, m: FakeModel) -> None:
        self.fake = m
        self.name, self.latent_dim, self.image_size = m.name, m.latent_dim, m.image_size
        self.latent_stats = m.stats
        self.attributes = m.attributes
        self.ckpt = types.SimpleNamespace(info={"attributes": m.metrics}, extra={})
        self._ls_fingerprint = f"fake-{m.name}-{m.latent_dim}"  # what semantics_service keys user attributes by

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        images = images[None] if images.ndim == 3 else images
        return np.stack([self.fake.encode(self.fake.align(im)) for im in images])

    def decode(self, z: np.ndarray, labels=None) -> np.ndarray:
        return self.fake.decode(z)

    def sample_latents(self, n: int, seed: int = 0, temperature: float = 1.0, prior: str = "auto") -> np.ndarray:
        rng = np.random.default_rng(seed)  # the same latents as FakeEngine's Sample
        return (rng.standard_normal((int(n), self.latent_dim)) * temperature).astype(np.float32)


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

    def _require_model(self) -> FakeSemanticsModel:
        model = self.model
        if model is None:
            raise RuntimeError("no model loaded")
        return model
