"""Sliders together, two checkouts side by side: the landmark moves of the fitted edits on face
crops (upscaled to 256 px), in s.d. of the face set's labels; optionally a picture of them.

    git worktree add /tmp/prev 9a2946e~1
    OMP_NUM_THREADS=1 python docs/photo/slider_combos.py /tmp/prev .        # MouthOpen beside another slider, ~4 min
    OMP_NUM_THREADS=1 python docs/photo/slider_combos.py /tmp/prev . \\
        --combos "HeadYaw=+2,Smiling=+2;HeadYaw=+2,HeadRoll=+2" --picture out.jpg   # a head turn beside another

Each edit is ``latent-studio edit PHOTO --fit --fit-threads 1 --attr ...`` run by that checkout's
code; the photos are the bundled portrait, the astronaut and Grace Hopper (needs matplotlib and
scikit-image). ``--picture``: rows the combinations on each photo, columns the original, the first
checkout's edit and the second's (face crops).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
SD = {"Smiling": 0.0611, "MouthOpen": 0.0841, "EyesOpen": 0.068, "HeadYaw": 0.384, "HeadRoll": 3.368}  # docs/faces-dataset.md
MOUTH_COMBOS = "MouthOpen=+2,Smiling=+2;MouthOpen=+2,HeadYaw=+2;MouthOpen=+2"


def photos(tmp: str) -> dict[str, str]:
    """The portrait, the astronaut and Grace Hopper (scripts/portraits.py), as files for the CLI."""
    from portraits import portraits

    out = {}
    for name, photo in portraits(("portrait", "astronaut", "grace_hopper")).items():
        out[name] = f"{tmp}/{name}.png"
        Image.fromarray(photo).save(out[name])
    return out


def edit(code_root: str, photo: str, attrs: tuple[str, ...], out: str) -> Image.Image:
    cmd = [sys.executable, "-m", "engine.cli", "edit", photo, "--fit", "--fit-threads", "1", "--quiet", "--overwrite", "--out", out]
    for a in attrs:
        cmd += ["--attr", a]
    subprocess.run(cmd, check=True, cwd=code_root, env={**os.environ, "PYTHONPATH": code_root}, stdout=subprocess.DEVNULL)
    return Image.open(out).convert("RGB")


def face_crop(original: Image.Image):
    """A function cropping any same-sized image to the original's face (``portraits.face_box``), 256 px."""
    from portraits import face_box

    box = face_box(np.asarray(original))
    return lambda im: np.asarray(im.crop(box).resize((256, 256), Image.Resampling.LANCZOS))


def main(argv=None) -> None:
    from engine.data.age import LABELS, measure_labels

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("now", nargs="?", default=".")
    p.add_argument("--combos", default=MOUTH_COMBOS, help="';'-separated combinations of ','-separated --attr values")
    p.add_argument("--picture", help="write the face crops here")
    a = p.parse_args(argv)
    roots = {"before": os.path.abspath(a.before), "now": os.path.abspath(a.now)}
    combos = [tuple(c.split(",")) for c in a.combos.split(";")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in photos(tmp).items():
            original = Image.open(path).convert("RGB")
            crop = face_crop(original)
            for attrs in combos:
                images = [crop(original)] + [crop(edit(root, path, attrs, f"{tmp}/{name}-{tag}.png")) for tag, root in roots.items()]
                rows.append(np.concatenate(images, 1))
                v = measure_labels(np.stack(images))
                moves = {k: [(row[LABELS.index(k)] - v[0][LABELS.index(k)]) / sd for row in v[1:]] for k, sd in SD.items()}
                print(name, " ".join(attrs), " ".join(f"{k} {b:+.2f} -> {n:+.2f}" for k, (b, n) in moves.items()), flush=True)
    if a.picture:
        Image.fromarray(np.concatenate(rows, 0)).save(a.picture, quality=90)


if __name__ == "__main__":
    main()
