"""Hostile inputs named by a user: formats outside the allow-list (PostScript runs Ghostscript),
files that are not regular (a FIFO blocks a read forever), truncated and oversized images, EXIF
too large for a JPEG, output names that leave their folder. Each gets one line, never a hang."""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.images import ImageLoadError, _rescale_to_uint8, load_image

#: A PostScript file that never ends once an interpreter runs it.
POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n{} loop\nshowpage\n%%EOF\n"


def _photo(path: Path, size=(48, 40), seed=0) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _returns_within(fn, seconds: float = 10.0):
    """Run ``fn`` in a thread: (result or exception). A call still blocked after ``seconds`` fails."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"blocked for more than {seconds} s (a hang)"
    return out


@pytest.fixture
def fifo(tmp_path):
    """A FIFO with no writer: opening it for reading blocks forever (unless refused first)."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    try:  # free a reader that did block, so no thread is left behind
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


# --------------------------------------------------------------------------- formats by content


def test_postscript_named_jpg_is_refused_without_ghostscript(tmp_path, monkeypatch):
    started = []
    real_popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a) or real_popen(*a, **k))
    path = tmp_path / "holiday.jpg"
    path.write_bytes(POSTSCRIPT)
    t0 = time.perf_counter()
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert time.perf_counter() - t0 < 2 and started == []
    assert str(info.value).startswith("holiday.jpg: not an image file, or not one we read (JPEG, PNG,") and "\n" not in str(info.value)
    with pytest.raises(ImageLoadError, match="not one we read"):
        load_image(POSTSCRIPT)  # the same bytes in memory


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "PPM", "ICO"])
def test_every_allowed_format_loads_whatever_its_name(tmp_path, fmt):
    img = Image.fromarray(np.full((32, 32, 3), 90, np.uint8))  # square: an icon keeps its size
    path = tmp_path / "photo.dat"  # the content decides, not the name
    img.save(path, fmt)
    assert load_image(path).shape == (32, 32, 3)


@pytest.mark.parametrize("fmt", ["EPS", "PCX", "SGI", "TGA", "DDS"])
def test_formats_outside_the_list_are_refused(tmp_path, fmt):
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((16, 24, 3), 90, np.uint8)).save(path, fmt)
    with pytest.raises(ImageLoadError, match="photo.png: not an image file, or not one we read"):
        load_image(path)


# --------------------------------------------------------------------------- not regular files


def test_fifo_as_image_is_refused_at_once(fifo):
    out = _returns_within(lambda: load_image(fifo))
    assert isinstance(out.get("error"), ImageLoadError)
    assert str(out["error"]) == "pipe: not a regular file (a pipe, socket or device); refusing to read it"


def test_fifo_as_checkpoint_is_refused_at_once(fifo):
    import engine
    from engine.checkpoint import CheckpointError

    for suffix in ("", ".safetensors"):  # a bare name is looked up among the bundled models first
        source = fifo.rename(fifo.with_suffix(suffix))
        out = _returns_within(lambda s=source: engine.load_model(str(s), device="cpu"))
        assert isinstance(out.get("error"), CheckpointError), out
        assert "not a regular file" in str(out["error"]) and "\n" not in str(out["error"])


def test_fifo_as_session_is_refused_at_once(fifo, tiny_ckpt):
    import engine
    from engine.session import SessionError, load_session

    m = engine.load_model(str(tiny_ckpt), device="cpu")
    session = fifo.rename(fifo.with_suffix(".lsession"))
    out = _returns_within(lambda: load_session(session, m))
    assert isinstance(out.get("error"), SessionError) and "not a regular file" in str(out["error"])


def test_fifo_as_recipe_or_image_in_the_cli_is_one_line(fifo, tmp_path, tiny_ckpt, capsys):
    from engine.cli import main

    photo = _photo(tmp_path / "p.png")
    args = ["edit", str(photo), "--out", str(tmp_path / "out"), "--model", str(tiny_ckpt), "--quiet", "--detector", "centre"]
    out = _returns_within(lambda: main([*args, "--recipe", str(fifo)]))
    assert out.get("value") == 2
    assert capsys.readouterr().err.strip() == "error: pipe: cannot read the recipe (not a regular file (a pipe, socket or device); refusing to read it)"
    out = _returns_within(lambda: main(["encode", str(fifo), "--model", str(tiny_ckpt), "--device", "cpu"]))
    assert out.get("value") == 2 and capsys.readouterr().err.strip() == "error: pipe: not a regular file (a pipe, socket or device); refusing to read it"


