"""MouthOpen locked also against dlib's read-outs of the *reconstructions* (docs/semantics.md, landmark attributes):
the other measures read by dlib on the decoded μ of 3,000 training faces, regressed on μ, and those read-outs
projected out too. Run from the repository root: .venv/bin/python docs/semantics/landmark_recon_lock.py"""
import json, numpy as np, torch
torch.set_num_threads(1)
import engine
from engine.data.landmarks import MEASURES, measure_images
from engine.semantics.landmark_eval import evaluate_landmark_edits, _decode
from engine.semantics.measure_directions import labelled_split, fit_measure_directions
from engine.semantics.orthogonal import project_out
m = engine.load_model("default")
mu_tr, y_tr = labelled_split(m, "faces:/work/data/faces_v2", "train", None, False, True)
mu, _ = labelled_split(m, "faces:/work/data/faces_v2", "test", 500, False, True)
sd = {n: float(np.nanstd(y_tr[:, j])) for j, n in enumerate(MEASURES)}
idx = np.arange(3000)
rec = measure_images(_decode(m, mu_tr[idx]))
np.save("/tmp/rec3000.npy", rec)
rfits = fit_measure_directions("regression", mu_tr[idx], rec)
fits = fit_measure_directions("regression", mu_tr, y_tr)
a = "MouthOpen"
locks = [fits[b].classifier[:-1] for b in MEASURES if b != a] + [rfits[b].classifier[:-1] for b in MEASURES if b != a]
d = project_out(fits[a].direction, locks)
r = evaluate_landmark_edits(m, mu, {"⊥others+recon": {a: d}}, sd, 2.0, None, 0, controls=0, log=print)
json.dump(r, open("/tmp/landmark-recon-lock.json", "w"), indent=1)
