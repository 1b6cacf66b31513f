"""``latent-studio``: the GUI when called without a subcommand, else one of the subcommands.

Every subcommand has ``--help``, exits non-zero with a one-line ``error:`` on bad input, shows
progress on long work (``--quiet`` silences it) and prints JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from engine.cli.options import MAX_IMAGES, MAX_SEED, MAX_THREADS, float_in, int_in

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], dict | None], str]] = {}


def command(name: str, help: str):
    """Register ``add_args`` (this decorator's target's ``.args``) and the runner of a subcommand."""

    def deco(run):
        COMMANDS[name] = (getattr(run, "add_args", lambda p: None), run, help)
        return run

    return deco


def args(add: Callable[[argparse.ArgumentParser], None]):
    def deco(run):
        run.add_args = add
        return run

    return deco


def say(a) -> Callable[[str], None]:
    """A log function for progress lines on stderr, silent under ``--quiet``."""
    return (lambda s: None) if a.quiet else (lambda s: print(s, file=sys.stderr))


def set_threads(a) -> None:
    """Apply ``--threads`` (0: torch's default)."""
    if getattr(a, "threads", 0):
        import torch

        torch.set_num_threads(int(a.threads))


def load_model_from_args(a):
    """The model that :func:`model_args` names, on its device, after ``--threads`` is applied."""
    import engine

    set_threads(a)
    return engine.load_model(getattr(a, "checkpoint", None) or a.model, device=a.device)


def checkpoint_out_arg(p: argparse.ArgumentParser) -> None:
    """``--out`` of a command that rewrites a checkpoint (directions, read-outs, calibrations)."""
    p.add_argument("--out", help="write a new checkpoint here instead of updating CHECKPOINT in place")


def model_args(p: argparse.ArgumentParser, positional: bool) -> None:
    """The model to load (a positional CHECKPOINT or ``--model``), ``--device`` and ``--threads``."""
    if positional:
        p.add_argument("checkpoint", help="bundled name or checkpoint path")
    else:
        p.add_argument("--model", default="default", help="bundled name or checkpoint path")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--threads", type=int_in(0, MAX_THREADS), default=0, help="torch threads (0: torch's default)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# --------------------------------------------------------------------------- train


def _train_args(p):
    from engine.training.config import TrainConfig

    d = TrainConfig()
    p.add_argument("--model", default=d.model, help="model family: vae | cvae (conditional VAE) | cgan (conditional GAN); conditional ones need labelled data")
    p.add_argument("--data", required=True, help="faces:DIR | folder:DIR | celeba:DIR | fashion-mnist")
    p.add_argument("--size", type=int_in(28, 128), default=d.size, help="image size, 28..128")
    p.add_argument("--channels", type=int, default=d.channels, choices=(1, 3))
    p.add_argument("--latent-dim", type=int_in(1, 1024), default=d.latent_dim)
    p.add_argument("--epochs", type=int_in(1, 100_000), default=d.epochs)
    p.add_argument("--batch-size", type=int_in(1, 4096), default=d.batch_size)
    p.add_argument("--lr", type=float_in(0, 10, above=True), default=None, help=f"learning rate (default: {', '.join(f'{k} {v:g}' for k, v in FAMILY_LR.items())}, else {d.lr:g})")
    p.add_argument("--beta", type=float_in(0, 1000), default=d.beta, help="weight of the KL term")
    p.add_argument("--kl-warmup-epochs", type=float_in(0, 100_000), default=d.kl_warmup_epochs)
    p.add_argument("--free-bits", type=float_in(0, 100), default=d.free_bits, help="nats per latent dimension not penalised")
    p.add_argument("--likelihood", default=d.likelihood, choices=("gaussian", "bernoulli"))
    p.add_argument("--base-width", type=int_in(1, 512), default=d.base_width)
    p.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    p.add_argument("--augment", default=d.augment, choices=("none", "real"),
                   help="real: white balance, colour, tone, blur/sharpening, noise, JPEG, small affine and lighting changes on each "
                        "training batch, so that real photos' crops are in distribution (the model reconstructs what it sees)")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("--threads", type=int_in(0, MAX_THREADS), default=d.threads)
    p.add_argument("--time-budget-min", type=float_in(0, 10**6), default=0.0, help="stop cleanly after this many minutes")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="use only the first N training images (0: all)")
    p.add_argument("--out", required=True, help="checkpoint to write (.safetensors)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of --out")
    p.add_argument("--init-from", default="", metavar="CKPT",
                   help="start from the weights of CKPT (same family and shapes) with a fresh optimiser and schedule")
    p.add_argument("--amp", default="auto", choices=("auto", "off", "bf16", "fp16"),
                   help="mixed precision: auto (default) = for the VAE bf16 on a CPU with native bf16 (AVX-512 BF16/AMX), else off, "
                        "and off for cvae/cgan; bf16 on CPU/CUDA (all families); fp16 on CUDA (VAE)")
    p.add_argument(
        "--model-options",
        default="",
        help="fields of the family's config as key=value,... e.g. cgan: loss=ns|wgan|wgan-gp, n_critic=5, clip=0.01, "
        "gp_weight=10, ema_decay=0.999, embed_dim=32, enc_rec_weight=1, enc_every=2; cvae: embed_dim=16",
    )


#: Learning rate when --lr is not given: the DCGAN's 2e-4 for GANs, the VAE's default otherwise.
FAMILY_LR = {"cgan": 2e-4}


@command("train", "train a model (vae, cvae or cgan)")
@args(_train_args)
def _train(a):
    from engine.training.loop import TrainConfig, train

    lr = a.lr if a.lr is not None else FAMILY_LR.get(a.model, TrainConfig().lr)
    tc = TrainConfig(
        model=a.model, data=a.data, size=a.size, channels=a.channels, latent_dim=a.latent_dim, epochs=a.epochs,
        batch_size=a.batch_size, lr=lr, beta=a.beta, kl_warmup_epochs=a.kl_warmup_epochs, free_bits=a.free_bits,
        likelihood=a.likelihood, base_width=a.base_width, flip=not a.no_flip, seed=a.seed, device=a.device,
        threads=a.threads, time_budget_min=a.time_budget_min, limit=a.limit, model_options=a.model_options, amp=a.amp,
        init_from=a.init_from, augment=a.augment,
    )  # fmt: skip
    metrics = train(tc, a.out, resume=a.resume, progress=not a.quiet, log=say(a))
    return {"checkpoint": a.out, **metrics}


# --------------------------------------------------------------------------- sample / encode


def _sample_args(p):
    p.add_argument("--model", default="default", help="bundled name or checkpoint path")
    p.add_argument("-n", type=int_in(1, 4096), default=16)
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)
    p.add_argument("--temperature", type=float_in(0, 10), default=1.0)
    p.add_argument("--prior", default="auto", choices=("auto", "aggregate", "standard"), help="aggregate: a Gaussian fitted to the training latents; standard: N(0, I)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help="PNG grid to write")


@command("sample", "draw samples from a model into a PNG grid")
@args(_sample_args)
def _sample(a):
    import engine
    from engine.data.grids import save_grid

    m = engine.load_model(a.model, device=a.device)
    images = m.sample(a.n, seed=a.seed, temperature=a.temperature, prior=a.prior)
    save_grid(images, a.out)
    return {"out": a.out, "n": a.n}


def _stats_args(p):
    p.add_argument("checkpoint", help="checkpoint to update in place")
    p.add_argument("--data", required=True, help="data spec whose train split is encoded (labels give mean-difference directions)")
    p.add_argument("--device", default="auto")


@command("stats", "recompute a checkpoint's latent statistics, aggregate prior and mean-difference directions from a data set")
@args(_stats_args)
def _stats(a):
    from engine.semantics.latent_stats import refresh_statistics

    return refresh_statistics(a.checkpoint, a.data, device=a.device, progress=not a.quiet)


def _encode_args(p):
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--model", default="default")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="write the latents as .npy (N×D)")
    p.add_argument("--detector", default="none", choices=("none", "auto", "dlib", "centre"),
                   help="none (default): each image as given (centre square, resized: crops stay crops); auto/dlib: align its face "
                        "as the editor does (no face: exit 1); centre: the centre square")


@command("encode", "encode images to latents")
@args(_encode_args)
def _encode(a):
    import numpy as np

    import engine
    from engine.data.images import load_image

    m = engine.load_model(a.model, device=a.device)
    if a.detector == "none":
        z = np.concatenate([m.encode(load_image(path, working_side=2 * m.image_size)) for path in a.images])  # big photos decode small
    else:
        from engine.data.align import align_face

        z = np.concatenate([m.encode(align_face(load_image(path), m.image_size, detector=a.detector, name=str(path)).crop) for path in a.images])
    if a.out:
        from engine.outputs import save_npy

        return {"latents": str(save_npy(a.out, z)), "shape": list(z.shape)}  # the path written (.npy added if missing)
    return {"latents": z.round(4).tolist(), "shape": list(z.shape)}


# --------------------------------------------------------------------------- eval / info / data


def _eval_args(p):
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True, help="data spec, as for train")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--device", default="auto")


