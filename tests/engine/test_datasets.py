"""Data sets: CelebA layout (a miniature written here), folders with attributes, Fashion-MNIST files, splits."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from engine.data.datasets import DatasetError, hash_split, load_dataset


def test_celeba_layout_splits_and_labels(celeba_dir):
    train = load_dataset(f"celeba:{celeba_dir}", 16, split="train", progress=False)
    val = load_dataset(f"celeba:{celeba_dir}", 16, split="val", progress=False)
    test = load_dataset(f"faces:{celeba_dir}", 16, split="test", progress=False)
    assert (len(train), len(val), len(test)) == (28, 6, 6)
    assert train.images.shape == (28, 3, 16, 16) and train.label_names == ["Eyeglasses", "Male"]
    # labels follow their images: 'Eyeglasses' images are the bright ones
    bright = train.images.float().mean((1, 2, 3)).numpy() > 128
    np.testing.assert_array_equal(bright, train.labels[:, 0] > 0)


def test_celeba_corrupt_image_skipped_and_reported(celeba_dir):
    (celeba_dir / "img_align_celeba" / "000001.png").write_bytes(b"garbage")
    train = load_dataset(f"celeba:{celeba_dir}", 16, split="train", progress=False)
    assert len(train) == 27 and len(train.skipped) == 1 and "000001.png" in train.skipped[0]


def test_folder_with_attribute_csv_and_stable_hash_split(tmp_path):
    for i in range(30):
        Image.new("RGB", (20, 10), (i * 8, 0, 0)).save(tmp_path / f"img{i}.png")
    (tmp_path / "attributes.csv").write_text("file,Smiling\n" + "".join(f"img{i}.png,{i % 2}\n" for i in range(30)))
    splits = [load_dataset(f"folder:{tmp_path}", 8, split=s, progress=False) for s in ("train", "val", "test")]
    assert sum(len(s) for s in splits) == 30
    assert set(np.unique(splits[0].labels)) <= {-1, 1}
    again = load_dataset(f"folder:{tmp_path}", 8, split="train", progress=False)
    assert np.array_equal(again.images.numpy(), splits[0].images.numpy())
    assert hash_split("img0.png") == hash_split("img0.png")


def test_fashion_mnist_idx_files(tmp_path, monkeypatch):
    def write_idx(path, arr):
        with gzip.open(path, "wb") as f:
            f.write(struct.pack(">BBBB", 0, 0, 8, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes())

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60000), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setattr("engine.data.datasets.FASHION_MNIST_DIR", tmp_path)
    test = load_dataset("fashion-mnist", 28, channels=1, split="test", progress=False)
    assert test.images.shape == (10, 1, 28, 28) and test.labels[:, 0].tolist() == list(range(10))
    val = load_dataset("fashion-mnist", 32, channels=3, split="val", progress=False)
    assert val.images.shape == (5000, 3, 32, 32)


@pytest.mark.parametrize("spec, message", [("imagenet:x", "unknown data spec"), ("folder:", "needs a folder"), ("celeba:/nonexistent", "not in the CelebA layout")])
def test_bad_specs(spec, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(spec, 16, progress=False)