def test_a_folder_batch_edits_the_rest_and_lists_the_refused(tmp_path, tiny_ckpt, capsys):
    import json

    from engine.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "a.png")
    (folder / "b.jpg").write_bytes(POSTSCRIPT)
    os.mkfifo(folder / "c.png")
    _photo(folder / "d.png", seed=1)
    out_dir = tmp_path / "out"
    args = ["edit", str(folder), "--out", str(out_dir), "--model", str(tiny_ckpt), "--dim", "0=1", "--detector", "centre", "--quiet", "--json"]
    out = _returns_within(lambda: main(args), seconds=60)
    assert out.get("value") == 0, out
    result = json.loads(capsys.readouterr().out)
    assert result["edited"] == 2 and sorted(p.name for p in out_dir.iterdir()) == ["a.png", "d.png"]
    refused = {Path(f["file"]).name: f["error"] for f in result["failures"]}
    assert refused == {"b.jpg": "not an image file, or not one we read (JPEG, PNG, WebP, TIFF, BMP, GIF, PPM or ICO)",
                       "c.png": "not a regular file (a pipe, socket or device); refusing to read it"}  # fmt: skip


# --------------------------------------------------------------------------- truncated and huge images


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A valid 64×64 JPEG whose frame header is rewritten to declare width×height."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_a_jpeg_declaring_far_more_pixels_than_its_data_is_refused(tmp_path):
    path = tmp_path / "short.jpg"
    path.write_bytes(_jpeg_declaring(8000, 8000))  # 64 MP in ~5 KB: libjpeg would pad it with grey
    t0 = time.perf_counter()
    with pytest.raises(ImageLoadError, match=r"^short.jpg: truncated JPEG \(its header declares 8000×8000 pixels; \d KiB cannot hold them\)$"):
        load_image(path)
    assert time.perf_counter() - t0 < 1  # refused before decoding
    assert load_image(_jpeg_declaring(64, 64)).shape == (64, 64, 3)  # the honest header still loads


def test_truncated_files_of_every_format_are_refused():
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8))
    for fmt in ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "PPM"):
        buf = io.BytesIO()
        img.save(buf, fmt)
        with pytest.raises(ImageLoadError):
            load_image(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])


def test_working_side_decodes_a_big_jpeg_at_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.full((3000, 4000, 3), 120, np.uint8)).save(path, quality=80)
    small = load_image(path, working_side=256)
    assert small.shape == (375, 500, 3)  # the decoder's 1/8 scale: never a 12 MP array
    assert load_image(path, working_side=1000).shape == (1500, 2000, 3)  # 1/2 keeps the shorter side ≥ 1000
    png = _photo(tmp_path / "big.png", size=(1000, 800))
    assert load_image(png, working_side=100).shape == (100, 125, 3)  # other formats: reduced by an integer factor


def test_sixteen_bit_greyscale_is_rescaled_in_bands_without_a_float64_copy():
    rng = np.random.default_rng(2)
    small = rng.integers(1000, 50000, (37, 53), dtype=np.uint16)
    expected = np.rint((small.astype(np.float64) - small.min()) * 255.0 / (small.max() - small.min()))
    assert np.abs(_rescale_to_uint8(small).astype(int) - expected).max() <= 1
    big = rng.integers(0, 65535, (3000, 4000), dtype=np.uint16)  # 12 MP, 24 MB
    tracemalloc.start()
    out = _rescale_to_uint8(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.dtype == np.uint8 and out.shape == big.shape
    assert peak < 24 * 2**20, f"{peak / 2**20:.0f} MiB of scratch (a float64 copy would be 96 MiB)"


def test_sixteen_bit_png_loads(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)).save(path)
    arr = load_image(path, mode="L")
    assert arr.min() == 0 and arr.max() == 255 and arr.shape == (48, 64)


# --------------------------------------------------------------------------- EXIF too large for a JPEG


