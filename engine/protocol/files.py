"""How Latent Studio touches the user's files: the one atomic writer and the one safe opener.

Both sides use it (the editor's settings and autosaves, the engine's every output), so it lives
in the contract package and imports only the standard library.

* :func:`atomic_write` — every output: a temporary file in the same folder, written, flushed,
  fsynced, then renamed over the target. A crash, a SIGKILL or a full disk leaves the old file
  or the new one, never a truncated one. It refuses to replace anything that is not a regular
  file (a rename over a device node or a FIFO would silently replace it); a symlink is followed
  (its target is replaced, the link stays, as with ``open(path, "w")``). The new file gets the
  permissions an ordinary ``open()`` would give it (0666 less the umask), or the old file's
  mode when it replaces one. A failure to write raises :class:`OutputError`, one line naming
  the file.
* :func:`check_regular` / :func:`open_regular` — every input named by a user: a FIFO, a socket
  or a device hangs or misbehaves on read, so anything that is not a regular file is refused
  before it is opened.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


class UnsafePathError(OSError):
    """A path we must not read or replace (not a regular file); the message is one line."""


def check_regular(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a Path if it names a regular file (symlinks followed); one-line errors else."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path.name}: no such {what}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path.name}: is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{path.name}: not a regular file (a pipe, socket or device); refusing to read it")
    return path


def open_regular(path: str | os.PathLike, what: str = "file") -> BinaryIO:
    """Open a regular file for binary reading without ever blocking on a FIFO.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer, and the
    type is checked on the opened descriptor (no race between the check and the open)."""
    path = check_regular(path, what)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePathError(f"{path.name}: not a regular file (a pipe, socket or device); refusing to read it")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, what: str = "file", max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, refusing files larger than ``max_bytes``."""
    with open_regular(path, what) as f:
        if max_bytes is not None:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise UnsafePathError(f"{Path(path).name}: {size / 2**20:.0f} MiB, larger than the {max_bytes / 2**20:.0f} MiB limit for a {what}")
        return f.read()


def _refuse_non_regular(path: Path, name: str) -> int | None:
    """The existing target's mode, None when there is none; refuses a non-regular target
    (``name``: the file as the user named it, for the message)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise UnsafePathError(f"{name}: {kind}; refusing to replace it")
    return stat.S_IMODE(st.st_mode)


class OutputError(OSError):
    """An output could not be written (full disk, quota, I/O error); whatever was at the path
    before is untouched. ``str()`` is one line naming the file; ``errno`` is the cause's."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "could not write the output"


def _output_error(name: str, exc: OSError, replacing: bool) -> OutputError:
    if isinstance(exc, OutputError):
        return exc
    reason = exc.strerror or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    kept = "the old file is unchanged" if replacing else "nothing was written"
    err = OutputError(f"{name}: could not write it ({reason}); {kept}")
    err.errno, err.strerror = exc.errno, exc.strerror
    return err


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, mode: int | None = None, temp_suffix: str = ".tmp", durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path`` atomically.

    For writers that want a file name (Pillow, safetensors, numpy): write to the yielded path;
    it is fsynced and renamed when the block ends without an exception, and removed otherwise.
    ``mode`` (e.g. 0o600 for private files) overrides the umask-derived permissions.
    ``temp_suffix``: for writers that pick the container by the name's extension (ffmpeg).
    ``durable=False`` skips the fsyncs, for the thousands of files of a generated data set: a
    kill still never leaves a partial file, a power cut might."""
    path = Path(path)
    name = path.name
    if path.is_symlink():  # write what the link points at and keep the link, as open(path, "w") would
        path = Path(os.path.realpath(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder")
    old_mode = _refuse_non_regular(path, name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=temp_suffix, dir=path.parent)
    except OSError as exc:
        raise _output_error(name, exc, old_mode is not None) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else (old_mode if old_mode is not None else _default_mode()))
        _refuse_non_regular(path, name)  # checked again right before the rename
        os.replace(tmp, path)
    except UnsafePathError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError as exc:  # a full disk, a quota, an I/O error: say which file, and that nothing was lost
        tmp.unlink(missing_ok=True)
        raise _output_error(name, exc, old_mode is not None) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[BinaryIO], None], *, mode: int | None = None,
                 durable: bool = True) -> Path:
    """Write ``data`` (bytes, text as UTF-8, or a function given the open binary file) to
    ``path`` atomically; returns ``path``. See :func:`atomic_output`."""
    path = Path(path)
    with atomic_output(path, mode=mode, durable=durable) as tmp, open(tmp, "wb") as f:
        if callable(data):
            data(f)
        else:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        f.flush()
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
