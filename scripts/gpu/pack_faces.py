"""Copy a CelebA-layout face set as JPEGs, small enough to travel to a lent GPU machine.

The device tool carries at most 64 MiB with the working tree, and the built-in face set is
162 MB of PNGs. JPEG at quality 85 without chroma subsampling is about 2 KB per 64×64 face:
the whole training split plus small val/test splits fit. Real CelebA is JPEG too, so
`latent-studio train --data faces:DST` reads the copy as it reads the original.

    python scripts/gpu/pack_faces.py /work/data/faces_v2 .gpu/faces_jpg --val 256 --test 256 --zip
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from PIL import Image


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--train", type=int, default=0, help="training images kept (0 = all)")
    ap.add_argument("--val", type=int, default=256, help="validation images kept (0 = all)")
    ap.add_argument("--test", type=int, default=256, help="test images kept (0 = all)")
    ap.add_argument("--zip", action="store_true", help="also write DST.zip (stored, one file: what the device tool carries best)")
    a = ap.parse_args(argv)

    attr_lines = (a.src / "list_attr_celeba.txt").read_text().splitlines()
    partition = dict(line.split() for line in (a.src / "list_eval_partition.txt").read_text().splitlines() if line.strip())
    quota = {"0": a.train or None, "1": a.val or None, "2": a.test or None}
    kept, counts = [], {"0": 0, "1": 0, "2": 0}
    for name in sorted(partition):
        split = partition[name]
        if quota[split] is not None and counts[split] >= quota[split]:
            continue
        counts[split] += 1
        kept.append(name)

    if a.dst.exists():
        shutil.rmtree(a.dst)
    (a.dst / "img_align_celeba").mkdir(parents=True)
    rename = {name: Path(name).with_suffix(".jpg").name for name in kept}
    for name in kept:
        with Image.open(a.src / "img_align_celeba" / name) as im:
            im.convert("RGB").save(a.dst / "img_align_celeba" / rename[name], "JPEG", quality=a.quality, subsampling=0)
    rows = {line.split()[0]: line.split()[1:] for line in attr_lines[2:] if line.strip()}
    attrs = [f"{rename[n]} {' '.join(rows[n])}" for n in kept]
    (a.dst / "list_attr_celeba.txt").write_text(f"{len(kept)}\n{attr_lines[1]}\n" + "\n".join(attrs) + "\n")
    (a.dst / "list_eval_partition.txt").write_text("\n".join(f"{rename[n]} {partition[n]}" for n in kept) + "\n")
    if a.zip:
        import zipfile

        with zipfile.ZipFile(a.dst.with_suffix(".zip"), "w", zipfile.ZIP_STORED) as z:
            for p in sorted(a.dst.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(a.dst.parent))
    size = sum(p.stat().st_size for p in a.dst.rglob("*") if p.is_file())
    print(f"{len(kept)} images (train {counts['0']}, val {counts['1']}, test {counts['2']}), {size / 2**20:.1f} MiB in {a.dst}")


if __name__ == "__main__":
    main()
