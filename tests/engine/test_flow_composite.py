"""engine.flow_composite: the flow between two decodes, the warp of an output patch, the change."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import step_parts as sp
from engine import landmark_flow as lf
from engine.small_cache import SmallCache
from engine.data.warp import sampling_grid


def blobs(s: int = 64, shift=(0.0, 0.0)) -> np.ndarray:
    """A smooth RGB test face: a few Gaussian blobs, moved by ``shift`` (x, y) crop px."""
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    img = np.full((s, s, 3), 120.0, np.float32)
    for cx, cy, r, col in ((20, 24, 5, (90, 40, 30)), (44, 24, 5, (90, 40, 30)), (32, 44, 7, (-60, -70, -40)), (32, 34, 3, (50, 60, 70))):
        g = np.exp(-((xx - cx - shift[0]) ** 2 + (yy - cy - shift[1]) ** 2) / (2.0 * r * r))
        img += g[:, :, None] * np.array(col, np.float32)
    return np.clip(img, 0, 255)


def test_flow_recovers_a_shift():
    src, dst = blobs(), blobs(shift=(1.5, -1.0))  # dst(u) = src(u − t): the flow is −t
    flow = fc.crop_flow(src, dst)
    inner = flow[16:52, 14:50]
    assert np.allclose(inner.mean((0, 1)), (-1.5, 1.0), atol=0.25)
    share = fc.explained_share(src, dst, flow, np.ones((64, 64), np.float32))
    assert share > 0.8


def test_no_change_no_flow():
    src = blobs()
    flow = fc.crop_flow(src, src)
    assert np.abs(flow).max() < 1e-3
    assert fc.explained_share(src, src, flow, np.ones((64, 64), np.float32)) == 0.0


def test_flow_is_deterministic():
    src, dst = blobs(), blobs(shift=(0.7, 0.3))
    assert np.array_equal(fc.crop_flow(src, dst), fc.crop_flow(src, dst))


def test_warp_patch_copies_pixels_that_do_not_move():
    rng = np.random.default_rng(0)
    patch = rng.uniform(0, 255, (40, 50, 3)).astype(np.float32)
    disp = np.zeros((40, 50, 2), np.float32)
    assert np.array_equal(fc.warp_patch(patch, disp), patch)
    disp[10:20, 10:20] = (0.5, -0.25)
    out = fc.warp_patch(patch, disp)
    keep = np.ones((40, 50), bool)
    keep[10:20, 10:20] = False
    assert np.array_equal(out[keep], patch[keep])
    assert not np.array_equal(out[~keep], patch[~keep])


def test_warp_patch_moves_by_whole_pixels_exactly():
    rng = np.random.default_rng(1)
    patch = rng.uniform(0, 255, (30, 30, 3)).astype(np.float32)
    disp = np.zeros((30, 30, 2), np.float32)
    disp[..., 0] = 2.0  # out(p) = patch(p + 2 px in x)
    out = fc.warp_patch(patch, disp)
    assert np.allclose(out[:, :-4], patch[:, 2:-2], atol=1e-3)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_output_displacement_follows_the_alignment(scale):
    """One crop px of flow is 1/scale output px when an output px spans ``scale`` crop px."""
    s, w = 64, int(64 / scale)
    grid = sampling_grid(np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]]), w, w, s, s)
    flow = np.zeros((s, s, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.0, -0.5
    d = fc.output_displacement(flow, grid)
    inner = d[w // 4 : 3 * w // 4, w // 4 : 3 * w // 4]
    assert np.allclose(inner.mean((0, 1)), (1.0 / scale, -0.5 / scale), atol=1e-3)


def test_rotated_alignment_maps_the_flow_through_the_rotation():
    s, w = 64, 64
    c, sn = np.cos(np.pi / 2), np.sin(np.pi / 2)  # output x is crop y
    m = np.array([[c, -sn, 64.0], [sn, c, 0.0]])
    grid = sampling_grid(m, w, w, s, s)
    flow = np.zeros((s, s, 2), np.float32)
    flow[..., 0] = 1.0  # +1 crop px in u
    d = fc.output_displacement(flow, grid)[16:48, 16:48].mean((0, 1))
    # crop u = −y + 64, v = x: +1 in u is −1 in output y
    assert np.allclose(d, (0.0, -1.0), atol=1e-3)


def test_flow_change_without_motion_is_the_added_change():
    s, w = 64, 96
    grid = sampling_grid(np.array([[64 / 96, 0.0, 0.0], [0.0, 64 / 96, 0.0]]), w, w, s, s)
    recon = blobs()
    face = recon + 10.0
    delta = np.full((s, s, 3), 10.0, np.float32)
    mot = fc.Motion(np.random.default_rng(0).normal(0, 1, (s, s, 2)).astype(np.float32), 0.5, 0.0)  # weight 0: not used
    original = np.full((w, w, 3), 80.0, np.float32)
    change, _ = fc.flow_change(original, grid, recon, face, delta, np.ones((s, s), np.float32), mot=mot)
    assert np.allclose(change, fc.sample(delta, grid))


def test_flow_change_moves_the_photo_and_adds_no_ghost():
    """A pure motion of the decode moves the photo's own detail: the change is the warp, the
    residual is small, and nothing moves where the mask is 0."""
    s, w = 64, 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, s, s)
    recon, face = blobs(), blobs(shift=(1.0, 0.0))
    mask = np.zeros((s, s), np.float32)
    mask[8:56, 8:56] = 1.0
    delta = (face - recon) * mask[:, :, None]
    rng = np.random.default_rng(2)
    original = rng.uniform(60, 200, (w, w, 3)).astype(np.float32)  # fine texture the model never saw
    change, mot = fc.flow_change(original, grid, recon, face, delta, mask)
    assert mot.share > 0.8
    assert np.array_equal(change[:8], np.zeros_like(change[:8]))  # outside the mask (crop rows 0..3): untouched
    inner = (original + change)[40:88, 40:88]
    shifted = original[40:88, 38:86]  # out(p) ≈ photo(p − 2 output px)
    assert np.abs(inner - shifted).mean() < 0.25 * np.abs(original[40:88, 40:88] - shifted).mean()


def test_a_head_turn_is_the_warp_alone():
    """HeadYaw (WARP_ONLY): the photo warped, and nothing of the change the flow does not explain (at
    64 px a turned face's ghost); a Smiling edit still adds it."""
    s, w = 64, 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, s, s)
    recon, face = blobs(), blobs(shift=(1.0, 0.0))
    mask = np.ones((s, s), np.float32)
    delta = face - recon + 15.0  # a motion and a shading no flow explains
    original = np.random.default_rng(3).uniform(60, 200, (w, w, 3)).astype(np.float32)
    mot = fc.motion(recon, face, mask, landmarks=False)
    turned, _ = fc.flow_change(original, grid, recon, face, delta, mask, mot=replace(mot, warp_only=1.0))
    warped = fc.warp_patch(original, fc.output_displacement(mot.flow * mask[:, :, None], grid))
    assert np.allclose(turned, warped - original, atol=1e-4)
    smiled, _ = fc.flow_change(original, grid, recon, face, delta, mask, mot=mot)
    assert (smiled - turned).mean() == pytest.approx(15.0, abs=1.5)
    e = np.eye(3, dtype=np.float32)
    attributes, std = {"HeadYaw": e[0], "Smiling": e[1], "Eyeglasses": e[2]}, np.ones(3, np.float32)
    groups = (sp.WARPED, sp.OPENS, sp.WARP_ONLY)
    assert sp.geometric_weights(e[0], attributes, std, None, groups) == (1.0, 0.0, 1.0)
    assert sp.geometric_weights(e[1], attributes, std, None, groups) == (1.0, 0.0, 0.0)
    assert sp.geometric_weights(e[0] + e[1], attributes, std, None, groups) == (1.0, 0.0, 0.0)  # half a turn: the change kept


