"""``latent-studio edit``: a folder with a corrupt file in it, recipes, the exit-status rule."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.cli import main

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    astronaut = skimage_data.astronaut()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    Image.fromarray(astronaut).save(d / "a.jpg", quality=92, exif=exif.tobytes())
    Image.fromarray(astronaut[:, 56:456]).save(d / "b.png")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    (d / "notes.txt").write_text("not a photo, not looked at")
    return d


def test_folder_with_a_corrupt_file(folder, tmp_path, tiny_ckpt, capsys):
    out = tmp_path / "out"
    argv = ["edit", str(folder), "--attr", "Eyeglasses=+2", "--attr", "Smiling=+1", "--out", str(out), "--model", str(tiny_ckpt), "--json", "--quiet"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["edited"] == 2 and result["failed"] == 1
    assert [f["file"].rsplit("/", 1)[-1] for f in result["failures"]] == ["corrupt.jpg"] and len(result["written"]) == 2
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("skipped corrupt.jpg: corrupt or truncated image")
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.png"]
    with Image.open(out / "a.jpg") as im:
        assert im.size == (512, 512) and im.getexif().get(0x010F) == "TestCam"
    with Image.open(out / "b.png") as im:
        assert im.size == (400, 512)
    original = np.asarray(Image.open(folder / "b.png"))
    assert np.abs(np.asarray(Image.open(out / "b.png")).astype(int) - original).max() > 0  # edited
    # again: outputs exist now -> each is a failure unless --overwrite; all failed -> exit 2
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.strip().splitlines()[-1].startswith("error: no photo was edited: all 3 failed")
    assert main(argv + ["--overwrite"]) == 0


def test_recipe_gives_the_same_result_as_attr_flags(folder, tmp_path, tiny_ckpt, capsys):
    from engine.protocol import AttributeStep, EditStack

    recipe = tmp_path / "glasses.json"
    recipe.write_text(EditStack(ops=(AttributeStep(name="Eyeglasses", amount=2.0),)).to_json())
    photo = str(folder / "b.png")
    assert main(["edit", photo, "--recipe", str(recipe), "--out", str(tmp_path / "r"), "--model", str(tiny_ckpt), "--quiet"]) == 0
    assert main(["edit", photo, "--attr", "Eyeglasses=2", "--out", str(tmp_path / "f"), "--model", str(tiny_ckpt), "--quiet", "--suffix=-x"]) == 0
    a, b = (np.asarray(Image.open(p)) for p in (tmp_path / "r" / "b.png", tmp_path / "f" / "b-x.png"))
    assert np.array_equal(a, b)


def test_a_recipe_with_labels_edits_photos_with_a_conditional_model(folder, tmp_path, capsys):
    from engine.protocol import EditStack, read_recipe, recipe_json
    from tests.engine._conditional import save, tiny_cgan

    model = str(save(tiny_cgan(steps=5, size=32), tmp_path / "cgan.safetensors"))  # labels Bright, Red
    recipe = tmp_path / "bright.json"
    recipe.write_text(recipe_json(EditStack(), {"Bright": 1.0}))
    assert read_recipe(recipe.read_text()) == (EditStack(), {"Bright": 1.0})
    photo, common = str(folder / "b.png"), ["--model", model, "--detector", "centre", "--quiet"]
    assert main(["edit", photo, "--recipe", str(recipe), "--out", str(tmp_path / "r"), *common]) == 0
    assert main(["edit", photo, "--labels", "Bright=0", "--out", str(tmp_path / "d"), *common]) == 0
    assert main(["edit", photo, "--labels", "Bright=1", "--out", str(tmp_path / "f"), *common, "--suffix=-x"]) == 0
    r, d, f = (np.asarray(Image.open(q)).astype(int) for q in (tmp_path / "r" / "b.png", tmp_path / "d" / "b.png", tmp_path / "f" / "b-x.png"))
    assert np.array_equal(r, f) and np.abs(r - d).max() > 0  # the recipe's labels = the flag's, and they matter
    for bad, message in (('{"Bright": 2}', "outside 0..1"), ('"x"', "non-empty {name: value}")):
        recipe.write_text(recipe.read_text().replace('{\n    "Bright": 1.0\n  }', bad))
        capsys.readouterr()
        assert main(["edit", photo, "--recipe", str(recipe), "--out", str(tmp_path / "never"), *common]) == 2
        assert message in capsys.readouterr().err
        recipe.write_text(recipe_json(EditStack(), {"Bright": 1.0}))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--attr", "Glasses=+2"], "error: unknown attribute 'Glasses'"),
        (["--attr", "Eyeglasses"], "error: --attr 'Eyeglasses': expected NAME=AMOUNT"),
        (["--dim", "99=1"], "error: dimension 99 does not exist"),
        ([], "error: nothing to do"),
        (["--recipe", "missing.json"], "error: missing.json: cannot read the recipe"),
        (["--labels", "Eyeglasses=1"], "error: this model (vae) is not conditional"),
    ],
)
def test_bad_arguments_fail_before_any_photo(folder, tmp_path, tiny_ckpt, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "never"
    assert main(["edit", str(folder), "--out", str(out), "--model", str(tiny_ckpt), "--quiet", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1 and not out.exists()


def test_source_is_never_overwritten(folder, tiny_ckpt, capsys):
    before = (folder / "b.png").read_bytes()
    assert main(["edit", str(folder / "b.png"), "--attr", "Eyeglasses=1", "--out", str(folder), "--model", str(tiny_ckpt), "--quiet", "--overwrite"]) == 2
    assert "never overwritten" in capsys.readouterr().err and (folder / "b.png").read_bytes() == before


def test_out_may_name_the_file_for_one_photo_but_not_for_several(folder, tmp_path, tiny_ckpt, capsys):
    target = tmp_path / "new" / "edited.png"  # a file name, in a folder that does not exist yet
    argv = ["edit", str(folder / "a.jpg"), "--attr", "Eyeglasses=+2", "--model", str(tiny_ckpt), "--quiet"]
    assert main(argv + ["--out", str(target)]) == 0
    assert target.is_file() and sorted(p.name for p in target.parent.iterdir()) == ["edited.png"]
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size == (512, 512)
    capsys.readouterr()
    assert main(["edit", str(folder), "--attr", "Eyeglasses=+2", "--model", str(tiny_ckpt), "--quiet", "--out", str(tmp_path / "x.jpg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --out x.jpg names one file, but 3 photos were given: give a folder"]
    assert not (tmp_path / "x.jpg").exists()
