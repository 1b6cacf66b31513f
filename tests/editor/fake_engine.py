"""The real engine (``engine.service.Engine``: every handler, the photo loop, sessions, exports,
errors) over a fake model, for the editor tests.

The model is a family of its own, ``"fake"``, registered like every model family and saved as a
real checkpoint: decoding is a fixed random linear map squashed by tanh (float64, so a latent
decodes to the same pixels on any thread and in any batch), encoding its pseudo-inverse. The
checkpoint carries latent statistics with dead dimensions, three attribute directions (Smiling
entangled with Glasses), PCA axes and, on request, an aggregate prior. Faces are squares found by
:func:`fake_faces`, the engine's face finder here in place of dlib.

:class:`FakeEngine` adds the test's knobs around ``handle``: ``delay`` (seconds slept per request
that does model work), counters (``decode_count``, ``requests``, ``thread_ids``) and one-shot
failures (``fail_next`` raised, ``error_next`` answered, ``crash_next`` kills the worker thread).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine import checkpoint as ckpt_io
from engine.data.align import Face, canonical_eyes, crop_for_model
from engine.models.registry import register
from engine.protocol import Decode, Encode, ErrorResponse, LoadModel, OpenPhoto, RenderEdit, Request, Response, Sample
from engine.service import Engine

FAKE_ATTRIBUTES = ("Smiling", "Glasses", "Young")
MODEL_WORK = (Decode, Encode, Sample, OpenPhoto, RenderEdit)  # the requests ``delay`` is slept on
COUNTED = (Decode, RenderEdit)  # the requests ``decode_count`` counts


@dataclass(frozen=True)
class FakeConfig:
    image_size: int = 32
    latent_dim: int = 8
    channels: int = 3


@register("fake", FakeConfig)
class FakeNet(nn.Module):
    """x ≈ ½ + ½·tanh(z · basis); encode: z = arctanh(2x − 1, clipped) · pinv(basis)."""

    def __init__(self, config: FakeConfig) -> None:
        super().__init__()
        self.config = config
        pixels = config.channels * config.image_size**2
        self.register_buffer("basis", torch.zeros(config.latent_dim, pixels, dtype=torch.float64))
        self.register_buffer("pinv", torch.zeros(pixels, config.latent_dim, dtype=torch.float64))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = (x.double().reshape(len(x), -1) * 2 - 1).clamp(-0.95, 0.95)
        mu = (torch.atanh(flat) @ self.pinv).float()
        return mu, torch.zeros_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        return (0.5 + 0.5 * torch.tanh(z.double() @ self.basis)).reshape(len(z), c, s, s)


def fake_checkpoint(path: Path, latent_dim: int, image_size: int, dead: int = 2, prior: bool = False, pca: bool = True) -> Path:
    """Write a fake model's checkpoint: the same numbers for the same sizes, every time."""
    rng = np.random.default_rng(latent_dim * 1000 + image_size)
    net = FakeNet(FakeConfig(image_size=image_size, latent_dim=latent_dim))
    basis = rng.standard_normal((latent_dim, 3 * image_size**2)) / np.sqrt(latent_dim)
    net.basis.copy_(torch.from_numpy(basis))
    net.pinv.copy_(torch.from_numpy(np.linalg.pinv(basis)))
    kl = np.linspace(2.0, 0.2, latent_dim)
    kl[latent_dim - min(dead, latent_dim - 1) :] = 0.001
    perm = rng.permutation(latent_dim)  # so that ordering by KL is not the identity
    stats = {"mean": np.zeros(latent_dim), "std": np.linspace(1.5, 0.5, latent_dim)[perm], "kl": kl[perm]}
    arng = np.random.default_rng(7 + latent_dim)
    attributes = {n: arng.standard_normal(latent_dim).astype(np.float32) for n in FAKE_ATTRIBUTES}
    attributes["Smiling"] += attributes["Glasses"]  # entangled, as real attributes are
    q, _ = np.linalg.qr(np.random.default_rng(11 + latent_dim).standard_normal((latent_dim, latent_dim)))
    extra = {"pca.axes": q.T, "pca.variance": np.sort(stats["std"] ** 2)[::-1], "pca.mean": np.zeros(latent_dim)} if pca else {}
    if prior:
        extra.update(prior_mean=np.zeros(latent_dim), prior_chol=np.diag(stats["std"]))
    metrics = {"Smiling": {"method": "classifier", "accuracy": 0.91, "auc": 0.97}, "Glasses": {"method": "mean", "accuracy": 0.88, "auc": 0.95}}
    ckpt = ckpt_io.Checkpoint(family="fake", config=net.config, state=net.state_dict(), attributes=attributes, stats=stats, extra=extra,
                              info={"description": "fake model for the editor tests", "attributes": metrics})  # fmt: skip
    return ckpt_io.save(ckpt, path)