def _jaw(s: int, line: float = 29.5, opening: float = 4.0, cols: slice = slice(20, 44)) -> tuple[np.ndarray, np.ndarray]:
    """landmark_flow.mouth_opening's fields for a mouth opened by ``opening`` crop px under a flat
    lips' line in columns ``cols`` (rows 30–33 opened, for the defaults), and that band on the crop's raster."""
    jaw = np.zeros((s, s, 4), np.float32)
    jaw[..., 0] = np.arange(s, dtype=np.float32)[:, None] - line
    jaw[:, cols, 1] = opening
    jaw[..., 2] = 1.0
    return jaw, lf.jaw_drop(jaw)[1]


def test_an_opened_band_is_painted_as_a_mouths_inside():
    """MouthOpen's jaw drop: where the band opens, the photo has nothing to show and the decode's
    opening is no model of a mouth (a soft grey or blue blob), so a mouth's inside is painted: a deep
    red at a share of the photo's lips' brightness, darkest mid-band; outside the band the warp as always.
    Without lips to read, the decode in the colour mode of every change."""
    from engine.fit_composite import LUMA, colour_change

    s, w = 64, 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, s, s)
    recon = np.full((s, s, 3), 120.0, np.float32)
    face = recon.copy()
    face[30:34, 20:44] = (20.0, 20.0, 90.0)  # the decode's dark, bluish mouth
    jaw, gap = _jaw(s)
    lips = np.zeros((s, s), np.float32)
    lips[27:30, 20:44] = 1.0  # crop rows 27–29: output rows 54–59
    mask = np.ones((s, s), np.float32)
    original = np.zeros((w, w, 3), np.float32) + (200.0, 120.0, 100.0)  # a warm photo
    original[54:60] = (180.0, 90.0, 90.0)  # its lips
    luma = lambda d: colour_change(d, "luma")  # noqa: E731
    mot = fc.Motion(np.zeros((s, s, 2), np.float32), 0.5, 1.0, jaw, None, 1.0, lips=lips)
    out = original + fc.flow_change(original, grid, recon, face, face - recon, mask, luma, mot)[0]
    lip_y = float(np.array([180.0, 90.0, 90.0]) @ LUMA)
    band = out[63:65, 50:78]  # the middle of the band (crop rows 30–33), away from its soft edges
    assert np.all(band @ LUMA < 0.25 * lip_y)  # dark: a mouth's inside, where the decode's was at 0.2 of the photo
    assert np.all(band @ LUMA > 0.05 * lip_y)
    assert np.all((band[..., 0] > 1.8 * band[..., 1]) & (band[..., 1] == band[..., 2]))  # deep red, not the decode's blue
    lower = out[67, 50:78] @ LUMA  # towards the band's lower edge it is lighter than in its middle,
    assert np.all(lower > band[0] @ LUMA)
    assert np.allclose(out[61, 50:78] @ LUMA, band[0] @ LUMA)  # under its upper edge (the teeth's shadow) as dark
    no_lips = replace(mot, lips=np.zeros((s, s), np.float32))  # nothing to read: the decode, luma on the photo's hue
    drawn = original + fc.flow_change(original, grid, recon, face, face - recon, mask, luma, no_lips)[0]
    assert np.allclose(drawn[63:65, 50:78] @ LUMA, float(np.array([20.0, 20.0, 90.0]) @ LUMA), atol=1.0)
    closed = fc.Motion(mot.flow, 0.5, 1.0, jaw, None, 0.0)  # opening weight 0: no band drawn
    plain = original + fc.flow_change(original, grid, recon, face, face - recon, mask, luma, closed)[0]
    assert np.abs(plain[63:65, 50:78] - band).max() > 10.0
    assert np.abs(plain[63:65, 50:78] - original[63:65, 50:78]).max() > 10.0  # without ``around``, the gap's shading is added
    hidden = fc.Motion(mot.flow, 0.5, 1.0, jaw, gap, 0.0)  # a smile's grin: the mouth not opened, its gap not added
    kept = original + fc.flow_change(original, grid, recon, face, face - recon, mask, luma, hidden)[0]
    assert np.abs(kept[63:65, 50:78] - original[63:65, 50:78]).max() < 1.0
    assert np.array_equal(kept[:50], plain[:50])  # elsewhere the change is added as before