@command("eval", "held-out metrics of a checkpoint: PSNR, SSIM, ELBO bits/dim, active units")
@args(_eval_args)
def _eval(a):
    import engine
    from engine.data.datasets import load_dataset
    from engine.evaluate import evaluate_vae

    m = engine.load_model(a.checkpoint, device=a.device)
    data = load_dataset(a.data, m.image_size, m.channels, a.split, progress=not a.quiet)
    return evaluate_vae(m.net, data, m.device)


@command("info", "versions, devices and bundled models")
def _info(a):
    from importlib.metadata import PackageNotFoundError, version

    import torch

    from engine.api import BUNDLED, bundled_path

    def ver(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    devices = ["cpu"] + [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    return {
        "latent-studio": ver("latent-studio"),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "PySide6": ver("PySide6-Essentials") or ver("PySide6"),
        "devices": devices,
        "threads": torch.get_num_threads(),
        "bundled_models": {k: str(bundled_path(k)) if bundled_path(k).exists() else "missing" for k in BUNDLED},
    }


def _data_args(p):
    sub = p.add_subparsers(dest="data_command", required=True)
    b = sub.add_parser("build-faces", help="build the built-in face set (needs the 'data' extra)")
    b.add_argument("--n", type=int_in(1, 10**6), required=True, help="number of faces")
    b.add_argument("--out", required=True, help="folder to write (CelebA layout)")
    b.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)


@command("data", "build data sets")
@args(_data_args)
def _data(a):
    from engine.data.build_faces import build_faces

    if a.n < 1:
        raise ValueError(f"--n must be positive, got {a.n}")
    try:
        return build_faces(a.n, Path(a.out), seed=a.seed, progress=not a.quiet)
    except ImportError as exc:  # the heavy labellers are imported inside the call
        raise ValueError(f"the face-set builder needs the 'data' extra: bash scripts/setup.sh data ({exc})") from None


def _bench_args(p):
    p.add_argument("--model", default="default", help="model for the editor latency measurement")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--no-editor", action="store_true", help="skip the offscreen editor measurement (needs PySide6)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--amp", default="", help="training-throughput variants, comma-separated from off,bf16,fp16 "
                   "(default: off,bf16 on the CPU; off,bf16,fp16 on CUDA)")
    p.add_argument("--repeat", type=int_in(0, 100_000), default=0, help="latency samples per measurement (default 200; --quick 60)")
    p.add_argument("--train-seconds", type=float_in(0, 3600), default=0.0, help="seconds per training-throughput variant (default 8; --quick 3)")
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("out_path", nargs="?", metavar="OUT", help="also write the JSON here (as --out; `bench --json OUT` works)")


