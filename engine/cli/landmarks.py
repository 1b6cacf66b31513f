"""Subcommands of the landmark measures (issue 14): continuous labels for a face set, directions
for them, and the landmark judge of ``eval-edits``.

* ``data label-landmarks DIR`` — adds ``face_measures.csv`` to a face set (``engine.data.face_measures``);
* ``measure-directions CHECKPOINT --data faces:DIR`` — directions for the measures (``engine.semantics.measure_directions``);
* ``keep-identity CHECKPOINT`` — those directions without what changes the person (``engine.semantics.keep_identity``);
* ``eval-edits --landmarks`` — the landmark judge (``engine.semantics.landmark_eval``) instead of the pixel judge.

``data`` and ``eval-edits`` are re-registered here around their first registration (in
``engine.cli`` and ``engine.cli.semantics``), which keeps their options and adds these. No torch
at import time.
"""

from __future__ import annotations

import argparse

import engine.cli.semantics  # noqa: F401  (registers eval-edits first; wrapped below)
from engine.cli import COMMANDS, args, checkpoint_out_arg, command, model_args
from engine.cli import say as _say
from engine.cli import set_threads as _threads
from engine.cli.options import MAX_IMAGES, MAX_SEED, int_in, names_in, number_or_amounts

MEASURE_HELP = "Smiling, MouthOpen, EyesOpen, HeadYaw, HeadRoll, LightDirection"
LABEL_HELP = MEASURE_HELP + ", Age (the builder's age estimate, faces_meta.csv)"
LABEL_NAMES = (*MEASURE_HELP.split(", "), "Age")  # engine.data.age.LABELS, without importing it here

# --------------------------------------------------------------------------- data label-landmarks

_data_add, _data_run, _data_help = COMMANDS["data"]


def _data_args(p):
    _data_add(p)
    sub = next(x for x in p._actions if isinstance(x, argparse._SubParsersAction))
    lab = sub.add_parser("label-landmarks", help=f"add continuous landmark labels ({MEASURE_HELP}) to a face set: DIR/face_measures.csv")
    lab.add_argument("dir", help="a face set in the CelebA layout (e.g. from build-faces)")
    lab.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="measure only the first N images (0: all; a trial)")
    lab.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar")  # SUPPRESS: `data --quiet` still counts
    lab.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


@command("data", _data_help + "; label-landmarks adds continuous landmark labels")
@args(_data_args)
def _data(a):
    if a.data_command != "label-landmarks":
        return _data_run(a)
    from pathlib import Path

    from engine.data.face_measures import label_face_set

    if not Path(a.dir).is_dir():
        raise ValueError(f"{a.dir}: not a folder")
    from engine.data.build_faces import refresh_data_card

    out = label_face_set(a.dir, progress=not a.quiet, limit=a.limit or None)
    refresh_data_card(a.dir)  # a built-in face set's card shows the new labels' distributions
    if not a.json:
        print(f"{out['file']} in {out['dir']}: {out['faces_measured']} faces, landmarker missed {100 * out['miss_rate']:.1f} %")
        for name, s in out["stats"].items():
            dist = f"mean {s['mean']:+.4f}, s.d. {s['sd']:.4f}, median {s['median']:+.4f}" if "mean" in s else "no labels"
            print(f"  {name:>14}: {dist}")
        return None
    return out


# --------------------------------------------------------------------------- measure-directions


def _md_args(p):
    from engine.semantics.measure_directions import METHODS

    model_args(p, True)
    p.add_argument("--data", required=True, help="a face set with face_measures.csv (faces:DIR, celeba:DIR) or folder:DIR (measured now)")
    p.add_argument("--method", default="regression", choices=METHODS, help="direction stored (both are scored on the test split)")
    p.add_argument("--names", help=f"comma-separated labels (default: all of {LABEL_HELP})")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="use only the first N training faces (0: all)")
    p.add_argument("--no-cache", action="store_true", help="do not reuse or store the data set's encodings")
    checkpoint_out_arg(p)
    p.add_argument("--samples", type=int_in(0, MAX_IMAGES), default=0,
                   help="fit on N of the model's own samples instead (prior draws z, a conditional model's decoded with random training "
                        "faces' labels, measured on the generated pixels): no encoder needed, e.g. a GAN's; 0: the training faces' μ")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="with --samples: the draws' seed")
    p.add_argument("--readouts-only", action="store_true",
                   help="keep the stored directions; replace only the read-outs the locks hold (e.g. with --samples: what the decoder draws)")


@command("measure-directions", "attribute directions for the continuous landmark measures and Age (ridge regression on μ), with held-out r / R² / AUC")
@args(_md_args)
def _measure_directions(a):
    from engine.api import resolve_source
    from engine.data.age import LABELS
    from engine.semantics.measure_directions import compute_measure_directions

    names = names_in(a.names, LABELS, "--names")
    _threads(a)
    return compute_measure_directions(str(resolve_source(a.checkpoint)), a.data, a.method, a.out, names, a.limit or None, a.device,
                                      not a.quiet, not a.no_cache, a.samples, a.seed, a.readouts_only)


# --------------------------------------------------------------------------- keep-identity


