"""Subcommands of latent semantics: attribute directions, entanglement, PCA, traversals, latent
arithmetic, interpolation, the user's own attributes, the pixel judge and the edit evaluation.

Registered with ``engine.cli``'s ``@command`` (imported on start: no torch at import time).
``traverse`` is re-registered here with ``--axes pca`` (and ``--data`` to compute PCA axes on
the fly); its other options are unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli import args, checkpoint_out_arg, command, model_args
from engine.cli.options import MAX_IMAGES, MAX_SEED, MAX_THREADS, float_in, int_in, names_in
from engine.cli import say as _say
from engine.cli import set_threads as _threads

# --------------------------------------------------------------------------- helpers


def _model_opts(p, positional: bool = False):
    model_args(p, positional)


def _data_opts(p, required: bool = True):
    p.add_argument("--data", required=required, help="labelled data: faces:DIR or celeba:DIR (CelebA layout), folder:DIR with attributes.csv")
    p.add_argument("--no-cache", action="store_true", help="do not reuse or store the data set's encodings")


def _checkpoint_path(source: str) -> str:
    from engine.api import resolve_source

    return str(resolve_source(source))


def _pct(v):
    return None if v is None else round(100 * float(v), 2)


# --------------------------------------------------------------------------- directions


def _directions_args(p):
    _model_opts(p, positional=True)
    _data_opts(p)
    p.add_argument("--method", default="classifier", choices=("classifier", "mean"), help="direction stored in the checkpoint (both are scored)")
    p.add_argument("--train-split", default="train", choices=("train", "val", "test"))
    p.add_argument("--test-split", default="test", choices=("train", "val", "test"), help="held-out split for accuracy / AUC")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="use only the first N training images (0: all)")
    checkpoint_out_arg(p)


@command("directions", "(re)compute attribute directions (classifier normal or mean difference) into a checkpoint, with held-out accuracy / AUC")
@args(_directions_args)
def _directions(a):
    from engine.semantics.classifier_directions import compute_directions

    _threads(a)
    return compute_directions(
        _checkpoint_path(a.checkpoint), a.data, a.method, a.out, a.train_split, a.test_split, a.limit or None, a.device, not a.quiet, not a.no_cache
    )


def _dexport_args(p):
    p.add_argument("checkpoint", help="bundled name or checkpoint path")
    p.add_argument("--names", help="comma-separated directions (default: all)")
    p.add_argument("--out", required=True, help="directions file to write (.safetensors)")


@command("directions-export", "write a checkpoint's attribute directions to a small standalone .safetensors file")
@args(_dexport_args)
def _directions_export(a):
    from engine.semantics.classifier_directions import export_directions

    names = [n.strip() for n in a.names.split(",") if n.strip()] if a.names else None
    return export_directions(_checkpoint_path(a.checkpoint), a.out, names)


def _dimport_args(p):
    p.add_argument("checkpoint", help="checkpoint path")
    p.add_argument("file", help="directions file (.safetensors) from directions-export or user-attr export")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="store a direction under another name")
    checkpoint_out_arg(p)


@command("directions-import", "add the directions of a directions file to a checkpoint")
@args(_dimport_args)
def _directions_import(a):
    from engine.semantics.classifier_directions import import_directions

    from engine.protocol import name_value_pairs

    rename = dict(name_value_pairs(a.rename, "--rename", "Glasses=Eyeglasses"))
    empty = [old for old, new in rename.items() if not new]
    if empty:
        raise ValueError(f"--rename: {empty[0]}= has no new name, e.g. Glasses=Eyeglasses")
    return import_directions(_checkpoint_path(a.checkpoint), a.file, a.out, rename)


def _entanglement_args(p):
    _model_opts(p, positional=True)
    _data_opts(p, required=False)
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="latents for the classifier flip rates (with --data)")
    p.add_argument("--lock", help="comma-separated attributes to project out (default: all others)")
    p.add_argument("--strength", type=float_in(-100, 100), default=2.0, help="edit size in σ for the flip rates")


@command("entanglement", "cosines between attribute directions and how an edit along one moves the others' linear classifiers")
@args(_entanglement_args)
def _entanglement(a):
    import engine
    from engine.semantics.classifier_directions import classifiers_of, logistic_classifiers
    from engine.semantics.encoded import encode_dataset
    from engine.semantics.orthogonal import entanglement_report

    _threads(a)
    m = engine.load_model(a.checkpoint, device=a.device)
    if not m.attributes:
        raise ValueError("this model has no attribute directions (run latent-studio directions first)")
    locked = names_in(a.lock, sorted(m.attributes), "--lock")
    classifiers = classifiers_of(m.ckpt)
    mu = None
    if a.data:
        test = encode_dataset(m, a.data, a.split, None, not a.quiet, not a.no_cache)
        mu = test.mu
        if not classifiers:
            train = encode_dataset(m, a.data, "train", None, not a.quiet, not a.no_cache)
            classifiers = logistic_classifiers(train.mu, train.labels, train.names)
    report = entanglement_report(m.attributes, classifiers or None, m.latent_stats.std, mu, a.strength, locked)
    if not classifiers:
        report["note"] = "no linear classifiers stored in the checkpoint: give --data to fit them (or run latent-studio directions)"
    if not a.json:
        for key, table in report.items():
            print(f"{key}:" if isinstance(table, dict) else f"{key}: {table}")
            if isinstance(table, dict):
                for row, vals in table.items():
                    print(f"  {row:>14}: " + "  ".join(f"{c} {v:+.3f}" for c, v in vals.items()))
        return None
    return report


# --------------------------------------------------------------------------- PCA and traversals


def _pca_args(p):
    _model_opts(p, positional=True)
    _data_opts(p)
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--k", type=int_in(0, 1024), default=0, help="number of axes to keep (0, the default: all D)")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="use only the first N images (0: all)")
    checkpoint_out_arg(p)


@command("pca", "PCA axes of the aggregate posterior (μ over a data set) with explained variance, stored in the checkpoint")
@args(_pca_args)
def _pca(a):
    from engine.semantics.pca import compute_pca

    _threads(a)
    return compute_pca(_checkpoint_path(a.checkpoint), a.data, a.split, a.k or None, a.out, a.limit or None, a.device, not a.quiet, not a.no_cache)


def _traverse_args(p):
    from engine.semantics.traverse import AXES

    p.add_argument("checkpoint", help="bundled name or checkpoint path")
    p.add_argument("--axes", default="dims", choices=AXES)
    p.add_argument("--count", type=int_in(1, 256), default=8, help="number of dimensions / principal axes (--axes dims|pca)")
    p.add_argument("--steps", type=int_in(2, 64), default=9)
    p.add_argument("--span", type=float_in(0, 100, above=True), default=3.0, help="from -span to +span σ")
    p.add_argument("--base", help="an image to start from (default: the latent mean)")
    p.add_argument("--data", help="with --axes pca on a checkpoint without stored PCA axes: compute them from this data set (not stored)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help="PNG grid to write, one row per axis")


@command("traverse", "traversal grid: one row per latent dimension, principal axis or attribute, -span..+span σ")
@args(_traverse_args)
def _traverse(a):
    import engine
    from engine.data.images import load_image
    from engine.outputs import save_image
    from engine.semantics.traverse import choose_axes, traversal_grid

    if not 2 <= a.steps <= 64:
        raise ValueError(f"--steps must be within 2..64, got {a.steps}")
    m = engine.load_model(a.checkpoint, device=a.device)
    base = m.encode(load_image(a.base))[0] if a.base else m.latent_stats.mean
    if a.axes == "pca" and a.data and "pca.axes" not in m.ckpt.extra:
        from engine.semantics.encoded import encode_dataset
        from engine.semantics.pca import pca_directions, store_pca

        store_pca(m.ckpt, pca_directions(encode_dataset(m, a.data, "train", None, not a.quiet).mu), a.data)
    axes = choose_axes(m, a.axes, a.count)
    save_image(a.out, traversal_grid(m, axes, base, a.steps, a.span))
    out = {"out": a.out, "rows": list(axes)}
    if a.axes == "pca":
        out["explained_variance_ratio"] = m.ckpt.info.get("pca", {}).get("explained_variance_ratio", [])[: len(axes)]
    return out


# --------------------------------------------------------------------------- arithmetic


TERM_HELP = "an image, images (a.png,b.png | DIR | 'glob*.png'), attr:NAME=1,NAME=-1 (needs --data), z:FILE.npy[:ROW] or sample:SEED"


def _arith_args(p):
    _model_opts(p)
    p.add_argument("--a", required=True, help="term A: " + TERM_HELP)
    p.add_argument("--b", required=True, help="term B (subtracted)")
    p.add_argument("--c", required=True, help="term C (added)")
    p.add_argument("--data", help="labelled data set for attr: terms (faces:DIR)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"), help="split for attr: terms")
    p.add_argument("--per-item", type=int_in(0, 64), default=8, help="also show A − B added to this many members of C")
    p.add_argument("--amount", type=float_in(-100, 100), default=1.0, help="C + amount·(A − B); 1 is plain A − B + C")
    p.add_argument("--scale", type=int_in(1, 16), default=2, help="enlarge the PNG by this factor")
    p.add_argument("--judge", help="a judge file (train-judge): report the judged attributes of the results")
    p.add_argument("--save-latent", help="write the result latent A − B + C as .npy")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)
    p.add_argument("--out", required=True, help="PNG: [A, B, C, A−B+C], then members of C and each + (A − B)")


@command("arithmetic", "latent arithmetic A − B + C over images, image sets or labelled groups")
@args(_arith_args)
def _arithmetic(a):
    import numpy as np

    import engine
    from engine.data.grids import save_grid
    from engine.semantics.arithmetic import arithmetic_panel, resolve_term
    from engine.semantics.encoded import encode_dataset

    _threads(a)
    m = engine.load_model(a.model, device=a.device)
    specs = {"a": a.a, "b": a.b, "c": a.c}
    enc = None
    if any(s.strip().startswith("attr:") for s in specs.values()):
        if not a.data:
            raise ValueError("attr: terms need --data (a labelled data set, e.g. faces:DIR)")
        enc = encode_dataset(m, a.data, a.split, None, not a.quiet)
    terms = {k: resolve_term(s, m, enc) for k, s in specs.items()}
    if not -10 <= a.amount <= 10:
        raise ValueError(f"--amount must be within -10..10, got {a.amount}")
    images, used = arithmetic_panel(m, terms["a"], terms["b"], terms["c"], per_item=a.per_item, seed=a.seed, amount=a.amount)
    save_grid(images, a.out, ncol=used["ncol"], scale=max(1, a.scale))
    out = {"out": a.out, **{k: f"{t.description}" for k, t in terms.items()}, "amount": a.amount}
    if a.save_latent:
        from engine.outputs import save_npy

        out["latent"] = str(save_npy(a.save_latent, used["result"][None]))  # the path written (.npy added if missing)
    if a.judge:
        from engine.semantics.judge import load_judge

        judge = load_judge(a.judge)
        judged = {"mean": judge.judge(m.decode(used["result"][None]))[0]}
        report = {"A-B+C": {n: bool(v) for n, v in zip(judge.names, judged["mean"])}}
        c = terms["c"]
        if c.n >= 2:  # judged over up to 500 members of C, not only the ones shown
            from engine.semantics.edit_eval import decode_all

            pick = np.random.default_rng(a.seed).permutation(c.n)[:500]
            items = c.members[pick]
            before = judge.judge(decode_all(m, items)).mean(0)
            after = judge.judge(decode_all(m, items + a.amount * (terms["a"].mean - terms["b"].mean)[None])).mean(0)
            report["members_of_C"] = int(len(pick))
            report["members_of_C_before_%"] = {n: _pct(v) for n, v in zip(judge.names, before)}
            report["members_of_C_plus_A_minus_B_%"] = {n: _pct(v) for n, v in zip(judge.names, after)}
        out["judged"] = report
    return out


# --------------------------------------------------------------------------- interpolation


def _interp_args(p):
    p.add_argument("a", help="start: an image, z:FILE.npy[:ROW] or sample:SEED")
    p.add_argument("b", help="end: the same kinds")
    _model_opts(p)
    p.add_argument("--steps", type=int_in(2, 512), default=16)
    p.add_argument("--mode", default="slerp", choices=("slerp", "linear"))
    p.add_argument("--even", action="store_true", help="re-time the path so that the frames are equally far apart in pixels")
    p.add_argument("--fps", type=float_in(0.1, 60), default=12.0)
    p.add_argument("--scale", type=int_in(1, 16), default=1, help="enlarge the frames by this factor (Lanczos)")
    p.add_argument("--boomerang", action="store_true", help="animation goes there and back (seamless loop)")
    p.add_argument("--strip", help="also write all frames in one row as a PNG")
    p.add_argument("--out", required=True, help=".gif, .mp4 (needs imageio-ffmpeg) or .png (a strip)")


@command("interpolate", "interpolate between two images or latents (linear or slerp) into a GIF / MP4 / PNG strip, with a smoothness measure")
@args(_interp_args)
def _interpolate(a):
    import engine
    from engine.semantics.arithmetic import resolve_term
    from engine.semantics.interpolate import boomerang, even_steps, interpolation_latents, smoothness, write_frames, upscale_frames

    _threads(a)
    if Path(a.out).suffix.lower() not in (".gif", ".mp4", ".png"):
        raise ValueError(f"{Path(a.out).name}: write .gif, .mp4 or .png (a strip)")
    m = engine.load_model(a.model, device=a.device)
    za, zb = resolve_term(a.a, m).mean, resolve_term(a.b, m).mean
    if a.even:
        z, t = even_steps(m, za, zb, a.steps, a.mode)
    else:
        z = interpolation_latents(za, zb, a.steps, a.mode)
    frames = m.decode(z)
    smooth = smoothness(frames)
    big = upscale_frames(frames, a.scale)
    write_frames(boomerang(big) if a.boomerang and Path(a.out).suffix.lower() != ".png" else big, a.out, fps=a.fps)
    if a.strip:
        write_frames(big, a.strip)
    return {"out": a.out, "frames": len(frames), "mode": a.mode, "even": a.even, **{k: round(v, 3) if isinstance(v, float) else v for k, v in smooth.items()}}


# --------------------------------------------------------------------------- user attributes


def _user_args(p):
    p.add_argument("action", choices=("create", "list", "show", "export", "import", "delete"))
    p.add_argument("name", nargs="?", help="attribute name (create/show/export/delete) or file (import)")
    p.add_argument("--with", dest="with_", nargs="+", default=[], metavar="TERM", help="examples with the attribute: images or z:FILE.npy")
    p.add_argument("--without", nargs="+", default=[], metavar="TERM", help="examples without it")
    p.add_argument("--as", dest="as_name", help="import under this name")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--out", help="export: file to write")
    _model_opts(p)


@command("user-attr", "your own attributes: a direction from 5–20 tagged examples, kept in your data folder")
@args(_user_args)
def _user_attr(a):
    import numpy as np

    from engine.semantics import user_attributes as ua

    if a.action == "list":
        return {"folder": str(ua.attributes_dir()), "attributes": [x.summary() for x in ua.list_user_attributes()]}
    if not a.name:
        raise ValueError(f"user-attr {a.action} needs a {'file' if a.action == 'import' else 'name'}")
    if a.action == "create":
        import engine
        from engine.semantics.arithmetic import resolve_term

        if not a.with_ or not a.without:
            raise ValueError("create needs --with and --without examples")
        m = engine.load_model(a.model, device=a.device)
        pos = np.concatenate([resolve_term(s, m).members for s in a.with_])
        neg = np.concatenate([resolve_term(s, m).members for s in a.without])
        attr = ua.make_user_attribute(a.name, pos, neg, std=m.latent_stats.std, model={"name": m.name, "fingerprint": m.fingerprint})
        path = ua.save_user_attribute(attr, overwrite=a.overwrite)
        out = {"saved": str(path), **attr.summary()}
        if len(pos) + len(neg) < 5:
            out["warning"] = "fewer than 5 tagged examples: the direction is mostly noise"
        return out
    if a.action == "show":
        return ua.load_user_attribute(a.name).summary()
    if a.action == "export":
        if not a.out:
            raise ValueError("export needs --out FILE")
        return {"out": str(ua.export_user_attribute(a.name, a.out))}
    if a.action == "import":
        attr = ua.import_user_attribute(a.name, name=a.as_name, overwrite=a.overwrite)
        return {"imported": attr.name, "folder": str(ua.attributes_dir())}
    ua.delete_user_attribute(a.name)
    return {"deleted": a.name}


# --------------------------------------------------------------------------- judge and edit evaluation


def _judge_path(data: str, size: int) -> Path:
    import hashlib

    from engine.semantics.encoded import cache_dir

    kind, _, where = data.partition(":")
    key = hashlib.sha1(f"{kind}:{Path(where).resolve() if where else ''}|{size}".encode()).hexdigest()[:16]
    return cache_dir() / "judges" / f"judge-{key}.safetensors"


def _train_judge(data: str, size: int, out: Path, epochs: int, limit: int, budget_min: float, quiet: bool, log):
    import numpy as np

    from engine.data.datasets import load_dataset
    from engine.semantics.judge import save_judge, train_judge

    train = load_dataset(data, size, 3, "train", progress=not quiet)
    if limit:
        train = train.subset(np.arange(min(limit, len(train))))
    test = load_dataset(data, size, 3, "test", progress=not quiet)
    judge = train_judge(train, test, epochs=epochs, time_budget_s=budget_min * 60 if budget_min else None, progress=not quiet, log=log)
    save_judge(judge, out)
    return judge


def _tj_args(p):
    p.add_argument("--data", required=True, help="labelled data: faces:DIR, celeba:DIR")
    p.add_argument("--size", type=int_in(16, 256), default=64, help="image size the judge reads, 16..256 (four stride-2 stages)")
    p.add_argument("--epochs", type=int_in(1, 10_000), default=4)
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="use only the first N training images (0: all)")
    p.add_argument("--time-budget-min", type=float_in(0, 10**6), default=5.0, help="stop training after this many minutes (0: no limit)")
    p.add_argument("--threads", type=int_in(0, MAX_THREADS), default=0)
    p.add_argument("--out", required=True, help="judge file to write (.safetensors)")


@command("train-judge", "train the pixel attribute judge (a small CNN, no latent directions) and state its held-out accuracy")
@args(_tj_args)
def _train_judge_cmd(a):
    _threads(a)
    judge = _train_judge(a.data, a.size, Path(a.out), a.epochs, a.limit, a.time_budget_min, a.quiet, _say(a))
    return {"out": a.out, **judge.metrics}


def _ee_args(p):
    _model_opts(p)
    _data_opts(p)
    p.add_argument("--judge", help="judge file; trained (and kept there) when it does not exist (default: in the cache folder)")
    p.add_argument("--judge-epochs", type=int_in(1, 10_000), default=4)
    p.add_argument("--split", default="test", choices=("val", "test"), help="held-out faces to edit")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="edit only the first N held-out faces (0: all)")
    p.add_argument("--strength", type=float_in(-100, 100), default=2.0, help="edit size in σ")
    p.add_argument("--methods", default="mean,classifier", help="direction methods to compare (fitted on the train split)")
    p.add_argument("--identity", default="auto", choices=("auto", "dlib", "pixel", "none"))
    p.add_argument("--identity-n", type=int_in(0, MAX_IMAGES), default=200, help="faces used for the identity distance")
    p.add_argument("--controls", type=int_in(0, 100), default=3, help="random directions edited the same way (noise floor of the flips)")
    p.add_argument("--judge-locks", action=argparse.BooleanOptionalAction, default=True,
                   help="also the ⊥others+judge variant: the other attributes' classifier normals and the judge's linear "
                        "read-outs of them (fitted on the train split's reconstructions) projected out")
    p.add_argument("--markdown", help="also write the table as markdown here")


@command("eval-edits", "edit held-out faces by +strength σ per attribute; a pixel judge measures success, other attributes flipped, identity")
@args(_ee_args)
def _eval_edits(a):
    import numpy as np

    import engine
    from engine.data.datasets import load_dataset
    from engine.semantics.classifier_directions import METHODS, fit_directions
    from engine.semantics.edit_eval import direction_variants, evaluate_edits, judge_readouts, markdown_table, stored_variants
    from engine.semantics.encoded import encode_tensor_images, encode_dataset
    from engine.semantics.identity import identity_metric
    from engine.semantics.judge import evaluate_judge, load_judge

    methods = names_in(a.methods, METHODS, "--methods")  # before minutes of encoding, not after
    if not methods:
        raise ValueError(f"--methods: give at least one of {', '.join(METHODS)}")
    _threads(a)
    say = _say(a)
    m = engine.load_model(a.model, device=a.device)
    judge_path = Path(a.judge) if a.judge else _judge_path(a.data, m.image_size)
    if judge_path.exists():
        judge = load_judge(judge_path)
        say(f"judge: {judge_path}")
    else:
        say(f"training the judge ({judge_path})")
        judge = _train_judge(a.data, m.image_size, judge_path, a.judge_epochs, 0, 5.0, a.quiet, say)
    train = encode_dataset(m, a.data, "train", None, not a.quiet, not a.no_cache)
    held = load_dataset(a.data, m.image_size, m.channels, a.split, progress=not a.quiet)
    if a.limit:
        held = held.subset(np.arange(min(a.limit, len(held))))
    mu = encode_tensor_images(m, held.images, progress=not a.quiet)
    if getattr(a, "stored", False):  # the checkpoint's directions, locked as the editor locks them
        variants = stored_variants(m, judge.names)
    else:
        all_fits = {meth: fit_directions(meth, train.mu, train.labels, train.names) for meth in set(methods) | {"classifier"}}
        fits = {meth: {n: f.direction for n, f in all_fits[meth].items() if n in judge.names} for meth in methods}
        classifiers = {n: f.classifier for n, f in all_fits["classifier"].items()}  # locks: keep the others' read-outs fixed
        readouts = None
        if a.judge_locks:
            say("the judge's read-outs of the train split's reconstructions (for ⊥others+judge)")
            readouts = judge_readouts(m, judge, train.mu)
        variants = direction_variants(fits, classifiers, readouts=readouts)
    identity = None if a.identity == "none" else identity_metric(a.identity)
    result = evaluate_edits(m, judge, mu, variants, a.strength, identity, a.identity_n, log=say, controls=max(0, a.controls))
    labels = np.asarray(held.labels)[:, [held.label_names.index(n) for n in judge.names]]
    from engine.semantics.edit_eval import decode_all

    result["judge"] = {
        "file": str(judge_path),
        "held_out_real": judge.metrics.get("held_out"),
        f"{a.split}_real": evaluate_judge(judge, held.images, labels),
        f"{a.split}_reconstructions": evaluate_judge(judge, decode_all(m, mu), labels),
        "training": {k: v for k, v in judge.metrics.items() if k != "held_out"},
    }
    result["model"] = m.name
    result["data"] = f"{a.data} ({a.split}: {len(held)})"
    table = markdown_table(result)
    if a.markdown:
        from engine.outputs import save_text

        save_text(a.markdown, table + "\n")
    if not a.json:
        print(table)
        print("judge accuracy (real / reconstructions): " + ", ".join(
            f"{n} {result['judge'][f'{a.split}_real'][n]['accuracy']:.3f} / {result['judge'][f'{a.split}_reconstructions'][n]['accuracy']:.3f}" for n in judge.names))  # fmt: skip
        return None
    return result
