"""Hostile checkpoints, crafted as safetensors + JSON metadata: every one is refused with a one-line
CheckpointError, quickly, without building (allocating) the model the config describes."""

from __future__ import annotations

import json
import resource
import time

import pytest
import torch
from safetensors.torch import save_file

from engine import checkpoint as ckpt_io
from engine.checkpoint import CheckpointError
from engine.models.vae import VAE
from tests.tiny_models import tiny_vae_config

_CFG = tiny_vae_config()


def _good():
    """(tensors, metadata dict) of a valid tiny checkpoint."""
    state = VAE(_CFG).state_dict()
    tensors = {f"model.{k}": v.clone().contiguous() for k, v in state.items()}
    tensors["stats.std"] = torch.ones(_CFG.latent_dim)
    meta = {"format": ckpt_io.FORMAT, "format_version": 1, "family": "vae", "config": dict(_CFG.__dict__), "labels": [], "info": {}}
    return tensors, meta


def _config(**fields):
    return lambda t, m: m["config"].update(fields)


def _meta(**fields):
    return lambda t, m: m.update(fields)


def _tensor(key, fn):
    def edit(t, m):
        t[key] = fn(t[key])

    return edit


def _poison(value):
    def edit(t, m):
        w = t["model.from_latent.weight"].clone()
        w.view(-1)[3] = value
        t["model.from_latent.weight"] = w

    return edit


