"""Likelihoods (ELBO, IWAE), the realism gauge, the generative classifier and its reject rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from _conditional import CLASSES, labelled_images, onehot_of, save, tiny_cgan, tiny_cvae

import engine
from engine import checkpoint as ckpt_io
from engine.cli import main
from engine.evaluate import evaluate_vae
from engine.likelihood import (
    Calibration,
    RealismGauge,
    latent_typicality,
    bits_per_dim,
    calibrate,
    calibrate_gan_on_samples,
    classify,
    elbo_and_iwae,
    label_log_likelihoods,
    roc_auc,
    true_setting_index,
)
from engine.protocol import LATENT_RMS_LIMIT
from tests.tiny_models import smooth_images
from tests.tiny_models import device_under_test


@pytest.fixture(scope="module")
def cvae_onehot():
    # 300 steps: at 150 the seed-0 run lands in a label-blind optimum on some CPUs (chance accuracy)
    return tiny_cvae("onehot", steps=300).requires_grad_(False)


def test_iwae_bound_is_above_the_elbo(tiny_ckpt):
    net = ckpt_io.load(tiny_ckpt).build().eval()
    x = smooth_images(16, 32, seed=3)
    elbo, iwae = elbo_and_iwae(net, x, k=32)
    assert (iwae >= elbo - 1e-4).all()  # per image, with the same samples: log-mean-exp ≥ mean
    assert float(iwae.mean()) > float(elbo.mean())
    _, iwae1 = elbo_and_iwae(net, x, k=1, seed=1)
    _, iwae64 = elbo_and_iwae(net, x, k=64, seed=1)
    assert float(iwae64.mean()) >= float(iwae1.mean())  # tighter with more samples, on average
    bpd = bits_per_dim(net, x, k=16)
    assert (bpd["iwae_bpd"] <= bpd["elbo_bpd"] + 1e-5).all()


def test_elbo_bits_per_dim_agree_with_the_evaluator(tiny_ckpt):
    from engine.data.datasets import ImageSet

    net = ckpt_io.load(tiny_ckpt).build().eval()
    x = smooth_images(64, 32, seed=4)
    data = ImageSet((x * 255).round().byte())
    ev = evaluate_vae(net, data, torch.device("cpu"))
    xq = data.images.float() / 255
    ours = float(bits_per_dim(net, xq, k=64)["elbo_bpd"].mean())
    assert abs(ours - ev["elbo_bits_per_dim"]) < 0.05 * abs(ev["elbo_bits_per_dim"])


def test_seeded_estimates_are_deterministic(cvae_onehot):
    x, y = labelled_images(4, 28, 1)
    a = label_log_likelihoods(cvae_onehot, x, cvae_onehot.label_space(), k=8, seed=0)
    b = label_log_likelihoods(cvae_onehot, x, cvae_onehot.label_space(), k=8, seed=0)
    assert a.shape == (4, 2) and torch.equal(a, b)


def test_generative_classifier_is_right_on_in_distribution_data(cvae_onehot):
    x, y = labelled_images(64, 28, 1, seed=9)
    space = cvae_onehot.label_space(CLASSES)
    res = classify(cvae_onehot, x, space, k=8)
    truth = true_setting_index(space, onehot_of(y))
    assert (res.prediction == truth).mean() > 0.9
    assert np.allclose(res.posterior.sum(1), 1.0, atol=1e-5) and res.names == list(CLASSES)


def test_reject_rule_rejects_noise(cvae_onehot):
    space = cvae_onehot.label_space(CLASSES)
    x_val, _ = labelled_images(128, 28, 1, seed=11)
    val = classify(cvae_onehot, x_val, space, k=8).score
    threshold = float(np.percentile(val, 5))
    noise = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    res = classify(cvae_onehot, noise, space, k=8)
    assert res.rejected(threshold).all()
    x_test, _ = labelled_images(64, 28, 1, seed=12)
    accepted = ~classify(cvae_onehot, x_test, space, k=8).rejected(threshold)
    assert accepted.mean() > 0.8
    assert roc_auc(classify(cvae_onehot, x_test, space, k=8).score, res.score) > 0.99


def test_roc_auc_matches_the_definition_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 50).astype(float), rng.integers(0, 4, 40).astype(float)
    pairs = [(1.0 if p > n else 0.5 if p == n else 0.0) for p in pos for n in neg]
    assert abs(roc_auc(pos, neg) - np.mean(pairs)) < 1e-12
    assert roc_auc([2, 3], [0, 1]) == 1.0 and roc_auc([0], [1]) == 0.0


def test_calibration_percentiles():
    cal = Calibration.from_scores("x", np.arange(1001, dtype=float))
    assert abs(float(cal.percentile(500.0)) - 50) < 1e-6
    assert float(cal.percentile(-5.0)) == 0.0 and float(cal.percentile(1e9)) == 100.0
    assert abs(cal.threshold(5) - 50.0) < 1e-6
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again.quantiles == cal.quantiles
    with pytest.raises(ValueError):
        Calibration.from_dict({"score": "x", "quantiles": [1, 2], "n": 2})


def test_gauge_of_a_vae_uncalibrated_then_calibrated(tiny_ckpt, tmp_path):
    m = engine.load_model(tiny_ckpt, device=device_under_test())
    images = (smooth_images(3, 32, seed=1).permute(0, 2, 3, 1) * 255).byte().numpy()
    rows = RealismGauge(m, k=4)(images)
    assert len(rows) == 3 and math.isnan(rows[0]["percentile"]) and rows[0]["plausible"]
    assert rows[0]["iwae_bpd"] <= rows[0]["elbo_bpd"] + 1e-5 and rows[0]["score"] == pytest.approx(-rows[0]["iwae_bpd"])
    from engine.data.datasets import ImageSet

    data = ImageSet((smooth_images(64, 32, seed=2) * 255).round().byte())
    cal = calibrate(m.net, "vae", data, None, k=4, device=m.device)["realism"]
    ck = ckpt_io.load(tiny_ckpt)
    ck.info["realism"] = cal.to_dict()
    ckpt_io.save(ck, tmp_path / "cal.safetensors")
    gauge = RealismGauge(engine.load_model(tmp_path / "cal.safetensors", device=device_under_test()), k=4)
    good = gauge(images)
    noise = gauge(np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8))
    assert all(0 <= r["percentile"] <= 100 for r in good) and min(r["percentile"] for r in good) > 5
    assert all(r["percentile"] == 0 and not r["plausible"] for r in noise)


def test_gauge_of_a_gan_is_the_discriminator_score(tmp_path):
    net = tiny_cgan("ns", steps=15)
    x, y = labelled_images(64, 32, seed=3)
    from engine.data.datasets import ImageSet

    data = ImageSet((x * 255).round().byte())
    cal = calibrate(net, "cgan", data, y, k=0)["realism"]
    assert cal.score == "d_logit" and cal.n == 64
    path = save(net, tmp_path / "g.safetensors", info={"realism": cal.to_dict()})
    m = engine.load_model(path, device=device_under_test())
    rows = RealismGauge(m)(x[:4], labels={"Bright": 1.0})
    expected = m.net.discriminate(x[:4].to(m.device), m.label_tensor({"Bright": 1.0}, 4))  # same device, same kernels
    assert np.allclose([r["d_logit"] for r in rows], expected.detach().cpu().numpy(), atol=1e-5)
    assert all(0 <= r["percentile"] <= 100 for r in rows)


def test_latent_typicality_is_the_chi_square_tail_of_the_prior():
    z = torch.randn(4000, 100, generator=torch.Generator().manual_seed(0))
    tail, rms = latent_typicality(z)
    assert 45 < np.median(tail) < 55 and abs(float(np.mean(tail < 2.0)) - 0.02) < 0.01  # uniform over prior draws
    assert abs(np.median(rms) - 1.0) < 0.01 and rms.max() < 1.3
    assert latent_typicality(torch.zeros(1, 100))[0][0] == pytest.approx(100.0)
    far_tail, far_rms = latent_typicality(3.0 * z[:16])
    assert (far_tail < 1e-6).all() and np.allclose(far_rms, 3.0 * rms[:16])


def test_gan_gauge_warns_when_the_latent_is_beyond_the_rms_limit_whatever_d_says(tmp_path):
    net = tiny_cgan("ns", steps=15)
    path = save(net, tmp_path / "g.safetensors", info={"realism": calibrate_gan_on_samples(net, n=300, seed=1).to_dict()})
    m = engine.load_model(path, device=device_under_test())
    z = np.asarray(m.sample_latents(16, seed=3))
    gauge, labels = RealismGauge(m), {"Bright": 1.0}
    for scale in (1.0, 2.5):
        zs = (z * scale).astype(np.float32)
        images = m.decode(zs, labels=labels)
        d_only, with_z = gauge(images, labels), gauge(images, labels, torch.as_tensor(zs))
        for a, b in zip(d_only, with_z):
            assert b["percentile"] == a["percentile"] and b["d_logit"] == a["d_logit"]  # the number shown stays D's
            assert b["plausible"] == (a["plausible"] and b["latent_rms"] <= LATENT_RMS_LIMIT)
        far = [r["latent_rms"] > LATENT_RMS_LIMIT for r in with_z]
        assert sum(far) >= 14 if scale == 2.5 else not any(far)


def test_gan_gauge_calibrated_on_its_own_samples_places_them_mid_range(tmp_path):
    from engine.cli import main

    net = tiny_cgan("ns", steps=15)
    cal = calibrate_gan_on_samples(net, n=300, seed=1)
    assert cal.score == "d_logit" and cal.n == 300 and "own samples" in cal.data
    path = save(net, tmp_path / "g.safetensors", info={"realism": cal.to_dict()})
    m = engine.load_model(path, device=device_under_test())
    fresh = m.sample(64, seed=7, labels={"Bright": 1.0, "Red": 0.0})  # other z than the calibration's
    pct = np.array([r["percentile"] for r in RealismGauge(m)(fresh, labels={"Bright": 1.0, "Red": 0.0})])
    assert 10 < np.median(pct) < 90  # typical output sits inside its own distribution
    assert main(["calibrate", str(path), "--on", "samples", "--limit", "200", "--json", "--quiet"]) == 0
    assert "own samples" in ckpt_io.load(path).info["realism"]["data"]
    vae = tmp_path / "v.safetensors"
    from tests.tiny_models import tiny_checkpoint

    tiny_checkpoint(vae, steps=2)
    assert main(["calibrate", str(vae), "--on", "samples"]) == 2  # one-line error: only for GANs


def test_classify_command_with_reject(cvae_onehot, tmp_path, capsys):
    from PIL import Image

    from engine.data.datasets import ImageSet

    x_val, y_val = labelled_images(96, 28, 1, seed=21)
    data = ImageSet((x_val * 255).round().byte(), labels=y_val[:, :1].long().numpy(), label_names=["class"])
    cals = calibrate(cvae_onehot, "cvae", data, onehot_of(y_val), k=4)
    assert set(cals) == {"realism", "reject"}
    path = save(cvae_onehot, tmp_path / "c.safetensors", names=CLASSES, info={k: v.to_dict() for k, v in cals.items()})
    files = []
    x, y = labelled_images(2, 28, 1, seed=22)
    for i in range(2):
        files.append(tmp_path / f"in{i}.png")
        Image.fromarray((x[i, 0] * 255).round().byte().numpy()).save(files[-1])
    files.append(tmp_path / "noise.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(files[-1])
    assert main(["classify", str(path), *map(str, files), "--reject-below", "5%", "--k", "4", "--json", "--device", device_under_test()]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["images"]
    assert [r["rejected"] for r in rows] == [False, False, True]
    assert [r["label"] for r in rows[:2]] == [CLASSES[int(v)] for v in y[:, 0]]
    assert main(["classify", str(path), str(files[0]), "--reject-below", "lots"]) == 2
    assert "reject-below" in capsys.readouterr().err


def test_fid_and_kid_arithmetic():
    from engine.fid import fid, kid

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    shifted = b + 1.0
    assert fid(a, a) < 1e-6 and fid(a, b) < 1.5 and abs(fid(a, shifted) - 16.0) < 3.0  # ‖Δμ‖² = 16
    assert abs(kid(a, b, subsets=5, subset_size=200)[0]) < 0.05 < kid(a, shifted, subsets=5, subset_size=200)[0]


def test_real_image_features_are_cached_by_content(tmp_path, monkeypatch):
    from engine import fid as F

    weights = tmp_path / "default_1.pt"
    weights.write_bytes(b"stand-in for the Inception file")
    monkeypatch.setattr(F, "inception_path", lambda: str(weights))
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def net(x):  # a stand-in network: 2048 features from the resized batch
        calls.append(x.shape[0])
        return x.mean(dim=(1, 2, 3), keepdim=False)[:, None].expand(-1, 2048).clone()

    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    first = F.cached_features(net, images, batch_size=4)
    assert calls == [4, 1] and first.shape == (5, 2048)
    np.testing.assert_array_equal(F.cached_features(net, images, batch_size=4), first)
    assert calls == [4, 1]  # the second time from the cache
    other = images.clone()
    other[0, 0, 0, 0] ^= 1  # other images: computed again
    F.cached_features(net, other, batch_size=8)
    assert calls == [4, 1, 5]
    F.cached_features(net, images, batch_size=8, cache=False)
    assert calls == [4, 1, 5, 5]
    entries = list((tmp_path / "cache" / "fid").glob("*.npz"))
    assert len(entries) == 2  # the two image sets
    for f in entries:
        f.write_bytes(b"damaged")
    np.testing.assert_array_equal(F.cached_features(net, images, batch_size=8), first)  # recomputed, not an error
    assert calls == [4, 1, 5, 5, 5]
