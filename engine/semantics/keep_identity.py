"""Identity-keeping attribute directions: take out of a direction what changes who the face is.

A face-recognition descriptor (dlib's 128-d one, :mod:`engine.semantics.identity`) of the model's
own samples is regressed on their latents (ridge): desc ≈ Wᵀz + b, so a latent step δ moves the
descriptor by about Wᵀδ, and ‖Wᵀδ‖² = δᵀMδ with M = W Wᵀ. For a direction d whose own read-out is
r (the attribute's stored linear read-out; d itself without one) the identity-keeping direction is

    d' = argmin_δ  δᵀMδ + μ‖δ − d‖²   subject to  rᵀδ = rᵀd        μ = closeness × tr(M) / D

— it moves its own attribute's read-out as d does and leaves out what moves the descriptor, as far
as ``closeness`` lets it stray from d (measured on the face cGAN: docs/semantics.md, "Keeping the
person"). The editor's lock (:mod:`engine.semantics.orthogonal`) still applies on top of it.

Fitted on generated samples, judged (``eval-edits --landmarks``) on the test faces' encodings: the
same instrument as the identity judge, as the landmark directions are fitted on the landmarks
their judge reads — said wherever the numbers are.

Two ways to get M (``metric``):

* ``linear`` — M = W Wᵀ of the regression above: the part of the descriptor that moves the same
  way for every face. On the face cGAN it explains R² 0.24 of the descriptor;
* ``local`` — M = E[JᵀJ] over ``faces`` samples, J = ∂desc/∂z by central differences (±``eps``
  along each latent axis, the face box found once on the sample and kept, as the judge keeps the
  +2σ image's box). The expected squared descriptor change of a small step δ is exactly δᵀMδ,
  including what moves each face's identity a different way (which averages out of W): a head
  turn, for one (docs/semantics.md, "Keeping the person").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

RIDGE = 10.0  # the descriptor regression's ridge (latents are ~unit scale; 2,000 samples, 64–100 dims)
CLOSENESS = 3.0

METRICS = ("linear", "local")
EPS = 1.0  # the local metric's finite-difference half step, in latent units (a ±2σ edit is ±2 on the cGAN)

#: images (N×S×S×3 uint8) → (descriptors K×128 of the faces found, indices of those images)
Describe = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
#: (one image, N images) → the N images' descriptors read in the face box found on the one, or None when it has no face
DescribeAt = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class DescriptorMap:
    """desc ≈ Wᵀz + b over ``n`` samples; ``r2`` on those samples."""

    w: np.ndarray  # D×K
    n: int
    r2: float

    @property
    def gram(self) -> np.ndarray:
        return self.w @ self.w.T

    def change(self, step: np.ndarray) -> float:
        """‖Wᵀ step‖: how far a latent step moves the descriptor (dlib's same person: < 0.6)."""
        return float(np.linalg.norm(self.w.T @ np.asarray(step, np.float64)))


@dataclass(frozen=True)
class DescriptorJacobians:
    """E[JᵀJ] over ``n`` samples (module doc, ``local``)."""

    gram: np.ndarray  # D×D
    n: int
    eps: float

    def change(self, step: np.ndarray) -> float:
        """√(stepᵀ M step): the root-mean-square descriptor change of a latent step, to first order."""
        v = np.asarray(step, np.float64)
        return float(np.sqrt(max(v @ self.gram @ v, 0.0)))


def dlib_describe(upscale: int = 4) -> Describe:
    """dlib's descriptor of each image's largest HOG-detected face (upscaled like the judge's)."""
    from engine.semantics.identity import DlibIdentity

    ident = DlibIdentity(upscale=upscale)

    def describe(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, kept = [], []
        for i, im in enumerate(images):
            big = ident.upscaled(im)
            box = ident.face_box(big)
            if box is not None:  # a miss is left out, not read in a guessed box
                out.append(ident.descriptor(big, box))
                kept.append(i)
        return np.asarray(out, np.float64).reshape(len(out), -1), np.asarray(kept, int)

    return describe


def dlib_describe_at(upscale: int = 4) -> DescribeAt:
    """dlib's descriptors of ``images`` in the largest HOG-detected face box of ``center`` (None: no face)."""
    from engine.semantics.identity import DlibIdentity

    ident = DlibIdentity(upscale=upscale)

    def describe_at(center: np.ndarray, images: np.ndarray) -> np.ndarray | None:
        box = ident.face_box(ident.upscaled(center))
        if box is None:
            return None
        return np.stack([ident.descriptor(ident.upscaled(im), box) for im in images]).astype(np.float64)

    return describe_at


def sample_latents(model, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` prior draws N(mean, std²) of the model's latent statistics (a GAN's: N(0, I)) and, for a
    conditional model, labels drawn from its label prior (0/1)."""
    from engine.semantics.measure_directions import prior_draws

    rng = np.random.default_rng(seed)
    z = prior_draws(model, n, rng)
    if not model.labels:
        return z, None
    prior = np.asarray(model.label_space.prior, np.float64)
    return z, (rng.random((int(n), len(prior))) < prior).astype(np.float32)


def descriptor_map(model, n: int = 2000, seed: int = 0, describe: Describe | None = None, batch: int = 100) -> DescriptorMap:
    """Regress the descriptor of ``n`` decoded samples on their latents (:class:`DescriptorMap`)."""
    from engine.semantics.landmark_eval import decode_rows

    describe = describe or dlib_describe()
    z, y = sample_latents(model, n, seed)
    zs, ds = [], []
    for i in range(0, len(z), batch):
        d, kept = describe(decode_rows(model, z[i : i + batch], None if y is None else y[i : i + batch]))
        zs.append(z[i : i + batch][kept])
        ds.append(d)
    zz, dd = np.concatenate(zs).astype(np.float64), np.concatenate(ds)
    if len(zz) < max(50, zz.shape[1] // 2):
        raise ValueError(f"only {len(zz)} of {n} samples had a face the descriptor could read; identity needs more (raise --samples)")
    zc, dc = zz - zz.mean(0), dd - dd.mean(0)
    w = np.linalg.solve(zc.T @ zc + RIDGE * np.eye(zz.shape[1]), zc.T @ dc)
    r2 = 1.0 - float(((dc - zc @ w) ** 2).sum() / max((dc**2).sum(), 1e-12))
    return DescriptorMap(w=w, n=len(zz), r2=r2)


def descriptor_jacobians(
    model, faces: int = 60, eps: float = EPS, seed: int = 0, describe_at: DescribeAt | None = None, cache: bool = True
) -> DescriptorJacobians:
    """E[JᵀJ] over ``faces`` of the model's samples that have a face (module doc, ``local``): 2·D
    decodes and descriptor reads per face — minutes, so dlib's is kept in the user cache folder
    (``.npz``, keyed by the weights' fingerprint, faces, eps and seed; ``cache=False`` skips it):
    trying several closenesses costs it once."""
    from engine.semantics.encoded import cached_arrays

    path = _jacobians_cache(model, faces, eps, seed) if cache and describe_at is None else None

    def measure() -> dict[str, np.ndarray]:
        return {"gram": _jacobian_gram(model, faces, eps, seed, describe_at or dlib_describe_at())}

    return DescriptorJacobians(gram=cached_arrays(path, ("gram",), measure)["gram"], n=faces, eps=eps)


def _jacobians_cache(model, faces: int, eps: float, seed: int):
    import hashlib

    from engine.semantics.encoded import cache_dir

    key = hashlib.sha1(f"{model.fingerprint}|dlib-jacobians|{faces}|{eps!r}|{seed}".encode()).hexdigest()[:20]
    return cache_dir() / "identity" / f"{key}.npz"


def _jacobian_gram(model, faces: int, eps: float, seed: int, describe_at: DescribeAt) -> np.ndarray:
    """E[JᵀJ] over the first ``faces`` samples with a face (or ValueError)."""
    from engine.semantics.landmark_eval import decode_rows

    z, y = sample_latents(model, 2 * faces, seed)  # spares for the samples with no face found
    dim = z.shape[1]
    probes = np.concatenate([eps * np.eye(dim), -eps * np.eye(dim)])
    gram, used = np.zeros((dim, dim)), 0
    for k in range(len(z)):
        if used == faces:
            break
        yk = None if y is None else y[k : k + 1]
        center = decode_rows(model, z[k : k + 1], yk)[0]
        images = decode_rows(model, (z[k] + probes).astype(np.float32), None if yk is None else np.repeat(yk, len(probes), 0))
        desc = describe_at(center, images)
        if desc is None:
            continue
        jac = (desc[:dim] - desc[dim:]).T / (2.0 * eps)  # K×D
        gram += jac.T @ jac
        used += 1
    if used < faces:
        raise ValueError(f"only {used} of {len(z)} samples had a face the descriptor could read; the local metric wanted {faces}")
    return gram / used


def keep_identity(direction: np.ndarray, readout: np.ndarray, gram: np.ndarray, closeness: float = CLOSENESS) -> np.ndarray:
    """The identity-keeping version of ``direction`` (module doc), scaled to its length."""
    d = np.asarray(direction, np.float64).reshape(-1)
    r = np.asarray(readout, np.float64).reshape(-1)
    if not closeness > 0:
        raise ValueError(f"closeness must be > 0, got {closeness}")
    mu = closeness * float(np.trace(gram)) / len(d)
    a = gram + mu * np.eye(len(d))
    ad, ar = np.linalg.solve(a, mu * d), np.linalg.solve(a, r)
    kept = ad + (r @ d - r @ ad) / (r @ ar) * ar
    return (kept * np.linalg.norm(d) / np.linalg.norm(kept)).astype(np.float32)


def store_identity_kept(checkpoint, names=None, samples: int = 2000, closeness: float | dict[str, float] = CLOSENESS, seed: int = 0, out=None,
                        device: str = "cpu", describe: Describe | None = None, metric: str = "linear", faces: int = 60,
                        describe_at: DescribeAt | None = None, cache: bool = True) -> dict:  # fmt: skip
    """Replace the stored directions ``names`` (default: every landmark measure and Age the
    checkpoint has) by their identity-keeping versions under ``metric`` (module doc: ``samples``
    for ``linear``, ``faces`` for ``local``); write ``out`` (or in place). ``closeness`` is one
    number or one per name (then ``names`` defaults to its names). Refuses a direction already
    kept (measure-directions again first): it would be taken out twice."""
    from pathlib import Path

    import engine
    from engine import checkpoint as ckpt_io
    from engine.data.age import LABELS
    from engine.protocol.edits import attribute_step_vector

    ckpt = ckpt_io.load(checkpoint)
    each = dict(closeness) if isinstance(closeness, dict) else None
    names = list(names) if names else list(each) if each else [n for n in LABELS if n in ckpt.attributes]
    if each is not None and (unset := [n for n in names if n not in each]):
        raise ValueError(f"no closeness given for {unset[0]} (give one number, or NAME=NUMBER for each of --names)")
    missing = [n for n in names if n not in ckpt.attributes]
    if missing or not names:
        raise ValueError(
            f"{checkpoint}: no stored direction {missing[0] if missing else 'for the landmark measures or Age'} (measure-directions first)"
        )
    info = ckpt.info.setdefault("attributes", {})
    done = [n for n in names if "identity_kept" in info.get(n, {})]
    if done:
        raise ValueError(f"{checkpoint}: {done[0]} is identity-kept already; run measure-directions again before keeping it again")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use {' or '.join(METRICS)}")
    model = engine.load_model(str(checkpoint), device=device)
    if metric == "linear":
        dmap = descriptor_map(model, samples, seed, describe)
        how = {"metric": "linear", "samples": dmap.n, "descriptor_r2": round(dmap.r2, 4)}
    else:
        dmap = descriptor_jacobians(model, faces, EPS, seed, describe_at, cache)
        how = {"metric": "local", "faces": dmap.n, "eps": dmap.eps}
    gram, std = dmap.gram, model.latent_stats.std

    def two_sigma(v):  # the descriptor change of a −2σ → +2σ edit along v, σ as the sliders step it
        return dmap.change(4.0 * attribute_step_vector(v, std))

    report = {}
    for name in names:
        d = np.asarray(ckpt.attributes[name], np.float64)
        cls = ckpt.extra.get(f"classifier.{name}")
        readout = d if cls is None else np.asarray(cls, np.float64)[: len(d)]
        own = each[name] if each is not None else float(closeness)
        kept = keep_identity(d, readout, gram, own)
        facts = {"closeness": own, **how, "seed": seed,
                 "cosine_to_before": round(float(kept @ d / np.linalg.norm(kept) / np.linalg.norm(d)), 4),
                 "descriptor_change_before": round(two_sigma(d), 4), "descriptor_change_after": round(two_sigma(kept), 4)}  # fmt: skip
        ckpt.attributes[name] = kept
        info[name] = {**info.get(name, {}), "identity_kept": facts}
        report[name] = facts
    target = Path(out or checkpoint)
    ckpt_io.save(ckpt, target)
    return {"checkpoint": str(target), **how, "requested": samples if metric == "linear" else faces, "attributes": report}
