"""What a session file may hold, checked before anything is allocated or trusted.

``session.json`` is checked against :data:`SESSION`, a declarative schema (types, ranges, list
lengths); ``.npy`` members by their header (dtype allow-list, no objects, the byte count the
shape asks for equal to what the member holds) before an array is made. Failures are ValueError
with one line saying where (``face.faces[0].box: ...``); the session loader prefixes the file.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field

import numpy as np

MAX_JSON_BYTES = 16 * 2**20  # session.json is a few KB; the edit stack is its largest part


# --------------------------------------------------------------------------- the schema language


@dataclass(frozen=True)
class Num:
    lo: float = -1e9
    hi: float = 1e9
    integer: bool = False

    def check(self, v, where: str) -> None:
        if isinstance(v, bool) or not isinstance(v, int if self.integer else (int, float)):
            raise ValueError(f"{where}: must be {'an integer' if self.integer else 'a number'}, got {_kind(v)}")
        if not math.isfinite(v) or not self.lo <= v <= self.hi:
            raise ValueError(f"{where}: must be within {self.lo:g}..{self.hi:g}, got {v!r}"[:160])


def Int(lo: int, hi: int) -> Num:  # noqa: N802 (reads as a type in the schema)
    return Num(lo, hi, integer=True)


@dataclass(frozen=True)
class Str:
    max_len: int = 4096

    def check(self, v, where: str) -> None:
        if not isinstance(v, str) or len(v) > self.max_len:
            raise ValueError(f"{where}: must be a string of at most {self.max_len} characters, got {_kind(v)}")


@dataclass(frozen=True)
class ListOf:
    item: object
    lo: int = 0
    hi: int = 1000

    def check(self, v, where: str) -> None:
        if not isinstance(v, list) or not self.lo <= len(v) <= self.hi:
            n = f"{self.lo}" if self.lo == self.hi else f"{self.lo}..{self.hi}"
            raise ValueError(f"{where}: must be a list of {n} items, got {_kind(v)}")
        for i, item in enumerate(v):
            _check(item, self.item, f"{where}[{i}]")


@dataclass(frozen=True)
class MapOf:
    """A JSON object of names (strings) to values of one kind."""

    value: object
    hi: int = 1000

    def check(self, v, where: str) -> None:
        if not isinstance(v, dict) or len(v) > self.hi:
            raise ValueError(f"{where}: must be an object of at most {self.hi} entries, got {_kind(v)}")
        for k, item in v.items():
            _check(item, self.value, f"{where}.{k[:40]}")


@dataclass(frozen=True)
class Obj:
    """A JSON object with these keys (``optional`` ones may be absent); other keys are ignored."""

    keys: dict
    optional: frozenset = field(default_factory=frozenset)

    def check(self, v, where: str) -> None:
        if not isinstance(v, dict):
            raise ValueError(f"{where}: must be an object, got {_kind(v)}")
        for key, spec in self.keys.items():
            if key in v:
                _check(v[key], spec, f"{where}.{key}" if where else key)
            elif key not in self.optional:
                raise ValueError(f"{where + '.' if where else ''}{key}: missing")


@dataclass(frozen=True)
class Nullable:
    inner: object

    def check(self, v, where: str) -> None:
        if v is not None:
            _check(v, self.inner, where)


ANY_OBJECT = MapOf(value=None, hi=10**6)  # checked elsewhere (the edit stack: EditStack.from_dict)


def _check(v, spec, where: str) -> None:
    if spec is not None:
        spec.check(v, where)


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return repr(v)[:40]
    if isinstance(v, list):
        return f"a list of {len(v)}"
    return {dict: "an object", str: "a string"}.get(type(v), type(v).__name__)


# --------------------------------------------------------------------------- the session

MEMBER = Str(200)
POINT = ListOf(Num(), 2, 2)
FACE = Obj({"box": ListOf(Num(), 4, 4), "left_eye": POINT, "right_eye": POINT, "score": Num(), "rank": Num(), "method": Str(40)},
           optional=frozenset({"rank"}))  # fmt: skip
SESSION = Obj(
    {
        "format": Str(100),
        "version": Int(1, 10**6),
        "photo": Obj({"source": Str(), "member": Nullable(MEMBER), "width": Int(1, 10**6), "height": Int(1, 10**6), "pixels_sha256": Str(200)},
                     optional=frozenset({"source", "member", "pixels_sha256"})),  # fmt: skip
        "face": Obj({"faces": ListOf(FACE, 1, 1000), "chosen": Int(0, 999), "alignment": ListOf(ListOf(Num(), 3, 3), 2, 2), "size": Int(8, 4096)}),
        "model": Obj({"name": Str(), "latent_dim": Int(0, 2**31), "image_size": Int(0, 2**31), "fingerprint": Str(200)},
                     optional=frozenset({"name", "latent_dim", "image_size", "fingerprint"})),  # fmt: skip
        "latent": MEMBER,
        "labels": Nullable(MapOf(Num(0.0, 1.0))),
        "edit_labels": Nullable(MapOf(Num(0.0, 1.0))),
        "edits": ANY_OBJECT,
        "mask": Nullable(MEMBER),
    },
    optional=frozenset({"model", "latent", "labels", "edit_labels", "mask"}),
)


def parse_session_json(data: bytes) -> dict:
    """Bytes of session.json → the checked dict (format and version are the caller's to judge)."""
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"session.json is {len(data) / 2**20:.0f} MiB, too large")
    try:
        meta = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("session.json is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints past Python's digit limit
        raise ValueError(f"session.json is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(meta, dict):
        raise ValueError("session.json is not a JSON object")
    return meta


def check_session(meta: dict) -> None:
    SESSION.check(meta, "")


# --------------------------------------------------------------------------- .npy members


def read_npy(data: bytes, dtypes: tuple, ndim: int, max_side: int) -> np.ndarray:
    """An ``.npy`` member as an array, its header judged first: a dtype from ``dtypes``, ``ndim``
    dimensions of at most ``max_side`` each, and exactly the bytes the shape needs."""
    from numpy.lib import format as npy_format

    f = io.BytesIO(data)
    try:
        version = npy_format.read_magic(f)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"npy version {version}")
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:  # a damaged header
        raise ValueError(f"not an .npy array ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})") from None
    if dtype.hasobject or dtype.type not in dtypes:
        raise ValueError(f"dtype {dtype} is not allowed (only {', '.join(np.dtype(t).name for t in dtypes)}; objects are never unpickled)")
    if len(shape) != ndim or any(not 0 < s <= max_side for s in shape):
        raise ValueError(f"shape {shape} is not {ndim}-dimensional with sides 1..{max_side}")
    need = math.prod(shape) * dtype.itemsize  # Python ints: no overflow whatever the header says
    have = len(data) - f.tell()
    if need != have:
        raise ValueError(f"the header asks for {need} bytes, the member holds {have}")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=f.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()