def square_face(x0: float, y0: float, side: float, score: float) -> Face:
    """A face filling the square at (x0, y0): its eyes where the aligned crop puts them."""
    left, right = (tuple(float(v) for v in np.array([x0, y0]) + eye * side / 64) for eye in canonical_eyes(64))
    return Face(box=(x0, y0, x0 + side, y0 + side), left_eye=left, right_eye=right, score=score, rank=score, method="fake")


def fake_faces(image: np.ndarray, max_faces: int = 16) -> list[Face]:
    """The engine's face finder here: none in a flat image (one colour), else the centre square, or
    for a photo at least twice as wide as high two squares at its ends (two faces, the left one best)."""
    h, w = image.shape[:2]
    if np.ptp(image) == 0:
        return []
    if w >= 2 * h:
        return [square_face(0, 0, h, 1.0), square_face(w - h, 0, h, 0.9)][:max_faces]
    side = min(h, w)
    return [square_face((w - side) // 2, (h - side) // 2, side, 1.0)]


@functools.cache
def _shelf() -> Path:
    """The folder of every checkpoint (and every engine's model folder) this process made."""
    folder = Path(tempfile.mkdtemp(prefix="latent-studio-fake-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _shelved(latent_dim: int, image_size: int, dead: int, prior: bool, pca: bool) -> Path:
    """The checkpoint of these numbers, written once per process."""
    path = _shelf() / f"d{latent_dim}-s{image_size}-dead{dead}{'-prior' * prior}{'-pca' * pca}.safetensors"
    if not path.exists():
        fake_checkpoint(path, latent_dim, image_size, dead, prior, pca)
    return path


class FakeCrash(BaseException):
    """Raised by ``crash_next``: not an Exception, so it takes the worker thread down."""


class FakeEngine(Engine):
    """``engine.service.Engine`` offering fake models by name (``default`` and ``models``:
    name → (latent_dim, image_size)) and finding faces with :func:`fake_faces`."""

    def __init__(self, *, delay: float = 0.0, latent_dim: int = 8, image_size: int = 32, dead: int = 2,
                 models: dict[str, tuple[int, int]] | None = None, load_delay: float = 0.0) -> None:
        folder = Path(tempfile.mkdtemp(prefix="engine-", dir=_shelf()))
        super().__init__(face_finder=fake_faces, model_folder=folder)
        self.delay, self.load_delay, self.dead = delay, load_delay, dead
        for name, (dim, size) in {"default": (latent_dim, image_size), **(models or {})}.items():
            self.add_model(name, dim, size)
        self.decode_count = 0  # Decode and RenderEdit requests handled
        self.requests: list[Request] = []
        self.fail_next: Exception | None = None  # raised from handle() once
        self.error_next: str | None = None  # answered as ErrorResponse once
        self.crash_next = False  # raise FakeCrash (kills the worker thread) once
        self.thread_ids: set[int] = set()
        self._lock = threading.Lock()

    def add_model(self, name: str, latent_dim: int, image_size: int, *, prior: bool = False, pca: bool = True) -> None:
        """Offer another fake model as ``name`` (``prior``: with an aggregate prior to sample from;
        ``pca``: with PCA axes)."""
        shelved = _shelved(latent_dim, image_size, min(self.dead, latent_dim - 1), prior, pca)
        os.link(shelved, self.model_folder / f"{name}.safetensors")

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
        if error is not None:
            return ErrorResponse(request_id=request.request_id, message=error, kind="FakeError")
        if isinstance(request, LoadModel):
            time.sleep(self.load_delay)
        if isinstance(request, MODEL_WORK):
            time.sleep(self.delay)
        answer = super().handle(request)
        if isinstance(request, COUNTED) and not isinstance(answer, ErrorResponse):
            with self._lock:
                self.decode_count += 1
        return answer

    # ------------------------------------------------------------------ what a test expects, computed independently of the editor
    def decode_latents(self, z: np.ndarray) -> np.ndarray:
        """What the loaded model decodes ``z`` (N×D) to."""
        assert self.model is not None
        return self.model.decode(z)

    def aligned(self, image: np.ndarray) -> np.ndarray:
        """The crop the loaded model sees of ``image`` (its face aligned, as an Encode makes it)."""
        assert self.model is not None
        return crop_for_model(image, self.model.image_size, detector=fake_faces)