@command("bench", "latency and throughput, each against a baseline measured in the same run")
@args(_bench_args)
def _bench(a):
    from engine.bench import model as bench
    from engine.bench.report import table

    log = say(a)
    amp = [m.strip() for m in a.amp.split(",") if m.strip()] or None
    results = bench.run(a.model, quick=a.quick, editor=not a.no_editor, progress=lambda s: log(f"bench: {s}"), device=a.device, amp=amp,
                        repeat=a.repeat or None, train_seconds=a.train_seconds or None)
    from engine.outputs import save_json

    for out in {a.out, a.out_path} - {None}:
        save_json(out, results)
    if not a.json:
        print(table(results))
        return None
    return results


# --------------------------------------------------------------------------- entry point


#: Modules that register more subcommands with ``@command`` (imported on start; must be cheap:
#: no torch at import time). One module per capability keeps this file small.
COMMAND_MODULES: list[str] = ["engine.cli.semantics", "engine.cli.models", "engine.cli.photo", "engine.cli.fit", "engine.cli.landmarks"]


def _load_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)


class UsageError(Exception):
    """A command line argparse refused; main() prints it as one ``error:`` line."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line (the usage is in ``--help``)."""

    def error(self, message: str):
        raise UsageError(" ".join(message.split()))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) one whose other subcommands are names without options:
    some option builders read defaults from modules that import torch, and a command line tool
    must answer ``--help`` and argument errors at once."""
    parser = Parser(prog="latent-studio", description="Latent Studio: edit images through a generative model's latent space.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add_args, _, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            add_args(p)
            _common(p)
    return parser


def _mistyped_command(word: str) -> str | None:
    """The subcommand ``word`` was probably meant to be, when it is no file and close to one
    (``traine``); otherwise None and ``word`` is a photo for the GUI."""
    import difflib
    import os

    if word in COMMANDS or word.startswith("-") or os.path.sep in word or "." in word or os.path.exists(word):
        return None
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.75)
    return close[0] if close else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _load_command_modules()
    mistyped = _mistyped_command(argv[0]) if argv else None
    if mistyped:
        print(f"error: unknown command {argv[0]!r} (did you mean {mistyped}?); `latent-studio --help` lists them", file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        # No subcommand: open the GUI (optionally on a photo). The editor is a separate
        # package that only speaks engine.protocol; it is imported here, lazily, as a launcher.
        from editor.app import main as gui_main

        return gui_main(argv)
    parser = build_parser(only=argv[0] if argv[0] in COMMANDS else "")
    try:
        a = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _, run, _ = COMMANDS[a.command]
    try:
        result = run(a)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:  # our errors are ValueError/RuntimeError subclasses
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))  # 1 for a photo without a face, 2 for bad input
    if result is not None:
        if a.json:
            print(json.dumps(result, indent=2, default=str))
        else:
            for k, v in result.items():
                print(f"{k}: {v if not isinstance(v, float) else round(v, 4)}")
    return 0