def opened_mouth(opening_weight: float = 0.8):
    """A render with an opened, painted mouth: (original 128², grid, reconstruction, decode, mask, motion)."""
    s, w = 64, 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, s, s)
    recon, face = blobs(), blobs(shift=(1.0, 2.0))
    mask = np.ones((s, s), np.float32)
    lips = np.zeros((s, s), np.float32)
    lips[27:30, 20:44] = 1.0
    original = np.random.default_rng(4).uniform(60, 200, (w, w, 3)).astype(np.float32)
    mot = replace(fc.motion(recon, face, mask, landmarks=False), jaw=_jaw(s)[0], opening_weight=opening_weight, lips=lips)
    return original, grid, recon, face, mask, mot


@pytest.mark.parametrize("turned", [False, True])
def test_the_change_drawn_band_by_band_is_the_change_drawn_at_once(turned):
    """flow_layer's rows (what a full-resolution render draws between its abandon points) over any
    split of the output's rows give the whole change bit for bit: the warp reads the photo beyond
    its band, the painted mouth takes the lips' brightness from the whole photo; with a head turn
    after it, the mouth's box is read where the turn sends each pixel (``OpenMouth``'s reach)."""
    original, grid, recon, face, mask, mot = opened_mouth()
    turn = np.broadcast_to(np.float32([-3.0, 0.0]), (*mask.shape, 2)) if turned else None  # beyond the box's own 2-px pad
    whole, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot, turn=turn)
    rows, _ = fc.flow_layer(original, grid, recon, face, face - recon, mask, mot=mot, turn=turn)
    for cuts in ((0, 1, 60, 61, 128), (0, 37, 90, 128)):
        banded = np.concatenate([rows(slice(a, b)) for a, b in zip(cuts, cuts[1:])])
        assert np.array_equal(banded, whole)
    assert np.abs(whole).max() > 10.0  # it did move and paint

