"""Every output goes through the one atomic writer: the old file survives a full disk and a
SIGKILL, nothing but a regular file is replaced, permissions follow the umask, and no raw
write can slip into the code base unnoticed (a static check over engine/ and editor/)."""

from __future__ import annotations

import ast
import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.protocol.files import OutputError, UnsafePathError, atomic_output, atomic_write

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- the static check

#: Calls that write a file by name. Allowed only on the temporary path that atomic_output
#: yields (named ``tmp``), an in-memory buffer (``buf``) or the file atomic_write hands its
#: callable (``fh``): by convention, which the check below relies on.
WRITING_METHODS = {"save", "savez", "savez_compressed", "write_text", "write_bytes", "tofile", "imwrite", "mimwrite", "mimsave",
                   "get_writer", "save_file"}  # fmt: skip
#: Ways around the writer that are never needed outside it.
FORBIDDEN = {"os.replace", "os.rename", "shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move", "tempfile.mkstemp",
             "tempfile.NamedTemporaryFile", "QSaveFile"}  # fmt: skip
#: Calls named ``save`` that are not file writes, or that are writers themselves (module:call).
ALLOWED = {
    "ckpt_io.save",  # engine.checkpoint.save -> write_safetensors -> atomic_output
    "self.save",  # SessionController.save: a request to the engine, which writes atomically
    "QImage.save",
}
#: Scratch files in a TemporaryDirectory (benchmarks): not the user's outputs.
SCRATCH = {("engine/bench/photo.py", "save")}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _name(node.func) + "()"
    return "?"


def _to_temp_or_buffer(call: ast.Call, index: int = 0) -> bool:
    if len(call.args) <= index:
        return False
    first = call.args[index]
    if isinstance(first, ast.Call) and _name(first.func) == "str" and first.args:
        first = first.args[0]
    if isinstance(first, ast.Constant) and first.value == "<bytes>":  # imageio's in-memory target
        return True
    return isinstance(first, ast.Name) and first.id in ("tmp", "buf", "fh")


def _open_for_writing(call: ast.Call, index: int = 1) -> bool:
    mode = call.args[index] if len(call.args) > index else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")


#: Openers that take (file, mode): writing archives and compressed files by name.
FILE_MODE_OPENERS = {"open", "io.open", "gzip.open", "bz2.open", "lzma.open", "tarfile.open", "zipfile.ZipFile", "ZipFile"}


def raw_writes(path: Path, rel: str | None = None) -> list[str]:
    rel = rel or path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        method = name.rsplit(".", 1)[-1]
        where = f"{rel}:{node.lineno} {name}"
        if name in FORBIDDEN:
            found.append(where)
        elif name in FILE_MODE_OPENERS and _open_for_writing(node) and not _to_temp_or_buffer(node):
            found.append(where)
        elif method == "open" and name not in FILE_MODE_OPENERS and _open_for_writing(node, index=0):  # Path.open("w")
            if not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "tmp"):
                found.append(where)
        elif method in WRITING_METHODS and name not in ALLOWED and (rel, method) not in SCRATCH and (node.args or node.keywords):  # QPainter.save()
            if not _to_temp_or_buffer(node, index=1 if method == "save_file" else 0):  # save_file(tensors, filename)
                found.append(where)
    return found


def test_no_raw_output_outside_the_atomic_writer():
    sources = sorted(p for d in ("engine", "editor") for p in (ROOT / d).rglob("*.py") if p != ROOT / "engine/protocol/files.py")
    assert len(sources) > 100
    found = [hit for p in sources for hit in raw_writes(p)]
    assert not found, "write outputs through engine.protocol.files (atomic_write / atomic_output):\n" + "\n".join(found)


def test_the_static_check_catches_raw_writes(tmp_path):
    bad = tmp_path / "probe.py"
    code = ('import os, numpy as np\nfrom pathlib import Path\nfrom PIL import Image\n'
            'def f(a, p, tmp):\n    np.save(p, a)\n    Image.fromarray(a).save(p)\n    Path(p).write_text("x")\n'
            '    open(p, "w").write("x")\n    os.replace(tmp, p)\n    Image.fromarray(a).save(tmp)\n'
            '    Path(p).open("a").write("x")\n    zipfile.ZipFile(p, "w")\n    zipfile.ZipFile(tmp, "w")\n    open(p).read()\n')  # fmt: skip
    bad.write_text(code)
    hits = sorted(raw_writes(bad, "engine/probe.py"), key=lambda h: int(h.split()[0].rsplit(":", 1)[1]))
    assert [h.split()[1] for h in hits] == ["np.save", "Image.fromarray().save", "Path().write_text", "open", "os.replace", "Path().open",
                                            "zipfile.ZipFile"]  # fmt: skip


# --------------------------------------------------------------------------- full disk, SIGKILL, targets


