"""Before/after of Smiling, MouthOpen and HeadYaw +3σ on the bundled portrait, fitted per photo
(the default model; docs/semantics.md, "On real portraits").

    OMP_NUM_THREADS=1 python docs/semantics/real_portrait_pictures.py [OUT.png]

Runs ``latent-studio edit PHOTO --fit --fit-threads 1 --attr NAME=+3`` once per attribute (one thread:
the same fit on any load; 6-35 s each), crops the face (scripts/portraits.py ``face_box``), writes the strip
(256 colours) and prints each edit's landmark moves against the original, measured on the crops
upscaled to 256 px, in s.d. of the face set's labels.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
PHOTO = ROOT / "resources" / "images" / "portrait.jpg"
EDITS = ("Smiling", "MouthOpen", "HeadYaw")
SD = {"Smiling": 0.0611, "MouthOpen": 0.0841, "EyesOpen": 0.0676, "HeadYaw": 0.384, "HeadRoll": 3.368, "LightDirection": 0.1452}


def main(out: str = str(ROOT / "docs" / "semantics" / "real-portrait-before-after.png")) -> None:
    from portraits import face_box

    from engine.data.age import LABELS, measure_labels

    cli = Path(sys.executable).with_name("latent-studio")
    original = Image.open(PHOTO).convert("RGB")
    images = [original]
    with tempfile.TemporaryDirectory() as tmp:
        for name in EDITS:
            subprocess.run([str(cli), "edit", str(PHOTO), "--fit", "--fit-threads", "1", "--attr", f"{name}=+3", "--out", f"{tmp}/{name}"], check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            images.append(Image.open(f"{tmp}/{name}/{PHOTO.name}").convert("RGB"))
    box = face_box(np.asarray(original))
    crops = [im.crop(box) for im in images]
    up = np.stack([np.asarray(c.resize((256, 256), Image.Resampling.LANCZOS)) for c in crops])
    v = measure_labels(up)
    names = ["original", *(f"{n} +3" for n in EDITS)]
    for name, row in zip(names[1:], v[1:]):
        print(name, {k: round(float((row[i] - v[0][i]) / SD[k]), 2) for i, k in enumerate(LABELS[:6])})
    w, hgt = crops[0].size
    sheet = Image.new("RGB", (4 * w + 6, hgt + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (c, n) in enumerate(zip(crops, names)):
        sheet.paste(c, (i * (w + 2), 16))
        draw.text((i * (w + 2) + 4, 2), n, fill=(0, 0, 0))
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    print("out:", out)


if __name__ == "__main__":
    main(*sys.argv[1:])