def _ki_args(p):
    model_args(p, True)
    p.add_argument("--names", help=f"comma-separated directions (default: every one of {LABEL_HELP} the checkpoint has)")
    p.add_argument("--samples", type=int_in(50, MAX_IMAGES), default=2000, help="the model's own samples whose dlib descriptors are regressed on z")
    p.add_argument("--closeness", type=number_or_amounts(0.0, 1e6, LABEL_NAMES, above=True), default=3.0,
                   help="how close a direction stays to the stored one (larger: closer; in units of the metric's mean eigenvalue); "
                        "one number, or NAME=NUMBER,... for each direction its own (then --names defaults to those names)")
    p.add_argument("--metric", choices=("linear", "local"), default="linear",
                   help="what changes the person: linear — the descriptor regressed on z (--samples); local — the descriptor's "
                        "Jacobian in z read on --faces samples by finite differences, E[JᵀJ] (slower; catches what moves each face its own way, a head turn)")
    p.add_argument("--faces", type=int_in(2, 10_000), default=60, help="with --metric local: the samples whose Jacobians are averaged (2·latent-dim decodes each)")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="the samples' seed")
    p.add_argument("--no-cache", action="store_true", help="with --metric local: measure the Jacobians afresh (they are cached by weights, faces and seed)")
    checkpoint_out_arg(p)


@command("keep-identity", "take out of the landmark and Age directions what changes who the face is (dlib descriptors of the model's samples, regressed on z)")
@args(_ki_args)
def _keep_identity(a):
    from engine.api import resolve_source
    from engine.data.age import LABELS
    from engine.semantics.keep_identity import store_identity_kept

    _threads(a)
    return store_identity_kept(str(resolve_source(a.checkpoint)), names_in(a.names, LABELS, "--names"), a.samples, a.closeness, a.seed,
                               a.out, a.device, metric=a.metric, faces=a.faces, cache=not a.no_cache)


# --------------------------------------------------------------------------- eval-edits --landmarks

_ee_add, _ee_run, _ee_help = COMMANDS["eval-edits"]


def _ee_args(p):
    _ee_add(p)
    p.add_argument("--landmarks", action="store_true",
                   help="judge the landmark measures instead: ±strength σ along each measure's direction, re-measured by dlib's 68 landmarks "
                        "on the edited pixels, Age by the age network (needs face_measures.csv; --methods then takes regression,mean; "
                        "a conditional model decodes each face with its estimated labels)")
    p.add_argument("--names", help=f"with --landmarks: judge only these comma-separated labels (default: all of {LABEL_HELP}); "
                                   "the ⊥others locks still hold every other one")
    p.add_argument("--stored", action="store_true",
                   help="judge the directions and read-outs stored in the checkpoint (measure-directions, e.g. --samples) "
                        "instead of fitting them again on the training split's μ; without --landmarks: the pixel judge's attributes, "
                        "raw and locked as the editor locks them (every other stored attribute's read-out held)")


@command("eval-edits", _ee_help + "; --landmarks: dlib's landmarks judge the geometric attributes")
@args(_ee_args)
def _eval_edits(a):
    if a.names and not a.landmarks:
        raise ValueError("--names goes with --landmarks")
    return eval_landmarks(a) if a.landmarks else _ee_run(a)


def eval_landmarks(a):
    import numpy as np

    import engine
    from engine.data.age import LABELS
    from engine.semantics.edit_eval import direction_variants
    from engine.semantics.identity import identity_metric
    from engine.semantics.landmark_eval import estimated_labels, evaluate_landmark_edits, markdown_table, stored_landmark_variants
    from engine.semantics.measure_directions import METHODS, fit_measure_directions, labelled_split

    methods = names_in(a.methods.replace("classifier", "regression"), METHODS, "--methods") or ["regression"]
    _threads(a)
    say = _say(a)
    m = engine.load_model(a.model, device=a.device)
    mu_tr, y_tr = labelled_split(m, a.data, "train", None, not a.quiet, not a.no_cache)
    mu, y_held = labelled_split(m, a.data, a.split, a.limit or None, not a.quiet, not a.no_cache)
    if a.stored:
        variants = stored_landmark_variants(m)
    else:
        fits = {meth: fit_measure_directions(meth, mu_tr, y_tr) for meth in dict.fromkeys(methods)}
        readouts = {n: f.classifier for n, f in fit_measure_directions("regression", mu_tr, y_tr).items()}
        variants = direction_variants({k: {n: f.direction for n, f in v.items()} for k, v in fits.items()}, readouts)
    only = names_in(a.names, LABELS, "--names")
    if only:
        variants = {k: {n: d for n, d in v.items() if n in only} for k, v in variants.items()}
    sd = {n: float(np.nanstd(y_tr[:, j])) if np.isfinite(y_tr[:, j]).any() else 0.0 for j, n in enumerate(LABELS)}
    identity = None if a.identity == "none" else identity_metric(a.identity)
    labels = estimated_labels(m, a.data, a.split, a.limit or None, not a.quiet)  # a conditional model's, each face its own
    result = evaluate_landmark_edits(m, mu, variants, sd, a.strength, identity, a.identity_n, max(0, a.controls), log=say, labels=labels)
    result.update(model=m.name, data=f"{a.data} ({a.split}: {len(mu)})", judge="dlib 68-point landmarks (Age: the age network) on the edited pixels",
                  decoded_with="each face's estimated labels" if labels is not None else None,
                  held_out_miss_rate=round(float(np.isnan(y_held[:, 0]).mean()), 4))
    table = markdown_table(result)
    if a.markdown:
        from engine.outputs import save_text

        save_text(a.markdown, table + "\n")
    if not a.json:
        print(table)
        return None
    return result