HOSTILE = {
    # types where numbers go
    "float width": (_config(base_width=8.5), "base_width must be an integer"),
    "null latent_dim": (_config(latent_dim=None), "latent_dim must be an integer, got null"),
    "list image_size": (_config(image_size=[64, 64]), "image_size must be an integer, got tuple"),
    "string beta": (_config(beta="1"), "beta must be a finite number"),
    "bool channels": (_config(channels=True), "channels must be an integer"),
    "dict free_bits": (_config(free_bits={}), "free_bits must be a finite number"),
    # ranges: a small file asking for gigabytes
    "huge base_width": (_config(base_width=1_000_000), "base_width must be within 1..512"),
    "huge max_width": (_config(max_width=2**40), "max_width must be within 1..1024"),
    "huge latent_dim": (_config(latent_dim=10**9), "latent_dim must be within 1..1024"),
    "huge image_size": (_config(image_size=100_000), "image_size must be within 28..128"),
    "odd image_size": (_config(image_size=63), "image_size must be even"),
    "negative kl warmup": (_config(kl_warmup_steps=-5), "kl_warmup_steps must be within"),
    "huge beta": (_config(beta=1e308), "beta must be within"),
    "unknown likelihood": (_config(likelihood="laplace"), "likelihood must be one of"),
    "unknown field": (_config(depth=3), "does not know: depth"),
    # a valid config that does not match the tensors (checked before the module is built)
    "wider than tensors": (_config(base_width=512, max_width=1024), "weights do not match the vae config"),
    "latent_dim vs tensors": (_config(latent_dim=1024), "weights do not match the vae config"),
    "tensor reshaped": (_tensor("model.from_latent.weight", lambda w: w.reshape(-1)), "model.from_latent.weight is"),
    "extra weight": (lambda t, m: t.update({"model.spare": torch.zeros(3)}), "unexpected model.spare"),
    "stats of the wrong length": (lambda t, m: t.update({"stats.std": torch.ones(3)}), "stats.std has shape"),
    "prior of the wrong shape": (lambda t, m: t.update({"extra.prior_chol": torch.eye(3)}), "extra.prior_chol has shape (3, 3), expected (D, D)"),
    "pca axes of the wrong width": (lambda t, m: t.update({"extra.pca.axes": torch.ones(2, 5)}), "extra.pca.axes has shape (2, 5)"),
    "pca axes and variance disagree": (lambda t, m: t.update({"extra.pca.axes": torch.ones(2, _CFG.latent_dim), "extra.pca.variance": torch.ones(3)}),
                                       "disagree on the number of axes"),  # fmt: skip
    "classifier without its bias": (lambda t, m: t.update({"extra.classifier.Smile": torch.ones(_CFG.latent_dim)}), "extra.classifier.Smile has shape"),
    # non-finite weights decode to black images
    "nan weight": (_poison(float("nan")), "NaN or infinite"),
    "inf weight": (_poison(float("inf")), "NaN or infinite"),
    "nan direction": (lambda t, m: t.update({"attr.Smile": torch.full((_CFG.latent_dim,), float("nan"))}), "attr.Smile holds NaN"),
    "inf stats": (lambda t, m: t.update({"stats.std": torch.full((_CFG.latent_dim,), float("inf"))}), "stats.std holds NaN"),
    # the metadata itself
    "metadata a list": (lambda t, m: "[1, 2]", "metadata must be a JSON object"),
    "metadata a string": (lambda t, m: '"vae"', "metadata must be a JSON object"),
    "deeply nested": (lambda t, m: "[" * 100_000 + "]" * 100_000, "metadata is not valid JSON"),
    "config a list": (_meta(config=[1, 2]), "config must be a JSON object"),
    "family a list": (_meta(family=["vae"]), "family must be a string"),
    "unknown family": (_meta(family="diffusion"), "unknown model family"),
    "format_version a list": (_meta(format_version=[1]), "format_version must be a positive integer"),
    "format_version a float": (_meta(format_version=1.5), "format_version must be a positive integer"),
    "format_version from the future": (_meta(format_version=99), "newer than this Latent Studio"),
    "labels a string": (_meta(labels="abc"), "labels must be a list"),
    "labels of numbers": (_meta(labels=[1, 2]), "labels must be a list"),
    "info a list": (_meta(info=[1]), "info must be a JSON object"),
    "cgan config on vae weights": (_meta(family="cgan", config={"base_width": 512, "max_width": 1024}), "weights do not match the cgan config"),
    "realism calibration of strings": (_meta(info={"realism": {"score": "d_logit", "n": 5, "quantiles": ["a"] * 101}}), "info.realism: quantiles[0]"),
    "reject calibration with NaN": (_meta(info={"reject": {"score": "x", "n": 5, "quantiles": [float("nan")] * 101}}), "info.reject: quantiles[0]"),
    "calibration a list": (_meta(info={"realism": [1]}), "info.realism: a calibration must be a JSON object"),
    "calibration of 3 quantiles": (_meta(info={"realism": {"score": "x", "n": 5, "quantiles": [1, 2, 3]}}), "needs 101 quantiles, got 3"),
    "pca info a list": (_meta(info={"pca": [1]}), "info.pca must be a JSON object"),
    "no weights": (lambda t, m: [t.pop(k) for k in list(t) if k.startswith("model.")] and None, "holds no model weights"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_checkpoint_is_refused_in_one_line(case, tmp_path):
    edit, message = HOSTILE[case]
    tensors, meta = _good()
    raw = edit(tensors, meta)
    path = tmp_path / "m.safetensors"
    save_file(tensors, str(path), metadata={ckpt_io.META_KEY: raw if isinstance(raw, str) else json.dumps(meta)})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as exc:
        ckpt_io.load(path)
    assert time.perf_counter() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024  # KiB: nothing large was allocated
    text = str(exc.value)
    assert message in text and "\n" not in text and text.startswith("m.safetensors: "), text


def test_the_untouched_checkpoint_loads(tmp_path):
    tensors, meta = _good()
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata={ckpt_io.META_KEY: json.dumps(meta)})
    ckpt = ckpt_io.load(tmp_path / "m.safetensors")
    assert ckpt.config == _CFG and ckpt.build() is not None


def test_config_fields_are_checked_where_configs_are_made():
    from engine.models.cgan import CGANConfig
    from engine.models.cvae import CVAEConfig

    for cls, fields, message in [
        (CGANConfig, {"ema_decay": float("nan")}, "ema_decay must be a finite number"),
        (CGANConfig, {"n_critic": 0}, "n_critic must be within 1..100"),
        (CGANConfig, {"spectral_norm": 1}, "spectral_norm must be true or false"),
        (CGANConfig, {"loss": "hinge"}, "loss must be one of ns, wgan, wgan-gp"),
        (CVAEConfig, {"label_dim": 10**6}, "label_dim must be within 1..1000"),
        (CVAEConfig, {"embed_dim": 2.0}, "embed_dim must be an integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            cls(**fields)


# --------------------------------------------------------------------------- the other model files: judges, directions


def _judge_file(tmp_path, edit):
    from engine.semantics.judge import META_KEY, Judge, _nn, save_judge

    path = save_judge(Judge(_nn()(2, 3, (8, 8, 8, 8)), ["Eyeglasses", "Male"], 32, 3, (8, 8, 8, 8)), tmp_path / "j.safetensors")
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[META_KEY])
    raw = edit(tensors, meta)
    save_file(tensors, str(path), metadata={META_KEY: raw if isinstance(raw, str) else json.dumps(meta)})
    return path


HOSTILE_JUDGES = {
    "widths asking for gigabytes": (_meta(widths=[100_000, 100_000, 8, 8]), "widths[0] must be within 1..512"),
    "widths a string": (_meta(widths="wide"), "widths must be a list"),
    "channels a list": (_meta(channels=[3]), "channels must be an integer"),
    "image_size null": (_meta(image_size=None), "image_size must be an integer, got null"),
    "names a number": (_meta(names=5), "names must be a list"),
    "metadata a list": (lambda t, m: "[1]", "metadata must be a JSON object"),
    "nested 100000 deep": (lambda t, m: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "nan weight": (lambda t, m: t.update({k: torch.full_like(v, float("nan")) for k, v in t.items() if v.is_floating_point()}), "NaN or infinite"),
    "weights of another shape": (_meta(widths=[8, 8, 8, 16]), "judge weights do not match"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_JUDGES))
def test_hostile_judge_is_refused_in_one_line(case, tmp_path):
    from engine.semantics.judge import load_judge

    edit, message = HOSTILE_JUDGES[case]
    path = _judge_file(tmp_path, edit)
    with pytest.raises(ValueError) as exc:
        load_judge(path)
    assert message in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


@pytest.mark.parametrize("meta_edit, message", [
    (_meta(latent_dim=[8]), "latent_dim must be an integer within 1..1024"),
    (_meta(latent_dim=None), "latent_dim must be an integer"),
    (_meta(format_version="1"), "format_version must be a positive integer"),
    (lambda t, m: '"x"', "metadata must be a JSON object"),
    (lambda t, m: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
])  # fmt: skip
def test_hostile_directions_file_is_refused_in_one_line(meta_edit, message, tmp_path):
    import numpy as np
    from safetensors.numpy import load_file as load_np
    from safetensors.numpy import save_file as save_np

    from engine.semantics.direction_files import META_KEY, DirectionsFileError, read_directions, write_directions

    path = write_directions(tmp_path / "d.safetensors", {"Smile": np.ones(8, np.float32)})
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()[META_KEY])
    tensors = load_np(str(path))
    raw = meta_edit(tensors, meta)
    save_np(tensors, str(path), metadata={META_KEY: raw if isinstance(raw, str) else json.dumps(meta)})
    with pytest.raises(DirectionsFileError) as exc:
        read_directions(path)
    assert message in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


@pytest.mark.parametrize("case", ["nan weight", "huge base_width", "list image_size", "deeply nested"])
def test_commands_report_a_hostile_checkpoint_in_one_line(case, tmp_path, capsys):
    """NaN weights used to decode to black images with exit 0."""
    from engine.cli import main

    edit, message = HOSTILE[case]
    tensors, meta = _good()
    raw = edit(tensors, meta)
    path = tmp_path / "m.safetensors"
    save_file(tensors, str(path), metadata={ckpt_io.META_KEY: raw if isinstance(raw, str) else json.dumps(meta)})
    assert main(["sample", "--model", str(path), "-n", "2", "--out", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: m.safetensors: ") and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "grid.png").exists()