# --------------------------------------------------------------------------- PhotoEdit's composite


class _Stats:
    std = np.ones(8, np.float32)


class Moving:
    """A stand-in model: latent 0 along ``Smiling`` moves the face right by 2 crop px per unit; latent 1
    (``Eyeglasses``) draws a dark bar (new structure, not motion); latent 2 is ``MouthOpen`` (not warped)."""

    latent_dim, image_size = 8, 32
    latent_stats = _Stats()
    attributes = {"Smiling": np.eye(8, dtype=np.float32)[0], "Eyeglasses": np.eye(8, dtype=np.float32)[1],
                  "MouthOpen": np.eye(8, dtype=np.float32)[2]}  # fmt: skip

    def decode(self, z, labels=None):
        out = []
        for v in np.asarray(z, np.float32):
            im = blobs(64, shift=(2.0 * float(v[0]), 0.0))[::2, ::2].copy()
            im[12:15, 6:26] -= 60.0 * float(v[1])
            im[22:24, 12:20] -= 50.0 * float(v[2])
            out.append(np.clip(np.rint(im), 0, 255).astype(np.uint8))
        return np.stack(out)


@pytest.fixture(scope="module")
def moving(tiny_ckpt):
    from dataclasses import replace

    import engine
    from engine.photo import open_photo
    from tests.tiny_models import device_under_test

    rng = np.random.default_rng(5)
    photo = np.clip(np.repeat(np.repeat(blobs(64), 2, 0), 2, 1) + rng.normal(0, 15, (128, 128, 3)), 0, 255).astype(np.uint8)
    pe = open_photo(engine.load_model(str(tiny_ckpt), device=device_under_test()), photo, detector="centre")
    m = Moving()
    pe = replace(pe, model=m, z=np.zeros(8, np.float32), labels={}, reconstruction=m.decode(np.zeros((1, 8)))[0], colour="luma",
                 mask_shape="crop", _previews={})  # fmt: skip
    return pe, photo


