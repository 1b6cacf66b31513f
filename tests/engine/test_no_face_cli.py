"""``latent-studio edit`` / ``encode`` on photos without a face: exit 1 with one line, nothing
written; in a batch the others are done and the refused ones are listed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.data.align import dlib_available

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(not dlib_available(), reason="dlib is a core dependency; this venv lacks it")
HINT = "(--detector centre edits the centre square)"


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    Image.fromarray(skimage_data.astronaut()).save(d / "astronaut.jpg", quality=92)
    Image.fromarray(skimage_data.coffee()).save(d / "coffee.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(d / "noise.png")
    return d


def test_edit_one_photo_without_a_face_exits_1_with_one_line(photos, tmp_path, tiny_ckpt, capsys):
    out = tmp_path / "out"
    photo = photos / "coffee.png"
    code = main(["edit", str(photo), "--attr", "Eyeglasses=+2", "--out", str(out), "--model", str(tiny_ckpt), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == [f"error: no face found in {photo} {HINT}"]
    assert not out.exists()  # nothing written, not even the folder
    assert main(["edit", str(photo), "--attr", "Eyeglasses=+2", "--out", str(out), "--model", str(tiny_ckpt), "--quiet",
                 "--detector", "centre"]) == 0  # asked for: the centre square
    assert (out / "coffee.png").is_file()


def test_a_folder_batch_edits_the_faces_and_lists_the_refused(photos, tmp_path, tiny_ckpt, capsys):
    out = tmp_path / "out"
    argv = ["edit", str(photos), "--attr", "Eyeglasses=+2", "--out", str(out), "--model", str(tiny_ckpt), "--quiet"]
    assert main(argv + ["--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["edited"] == 1 and result["failed"] == 2
    assert sorted(f.rsplit("/", 1)[-1] for f in result["no_face"]) == ["coffee.png", "noise.png"]
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.jpg"]
    assert f"skipped coffee.png: no face found in {photos / 'coffee.png'} {HINT}" in captured.err
    assert main(argv + ["--overwrite"]) == 0  # the text summary lists them too
    text = capsys.readouterr().out
    assert "no_face:" in text and "coffee.png" in text and "noise.png" in text


def test_a_folder_with_no_face_at_all_exits_1(photos, tmp_path, tiny_ckpt, capsys):
    (photos / "astronaut.jpg").unlink()
    out = tmp_path / "out"
    assert main(["edit", str(photos), "--attr", "Eyeglasses=+2", "--out", str(out), "--model", str(tiny_ckpt), "--quiet"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"error: no face found in any of the 2 photos {HINT}" and not out.exists()


def test_encode_takes_images_as_given_unless_asked_to_find_the_face(photos, tmp_path, tiny_ckpt, capsys):
    noise, face = photos / "noise.png", photos / "astronaut.jpg"
    z = tmp_path / "z.npy"
    assert main(["encode", str(noise), str(face), "--model", str(tiny_ckpt), "--out", str(z)]) == 0  # crops stay crops
    given = np.load(z)
    assert given.shape[0] == 2
    capsys.readouterr()
    assert main(["encode", str(noise), "--model", str(tiny_ckpt), "--detector", "auto", "--out", str(tmp_path / "n.npy")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"error: no face found in {noise} {HINT}"]
    assert not (tmp_path / "n.npy").exists()
    assert main(["encode", str(face), "--model", str(tiny_ckpt), "--detector", "auto", "--out", str(tmp_path / "a.npy")]) == 0
    assert np.abs(np.load(tmp_path / "a.npy")[0] - given[1]).max() > 0.05  # the aligned face, not the whole square