def _source_with_exif(tmp_path, exif: Image.Exif) -> Path:
    path = tmp_path / "source.png"
    Image.fromarray(np.full((40, 48, 3), 100, np.uint8)).save(path, exif=exif.tobytes())
    return path


def test_exif_over_64_kb_is_trimmed_and_the_photo_written(tmp_path):
    from engine.exif import EXIF_IFD
    from engine.photo import SourceInfo
    from engine.photo_export import export_photo

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
    exif[EXIF_IFD] = {0x927C: b"M" * 100_000, 0x829A: 0.008, 0x9003: "2024:05:01 10:00:00"}  # a 100 KB maker note
    source = SourceInfo.read(_source_with_exif(tmp_path, exif))
    assert len(source.exif) > 65536
    image = np.full((40, 48, 3), 7, np.uint8)
    out = export_photo(image, tmp_path / "edited.jpg", source)
    assert out["exif_kept"] and out["warnings"] and out["warnings"][0].startswith("EXIF trimmed to")
    with Image.open(tmp_path / "edited.jpg") as im:
        kept = im.getexif()
        assert kept[0x010F] == "Canon" and kept.get_ifd(EXIF_IFD)[0x9003] == "2024:05:01 10:00:00"
        assert 0x927C not in kept.get_ifd(EXIF_IFD) and im.size == (48, 40)


def test_exif_that_cannot_be_trimmed_is_dropped_and_the_photo_written(tmp_path):
    from engine.photo import SourceInfo
    from engine.photo_export import export_photo

    exif = Image.Exif()
    for tag in range(0x9C9B, 0x9C9F):  # Windows XP title/comment/author/keywords: 4 × 20 KB, none of them basic
        exif[tag] = bytes(20_000)
    exif[0x010E] = "D" * 70_000  # and a 70 KB description
    source = SourceInfo.read(_source_with_exif(tmp_path, exif))
    out = export_photo(np.full((40, 48, 3), 7, np.uint8), tmp_path / "edited.jpg", source)
    assert (tmp_path / "edited.jpg").is_file() and out["warnings"]
    with Image.open(tmp_path / "edited.jpg") as im:
        assert 0x010E not in im.getexif() and im.size == (48, 40)


def test_the_cli_warns_about_trimmed_exif(tmp_path, tiny_ckpt, capsys):
    from engine.cli import main
    from engine.exif import EXIF_IFD

    exif = Image.Exif()
    exif[EXIF_IFD] = {0x927C: b"M" * 100_000}
    source = _source_with_exif(tmp_path, exif)
    code = main(["edit", str(source), "--out", str(tmp_path / "out"), "--format", "jpg", "--model", str(tiny_ckpt), "--dim", "0=1",
                 "--detector", "centre", "--quiet"])  # fmt: skip
    assert code == 0 and (tmp_path / "out" / "source.jpg").is_file()
    assert "warning source.png: EXIF trimmed to" in capsys.readouterr().err


# --------------------------------------------------------------------------- output paths