def _plain(pe, z):
    """The composite without the warp: the photo plus the change, as before flow_composite."""
    delta, _, _ = pe._layers(z)
    original, _, _, grid = pe.output_geometry(True, 0)
    x0, y0, x1, y1 = pe.region
    out = pe.photo.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(original.astype(np.float32) + fc.sample(delta, grid)), 0, 255).astype(np.uint8)
    return out


def test_a_geometric_edit_warps_the_photo_and_others_add_the_change(moving):
    from engine.export_16bit import composite_float

    pe, photo = moving
    assert np.array_equal(pe.composite(pe.z), photo)  # zero edit: the photo exactly
    smile = np.eye(8, dtype=np.float32)[0] * 0.5
    out = pe.composite(smile)
    plain = _plain(pe, smile)
    assert not np.array_equal(out, plain)  # the warp is used
    # the photo's own texture moved (by ~1 crop px = the alignment's scale in photo px), not a blurred copy added
    x0, y0, x1, y1 = pe.region
    assert sp.geometric_weight(smile, pe.model.attributes, pe.model.latent_stats.std) == 1.0
    sharp = lambda im: np.abs(np.diff(im[y0 + 20 : y1 - 20, x0 + 20 : x1 - 20].astype(np.float32), axis=1)).mean()  # noqa: E731
    assert sharp(out) > 0.9 * sharp(photo)
    # every output agrees: preview scale, 16-bit float composite
    assert np.abs(composite_float(pe, smile) - out.astype(np.float32)).max() <= 0.5 + 1e-3
    small = pe.render(smile, max_side=64)
    assert small.changed and small.image.shape[0] <= 64
    # Eyeglasses (new structure) composites exactly as before: no warp at all
    glasses = np.eye(8, dtype=np.float32)[1]
    assert sp.geometric_weight(glasses, pe.model.attributes, pe.model.latent_stats.std) == 0.0
    assert np.array_equal(pe.composite(glasses), _plain(pe, glasses))
    mouth = np.eye(8, dtype=np.float32)[2]  # MouthOpen: warped since its opening is drawn as a jaw drop (landmark_flow)
    assert sp.geometric_weight(mouth, pe.model.attributes, pe.model.latent_stats.std) == 1.0
    assert sp.geometric_weight(mouth, pe.model.attributes, pe.model.latent_stats.std, names=sp.OPENS) == 1.0
    assert sp.geometric_weight(smile, pe.model.attributes, pe.model.latent_stats.std, names=sp.OPENS) == 0.0  # a smile's opening is not drawn
    assert not np.array_equal(pe.composite(mouth), _plain(pe, mouth))
    both = smile + glasses * 0.5  # mostly new structure: not warped
    assert sp.geometric_weight(both, pe.model.attributes, pe.model.latent_stats.std) == 0.0


def test_a_warped_edit_changes_nothing_outside_the_crop(moving):
    pe, photo = moving
    out = pe.composite(np.eye(8, dtype=np.float32)[0]).astype(int)
    changed = np.abs(out - photo).max(axis=2) > 0
    h, w = photo.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    m = pe.alignment.inverse
    u, v = m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
    s = pe.alignment.size
    inside = (u > -2) & (u < s + 2) & (v > -2) & (v < s + 2)
    assert changed.any() and not changed[~inside].any()
    # no seam: the change fades out towards the crop's border (the flow is faded by the mask), ring by ring
    dist = np.minimum(np.minimum(u, s - u), np.minimum(v, s - v))  # crop px from the crop's border
    ring = lambda a, b: np.abs(out - photo).max(axis=2)[inside & (dist >= a) & (dist < b)].mean()  # noqa: E731
    assert ring(0, 0.25) < 3 and ring(0, 0.25) < ring(0.5, 1) < ring(1.5, 2)


def test_min_jacobian_finds_a_fold():
    flow = np.zeros((32, 32, 2), np.float32)
    assert fc.min_jacobian(flow) == 1.0
    flow[:, 16:, 0] = -3.0  # the right half jumps 3 px left over the left half: a fold
    assert fc.min_jacobian(flow) < 0.0