def _full_disk(monkeypatch, after_bytes: int = 0):
    """Every write through a Python file object fails with ENOSPC once ``after_bytes`` are written."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self._f, self._n = f, 0

        def write(self, data):
            self._n += len(data)
            if self._n > after_bytes:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self._f.write(data)

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Full(f) if any(c in mode for c in "wa") else f

    monkeypatch.setattr(builtins, "open", fake_open)


def test_full_disk_keeps_the_old_file_and_names_it(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text('{"old": true}')
    _full_disk(monkeypatch, after_bytes=3)
    with pytest.raises(OutputError) as info:
        atomic_write(target, '{"new": "a longer text than three bytes"}')
    monkeypatch.undo()
    assert str(info.value) == "report.json: could not write it (No space left on device); the old file is unchanged"
    assert info.value.errno == errno.ENOSPC
    assert target.read_text() == '{"old": true}' and [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left


def test_full_disk_in_the_cli_is_one_line_and_the_old_latents_stay(tmp_path, monkeypatch, capsys, tiny_ckpt):
    from PIL import Image

    from engine.cli import main

    image = tmp_path / "face.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    out = tmp_path / "z.npy"
    np.save(out, np.arange(3.0))
    _full_disk(monkeypatch)
    code = main(["encode", str(image), "--model", str(tiny_ckpt), "--device", "cpu", "--out", str(out)])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "error: z.npy: could not write it (No space left on device); the old file is unchanged"
    np.testing.assert_array_equal(np.load(out), np.arange(3.0))


_KILLED_WRITER = """
import sys, time
from engine.protocol.files import atomic_write
def slow(f):
    for _ in range(10_000):
        f.write(b"N" * 65536)
        f.flush()
        print("writing", flush=True)
        time.sleep(0.001)
atomic_write(sys.argv[1], slow)
"""


@pytest.mark.subprocess
def test_sigkill_mid_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "grid.png"
    target.write_bytes(b"OLD" * 1000)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    try:
        for _ in range(20):  # > 1 MB of the new file is on disk by now
            assert proc.stdout.readline() == b"writing\n"
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".grid.png.")]
        assert temps and temps[0].stat().st_size > 2**20
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert target.read_bytes() == b"OLD" * 1000


def test_refuses_to_replace_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "out.png"
    os.mkfifo(fifo)
    (tmp_path / "folder.npy").mkdir()
    t0 = time.perf_counter()
    with pytest.raises(UnsafePathError, match="out.png: not a regular file; refusing to replace it"):
        atomic_write(fifo, b"data")
    with pytest.raises(UnsafePathError, match="folder.npy: a folder; refusing to replace it"):
        atomic_write(tmp_path / "folder.npy", b"data")
    assert time.perf_counter() - t0 < 2 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.npy", "out.png"]


def test_a_link_to_a_device_is_not_replaced(tmp_path):
    link = tmp_path / "out.npy"
    link.symlink_to("/dev/null")
    with pytest.raises(UnsafePathError, match="out.npy: not a regular file; refusing to replace it"):
        atomic_write(link, b"data")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_link_to_a_file_is_kept_and_its_target_written(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "settings.json"
    target.write_text("old")
    link = tmp_path / "settings.json"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["settings.json"]


def test_a_failing_writer_leaves_nothing_behind(tmp_path):
    target = tmp_path / "a.bin"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the encoder failed")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- permissions follow the umask


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_exported_photos_and_sessions_honour_the_umask(tmp_path, umask, expected, tiny_ckpt):
    import engine
    from engine.photo import open_photo
    from engine.photo_export import export_photo
    from engine.session import save_session

    photo = np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)
    old = os.umask(umask)
    try:
        out = export_photo(photo, tmp_path / "edited.jpg")
        pe = open_photo(engine.load_model(str(tiny_ckpt), device="cpu"), photo, detector="centre")
        session = save_session(tmp_path / "s.lsession", pe)
        grid = tmp_path / "grid.png"
        from engine.data.grids import save_grid

        save_grid(photo[None], grid)
    finally:
        os.umask(old)
    for path in (Path(out["path"]), session, grid):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path.name


#: Commands that write an output, with an old file already at that path (one row each).
OUTPUT_TABLE = [
    ("encode {img} --model {ckpt} --out {out}", "z.npy"),
    ("sample --model {ckpt} -n 4 --out {out}", "grid.png"),
    ("traverse {ckpt} --steps 3 --count 2 --out {out}", "traverse.png"),
    ("invert {ckpt} {img} --steps 2 --latents {out}", "z.npy"),
    ("arithmetic --model {ckpt} --a {img} --b {img} --c {img} --out {out} --save-latent {tmp}/z.npy", "arith.png"),
    ("interpolate {img} {img} --model {ckpt} --steps 3 --out {out}", "walk.gif"),
]


@pytest.mark.parametrize("row, name", OUTPUT_TABLE, ids=[r.split()[0] for r, _ in OUTPUT_TABLE])
def test_every_cli_output_survives_a_full_disk(row, name, tmp_path, tiny_ckpt, monkeypatch, capsys):
    from PIL import Image

    from engine.cli import main

    img = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(img)
    out = tmp_path / name
    out.write_bytes(b"the old output")
    argv = [a.format(img=img, ckpt=tiny_ckpt, out=out, tmp=tmp_path) for a in row.split()]
    _full_disk(monkeypatch)
    code = main([*argv, "--device", "cpu", "--quiet"])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"error: {name}: could not write it (No space left on device); the old file is unchanged", err
    assert out.read_bytes() == b"the old output"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