def test_encode_out_names_the_file_it_writes(tmp_path, tiny_ckpt, capsys):
    import json

    from engine.cli import main

    photo = _photo(tmp_path / "p.png")
    folder = tmp_path / "latents"
    folder.mkdir()
    assert main(["encode", str(photo), "--model", str(tiny_ckpt), "--device", "cpu", "--out", str(folder)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: {folder}: is a folder; name a .npy file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latents", "p.png"] and not any(folder.iterdir())
    assert main(["encode", str(photo), "--model", str(tiny_ckpt), "--device", "cpu", "--out", str(tmp_path / "z"), "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)["latents"]
    assert reported == str(tmp_path / "z.npy") and np.load(reported).shape[0] == 1


@pytest.mark.parametrize("suffix", ["/../escaped", "-x/y", "\\..\\up"])
def test_edit_suffix_cannot_leave_the_out_folder(tmp_path, tiny_ckpt, capsys, suffix):
    from engine.cli import main

    photos = tmp_path / "in"
    photos.mkdir()
    _photo(photos / "p.png")
    code = main(["edit", str(photos), "--out", str(tmp_path / "out"), "--model", str(tiny_ckpt), "--dim", "0=1", f"--suffix={suffix}",
                 "--detector", "centre", "--quiet"])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: --suffix {suffix!r}: must not contain a path separator (outputs are written inside --out)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_fifo_as_latents_or_label_file_is_refused_at_once(fifo, tmp_path, tiny_ckpt):
    import engine
    from engine.data.datasets import DatasetError, load_celeba
    from engine.semantics.arithmetic import resolve_term

    m = engine.load_model(str(tiny_ckpt), device="cpu")
    out = _returns_within(lambda: resolve_term(f"z:{fifo}", m, None))
    assert isinstance(out.get("error"), ValueError) and "not a regular file" in str(out["error"])
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    fifo.rename(root / "list_attr_celeba.txt")
    out = _returns_within(lambda: load_celeba(root, 32))
    assert isinstance(out.get("error"), DatasetError) and str(out["error"]).startswith("list_attr_celeba.txt: not a regular file")


def test_a_latents_file_asking_for_terabytes_is_one_line(tmp_path, tiny_ckpt):
    import engine
    from engine.semantics.arithmetic import resolve_term

    from numpy.lib import format as npy_format

    path = tmp_path / "z.npy"
    with open(path, "wb") as f:  # a valid header asking for 10^11 × 8 float32 (3 TB), then 64 bytes
        npy_format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**11, 8)})
        f.write(bytes(64))
    with pytest.raises(ValueError, match=r"z.npy: not a readable .npy of latents \("):
        resolve_term(f"z:{path}", engine.load_model(str(tiny_ckpt), device="cpu"), None)


def test_fifo_in_the_models_folder_or_as_training_state_is_refused_at_once(tmp_path):
    from engine.service.conditional import _header
    from engine.training.loop import TrainingError, _load_state

    fifo = tmp_path / "stuck.safetensors"
    os.mkfifo(fifo)
    out = _returns_within(lambda: _header(fifo))
    assert "error" not in out and out["value"] is None  # left out of the model list
    fifo.rename(tmp_path / "model.train-state.safetensors")
    out = _returns_within(lambda: _load_state(tmp_path / "model.safetensors", None, {}, None, None))
    assert isinstance(out.get("error"), TrainingError) and "not a regular file" in str(out["error"])


#: Every place the CLI reads a file a user names, with a FIFO there instead (one row each).
FIFO_TABLE = [
    "encode {pipe_png} --model {ckpt}",
    "invert {ckpt} {pipe_png}",
    "realism {ckpt} {pipe_png}",
    "traverse {ckpt} --base {pipe_png} --out {tmp}/t.png",
    "interpolate {pipe_png} {img} --model {ckpt} --out {tmp}/i.gif",
    "arithmetic --model {ckpt} --a z:{pipe_npy} --b {img} --c {img} --out {tmp}/a.png",
    "edit {pipe_png} --out {tmp}/o --model {ckpt} --dim 0=1 --detector centre",
    "edit {img} --recipe {pipe_json} --out {tmp}/o --model {ckpt} --dim 0=1 --detector centre",
    "sample --model {pipe_ckpt} --out {tmp}/s.png",
    "eval {pipe_ckpt} --data folder:{tmp}",
    "directions-import {ckpt} {pipe_ckpt} --out {tmp}/d.safetensors",
]


@pytest.mark.parametrize("row", FIFO_TABLE, ids=lambda r: r.split()[0] + ("-recipe" if "recipe" in r else ""))
def test_every_cli_input_refuses_a_fifo_with_one_line(row, tmp_path, tiny_ckpt, capsys):
    from engine.cli import main

    names = {"pipe_png": "pipe.png", "pipe_npy": "pipe.npy", "pipe_json": "pipe.json", "pipe_ckpt": "pipe.safetensors"}
    for name in names.values():
        os.mkfifo(tmp_path / name)
    values = {key: str(tmp_path / name) for key, name in names.items()}
    argv = [a.format(ckpt=tiny_ckpt, img=_photo(tmp_path / "p.png"), tmp=tmp_path, **values) for a in row.split()]
    try:
        out = _returns_within(lambda: main([*argv, "--quiet"]), seconds=60)
    finally:
        for name in names.values():  # free a reader that did block
            try:
                os.close(os.open(tmp_path / name, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    err = capsys.readouterr().err.strip()
    assert out.get("value") not in (None, 0), out
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "not a regular file" in err, err
