"""The lock sets tried for eval-edits' ⊥others variants, on the VALIDATION split only (docs/semantics.md,
"Edit evaluation"). Not part of the product; reproduces the numbers quoted there.

    OMP_NUM_THREADS=1 nice -n 10 python docs/semantics/lock_search.py [MODEL] [JUDGE] [DATA]

For each attribute a and each direction method (classifier normal, mean difference), the other
attributes' vectors in a lock set are projected out of a's direction, +2σ is added to every
validation face's μ, and the judge counts success and flips (as latent-studio eval-edits does).
Lock sets: w (others' classifier normals: the editor's lock), w+m (+ their mean differences),
w+j (+ the judge's linear read-outs: eval-edits' ⊥others+judge), w+g (+ the judge's mean logit
gradient through the decoder), w+s<k> (+ the top k directions of the judge's per-face gradients).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

import engine
from engine.semantics.classifier_directions import fit_directions
from engine.semantics.edit_eval import decode_all, judge_readouts
from engine.semantics.encoded import encode_dataset
from engine.semantics.judge import load_judge
from engine.semantics.orthogonal import edit_vector, project_out

MODEL = sys.argv[1] if len(sys.argv) > 1 else "resources/models/default-faces-vae64.safetensors"
JUDGE = sys.argv[2] if len(sys.argv) > 2 else "/work/runs/semantics/final/judge.safetensors"
DATA = sys.argv[3] if len(sys.argv) > 3 else "faces:/work/data/faces_v2"
GRADIENT_FACES = 1000  # training faces whose judge gradients are averaged / decomposed

torch.set_num_threads(1)
m = engine.load_model(MODEL, device="cpu")
judge = load_judge(JUDGE)
names = judge.names
tr = encode_dataset(m, DATA, "train", None, False, True)
va = encode_dataset(m, DATA, "val", None, False, True)
y = np.asarray(tr.labels)[:, [tr.names.index(n) for n in names]]
clf, mean = fit_directions("classifier", tr.mu, y, names), fit_directions("mean", tr.mu, y, names)
w = {n: clf[n].classifier[:-1] for n in names}
md = {n: mean[n].direction for n in names}
j = judge_readouts(m, judge, tr.mu)
std = m.latent_stats.std

# the judge's logit gradients w.r.t. z through the decoder, on training faces
idx = np.random.default_rng(0).choice(len(tr.mu), GRADIENT_FACES, replace=False)
grads = np.zeros((len(names), GRADIENT_FACES, tr.mu.shape[1]))
net = judge.net.eval()
for i in range(0, GRADIENT_FACES, 100):
    z = torch.from_numpy(tr.mu[idx[i : i + 100]]).float().requires_grad_(True)
    logits = net(judge._prepare(m.decode_tensor(z).float().clamp(0, 1)))
    for k in range(len(names)):
        (g,) = torch.autograd.grad(logits[:, k].sum(), z, retain_graph=k < len(names) - 1)
        grads[k, i : i + 100] = g.numpy()
g_mean = {n: grads[k].mean(0) for k, n in enumerate(names)}
top = {}
for k, n in enumerate(names):
    _, _, vt = np.linalg.svd(grads[k] * std[None], full_matrices=False)  # in σ units, uncentred
    v = vt / std[None]
    top[n] = v / np.linalg.norm(v, axis=1, keepdims=True)

others = lambda a: [b for b in names if b != a]  # noqa: E731
locksets = {
    "raw": lambda a: [],
    "w": lambda a: [w[b] for b in others(a)],
    "w+m": lambda a: [w[b] for b in others(a)] + [md[b] for b in others(a)],
    "w+j": lambda a: [w[b] for b in others(a)] + [j[b] for b in others(a) if b in j],
    "w+g": lambda a: [w[b] for b in others(a)] + [g_mean[b] for b in others(a)],
    **{f"w+s{k}": (lambda a, k=k: [w[b] for b in others(a)] + [v for b in others(a) for v in top[b][:k]]) for k in (1, 2, 4, 8)},
}
before = judge.judge(decode_all(m, va.mu))
print(f"validation faces: {len(va.mu)}")
for name, lockset in locksets.items():
    for method, dirs in (("classifier", {n: clf[n].direction for n in names}), ("mean", md)):
        for a in names:
            d = project_out(dirs[a], lockset(a))
            after = judge.judge(decode_all(m, va.mu + edit_vector(d, std, 2.0)[None]))
            k = names.index(a)
            neg = ~before[:, k]
            flips = {names[i]: float((after[:, i] != before[:, i]).mean()) for i in range(len(names)) if i != k}
            print(f"{name:>6} {method:>10} {a:>10}: success {100 * after[neg, k].mean():5.1f} % (of {neg.sum()}), "
                  f"other flipped {100 * np.mean(list(flips.values())):5.2f} % "
                  f"({', '.join(f'{n} {100 * v:.1f} %' for n, v in flips.items())}), kept {np.linalg.norm(d) / np.linalg.norm(dirs[a]):.2f}",
                  flush=True)  # fmt: skip
rng = np.random.default_rng(0)
for c in range(3):
    after = judge.judge(decode_all(m, va.mu + edit_vector(rng.standard_normal(va.mu.shape[1]), std, 2.0)[None]))
    print(f"random control {c + 1}: flipped {100 * (after != before).mean():.2f} %", flush=True)