def test_a_locked_geometric_step_is_still_warped():
    """The editor's lock projects other attributes' read-outs out of a step: the step leaves the span of
    the stored directions, but its read-out change stays on the warped attribute."""
    attributes = {"Smiling": np.eye(8, dtype=np.float32)[0], "Eyeglasses": np.eye(8, dtype=np.float32)[1] + np.eye(8, dtype=np.float32)[0]}
    std = np.ones(8, np.float32)
    readouts = {"Smiling": np.eye(8, dtype=np.float32)[0], "Eyeglasses": np.eye(8, dtype=np.float32)[1]}
    locked = np.eye(8)[0] + 0.8 * np.eye(8)[3]  # Smiling with a component the lock added off the span
    assert sp.geometric_weight(locked, attributes, std) < 0.5
    assert sp.geometric_weight(locked, attributes, std, readouts) == 1.0
    glasses = attributes["Eyeglasses"]
    assert sp.geometric_weight(glasses, attributes, std, readouts) == 0.0


def test_a_preview_estimates_the_flow_coarsely_and_the_full_render_finely(moving, monkeypatch):
    pe, _ = moving
    used = []
    flow = fc.crop_flow
    monkeypatch.setattr(fc, "crop_flow", lambda src, dst, mask=None, stages=None: used.append(stages) or flow(src, dst, mask, stages))
    monkeypatch.setattr(fc, "_CACHE", SmallCache(8))
    smile = np.eye(8, dtype=np.float32)[0] * 0.6
    preview = pe.render(smile, max_side=96)  # what a slider drag asks for
    assert preview.changed and used == [fc.QUICK_STAGES]
    pe.render(smile, full_resolution=True)  # the release: the fine flow, once
    pe.render(smile, full_resolution=True)
    assert used == [fc.QUICK_STAGES, fc.STAGES]
    assert sum(n for _, n in fc.QUICK_STAGES) * 2 < sum(n for _, n in fc.STAGES)
    # the coarse flow moves the features the same way as the fine one, by about as much (measured on
    # the default model's ±3σ geometric edits: within 0.2-0.6 crop px, p95), so the drag's end barely jumps
    src, dst = blobs(), blobs(shift=(0.6, -0.4))
    quick, fine = fc.crop_flow(src, dst, stages=fc.QUICK_STAGES)[16:52, 14:50], fc.crop_flow(src, dst)[16:52, 14:50]
    cos = (quick * fine).sum() / (np.linalg.norm(quick) * np.linalg.norm(fine))
    assert cos > 0.95 and np.percentile(np.linalg.norm(quick - fine, axis=2), 95) < 0.4


def test_a_head_turn_moves_by_its_own_field_as_far_as_it_is_the_warp_alone():
    """Motion.head (the landmarks' moves spread over hair and ears) replaces the flow for HeadYaw
    (warp_only 1), half of it for half a turn, and never for another edit (warp_only 0)."""
    s, w = 64, 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, s, s)
    recon, face = blobs(), blobs(shift=(1.0, 0.0))
    mask = np.ones((s, s), np.float32)
    original = np.random.default_rng(5).uniform(60, 200, (w, w, 3)).astype(np.float32)
    mot = fc.motion(recon, face, mask, landmarks=False)
    head = np.zeros((s, s, 2), np.float32) + (-2.0, 0.5)
    change = lambda m: fc.flow_change(original, grid, recon, face, face - recon, mask, mot=m)[0]  # noqa: E731
    assert np.array_equal(change(replace(mot, head=head, warp_only=1.0)), change(replace(mot, flow=head, warp_only=1.0)))
    half = (mot.flow + head) / 2
    assert np.allclose(change(replace(mot, head=head, warp_only=0.5)), change(replace(mot, flow=half, warp_only=0.5)), atol=1e-3)
    assert np.array_equal(change(replace(mot, head=head)), change(mot))
    # a roll (HEAD_MOVES, not WARP_ONLY): moved by the head's field, its change kept
    rolled = change(replace(mot, head=head, in_one_piece=1.0))
    assert np.array_equal(rolled, change(replace(mot, flow=head)))
    assert not np.allclose(rolled, change(replace(mot, head=head, warp_only=1.0)))
