"""Compositing a fitted photo (engine.fit_composite, PhotoEdit.render): whatever the method, a zero
edit returns the photo exactly and nothing outside the mask changes; a solid method replaces the
photo's pixels where the model draws new structure (a dark bar comes out dark and flat, not as a
shadow over the photo's texture), and adds only the change elsewhere."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import engine
from engine.fit_composite import CROP_FEATHER, WIDE_MASK, crop_mask, method_fields, solid_alpha
from engine.photo import face_mask, open_photo
from tests.tiny_models import device_under_test

METHODS = ("face-luma", "face-rgb", "wide-luma", "crop-luma", "crop-rgb", "crop-luma-s30", "crop-rgb-s30", "face-luma-s30")
S = 32  # the tiny model's crop
BAR = (slice(13, 18), slice(6, 26))  # crop rows/columns of the dark bar the fake edit draws


class Drawn:
    """A stand-in for a fitted model: the pivot decodes to ``rec``; any other latent to ``rec``
    with a dark bar (new structure) and a faint brightening elsewhere (a shading change)."""

    latent_dim, image_size = 8, S

    def __init__(self, rec: np.ndarray):
        self.rec = rec
        self.edited = rec.astype(np.int16) + 4
        self.edited[BAR] = 40
        self.edited = self.edited.clip(0, 255).astype(np.uint8)

    def decode(self, z, labels=None):
        return np.stack([self.rec if not np.any(v) else self.edited for v in np.asarray(z)])


@pytest.fixture(scope="module")
def photo():
    """A 128×128 photo with pixel-level texture (what a 32-px crop cannot hold) over smooth colour."""
    rng = np.random.default_rng(3)
    base = F.interpolate(torch.from_numpy(rng.uniform(60, 200, (1, 3, 4, 4)).astype(np.float32)), size=(128, 128), mode="bilinear")
    tex = rng.normal(0, 18, (128, 128, 1))
    return (base[0].permute(1, 2, 0).numpy() + tex).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def fitted(tiny_ckpt, photo):
    """The photo opened on the tiny model, then bound to :class:`Drawn` as a fit would bind it:
    the pivot (z = 0) reproduces the crop at the model's resolution."""
    pe = open_photo(engine.load_model(str(tiny_ckpt), device=device_under_test()), photo, detector="centre")
    m = Drawn(pe.crop)
    return replace(pe, model=m, z=np.zeros(8, np.float32), labels={}, reconstruction=pe.crop, unfitted=pe.model, _previews={})


def _with(pe, name: str):
    return replace(pe, **method_fields(name), _previews={}, _mask_crop=None)


def _crop_coords(pe, shape):
    """Crop-space (u, v) in pixels of every photo pixel centre."""
    h, w = shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    m = np.asarray(pe.alignment.inverse, np.float64)  # photo -> crop
    return m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]


@pytest.mark.parametrize("name", METHODS)
def test_zero_edit_is_the_photo_exactly(fitted, photo, name):
    pe = _with(fitted, name)
    assert np.array_equal(pe.composite(pe.z), photo)
    r = pe.render(pe.z, max_side=64)
    assert not r.changed and r.image.shape[0] <= 64


@pytest.mark.parametrize("name", METHODS)
def test_nothing_changes_outside_the_mask(fitted, photo, name):
    pe = _with(fitted, name)
    out = pe.composite(np.ones(8, np.float32)).astype(int)
    changed = np.abs(out - photo).max(axis=2) > 0
    assert changed.any()
    u, v = _crop_coords(pe, photo.shape)
    s = pe.alignment.size
    if name.startswith("face"):  # outside the face ellipse (plus the bicubic reach of 2 crop pixels)
        big = face_mask(s * 8, radii=(0.40 + 2.0 / s, 0.46 + 2.0 / s), feather=1e-6)  # a hard, slightly larger ellipse
        inside = big[np.clip((v * 8).astype(int), 0, s * 8 - 1), np.clip((u * 8).astype(int), 0, s * 8 - 1)] > 0
        inside &= (u > -2) & (u < s + 2) & (v > -2) & (v < s + 2)
    elif name.startswith("wide"):  # outside the circle inscribed in the crop (plus the bicubic reach)
        inside = (u - s / 2) ** 2 + (v - s / 2) ** 2 < (s / 2 + 2) ** 2
    else:  # outside the crop square
        inside = (u > -2) & (u < s + 2) & (v > -2) & (v < s + 2)
    assert not changed[~inside].any()
    assert changed[inside].mean() > 0.3


def test_the_crop_mask_covers_the_crop_and_fades_at_its_edge():
    m = crop_mask(64)
    k = int(np.ceil(64 * CROP_FEATHER))
    assert np.all(m[k:-k, k:-k] == 1.0) and m.max() == 1.0
    assert m[0].max() < 0.02 and m[:, -1].max() < 0.02  # ~0 at the border: no seam where the warped square ends
    assert np.allclose(m, m.T) and np.allclose(m, m[::-1])
    assert (face_mask(64) <= m + 1e-6).all()  # it holds the face mask's whole region
    wide = face_mask(64, **WIDE_MASK)
    assert wide[0].max() < 0.01 and wide[:, 0].max() < 0.01 and wide.sum() > 1.1 * face_mask(64).sum()


def test_a_solid_edit_replaces_the_pixels_under_new_structure(fitted, photo):
    """The bar comes out as the model draws it (dark, flat: the photo's texture gone), where adding
    the change leaves the texture over a darker base; away from the bar both add the same change."""
    add, solid = _with(fitted, "crop-rgb"), _with(fitted, "crop-rgb-s30")
    z = np.ones(8, np.float32)
    a, s = add.composite(z).astype(np.float32), solid.composite(z).astype(np.float32)
    u, v = _crop_coords(fitted, photo.shape)
    # the bar's interior, clear of the bicubic ringing at its edges
    bar = (v > BAR[0].start + 1.5) & (v < BAR[0].stop - 1.5) & (u > BAR[1].start + 1.5) & (u < BAR[1].stop - 1.5)
    lum = lambda im: im @ np.array([0.299, 0.587, 0.114], np.float32)  # noqa: E731
    assert lum(s)[bar].std() < 0.2 * lum(a)[bar].std()  # flat: the photo's texture is replaced
    assert lum(a)[bar].std() > 0.7 * lum(photo.astype(np.float32))[bar].std()  # added: the texture shows through
    assert abs(lum(s)[bar].mean() - 40.0) < 4.0  # as dark as the model's bar
    far = (v > 24) & (v < 28) & (u > 6) & (u < 26)  # the faint +4 brightening only: no replacement there
    assert np.abs(s[far] - a[far]).max() <= 1.0


def test_solid_alpha_and_method_names():
    d = np.zeros((4, 4, 3), np.float32)
    d[0, 0] = 40.0
    d[1, 1] = 5.0
    a = solid_alpha(d, 30.0)
    assert a[0, 0] == 1.0 and a[1, 1] == 0.0 and a[2, 2] == 0.0 and solid_alpha(d, 0.0) is None
    assert method_fields("crop-luma-s30") == {"mask_shape": "crop", "colour": "luma", "solid": 30.0}
    assert method_fields("face-rgb") == {"mask_shape": "face", "colour": "rgb", "solid": 0.0}
    for bad in ("crop", "oval-rgb", "crop-hsv", "crop-rgb-30", "crop-rgb-s-5", "crop-rgb-snan"):
        with pytest.raises(ValueError):
            method_fields(bad)
