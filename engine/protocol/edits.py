"""Edits as data: the non-destructive :class:`EditStack` of a photo or sample, its operations,
and the JSON recipes that ``latent-studio edit --recipe`` applies (every field validated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

MIN_STD = 1e-6  # a dimension whose std is below this has no spread: its σ unit falls back to 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionStep:
    """Move latent dimension ``dim`` by ``amount`` σ (σ = LatentStats.std[dim], the slider unit)."""

    dim: int
    amount: float

    op = "dim"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeStep:
    """Move ``amount`` σ along the named attribute direction (σ along it = √Σ u_d² std_d² for the
    unit direction u — the unit of ``latent-studio edit --attr NAME=+2`` and the attribute sliders)."""

    name: str
    amount: float

    op = "attr"


@dataclass(frozen=True, slots=True, kw_only=True)
class Blend:
    """``z ← (1 − weight)·z + weight·target``: interpolate towards another latent (e.g. a second photo)."""

    target: tuple[float, ...]
    weight: float
    label: str = ""

    op = "blend"


@dataclass(frozen=True, slots=True, kw_only=True)
class AddVector:
    """``z ← z + amount·vector``: a raw latent offset (latent arithmetic, a user's own direction)."""

    vector: tuple[float, ...]
    amount: float = 1.0
    label: str = ""

    op = "vector"


EditOp = DimensionStep | AttributeStep | Blend | AddVector
EDIT_OPS: dict[str, type[EditOp]] = {cls.op: cls for cls in (DimensionStep, AttributeStep, Blend, AddVector)}

RECIPE_FORMAT = "latent-studio/recipe"
RECIPE_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EditStack:
    """An edit as data: the operations applied, in order, to a photo's original latent.

    Immutable: ``push``/``pop`` return new stacks, so an undo stack is just a list of them (or a
    QUndoCommand that holds the stack before and after). ``apply`` is numpy-only, so the editor
    can preview the latent itself; the engine applies the same function. Serialises to a small
    JSON *recipe* (``to_json``/``from_json``) that ``latent-studio edit --recipe`` applies to
    other photos. The empty stack is the zero edit.
    """

    ops: tuple[EditOp, ...] = ()

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def is_empty(self) -> bool:
        return not self.ops

    def push(self, *ops: EditOp) -> "EditStack":
        for op in ops:
            if type(op) not in EDIT_OPS.values():
                raise TypeError(f"not an edit operation: {type(op).__name__}")
        return EditStack(ops=self.ops + tuple(ops))

    def pop(self, n: int = 1) -> "EditStack":
        return EditStack(ops=self.ops[: max(0, len(self.ops) - n)])

    def slider_offsets(self, latent_dim: int) -> np.ndarray:
        """Summed ``DimensionStep`` amounts per dimension (σ), e.g. to set slider positions."""
        out = np.zeros(int(latent_dim), np.float32)
        for op in self.ops:
            if isinstance(op, DimensionStep):
                out[op.dim] += op.amount
        return out

    def apply(self, z: np.ndarray, std: np.ndarray | None = None, attributes: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The edited latent (D,) float32. ``std``: LatentStats.std (σ units; ones if None);
        ``attributes``: the model's named directions (needed by ``AttributeStep``)."""
        z = np.array(z, dtype=np.float64).reshape(-1)
        d = z.size
        std = np.ones(d) if std is None else np.asarray(std, np.float64).reshape(-1)
        if std.size != d:
            raise ValueError(f"latent has {d} dimensions but the stats have {std.size}")
        for op in self.ops:
            if isinstance(op, DimensionStep):
                if not 0 <= op.dim < d:
                    raise ValueError(f"dimension {op.dim} does not exist (the latent has {d})")
                z[op.dim] += float(op.amount) * (std[op.dim] if std[op.dim] > MIN_STD else 1.0)
            elif isinstance(op, AttributeStep):
                if not attributes or op.name not in attributes:
                    known = ", ".join(sorted(attributes or {})) or "none"
                    raise ValueError(f"unknown attribute {op.name!r} (this model has: {known})")
                z += float(op.amount) * attribute_step_vector(attributes[op.name], std)
            elif isinstance(op, Blend):
                target = _vector(op.target, d, "blend target")
                z = (1.0 - float(op.weight)) * z + float(op.weight) * target
            elif isinstance(op, AddVector):
                z += float(op.amount) * _vector(op.vector, d, "vector")
            else:  # pragma: no cover - push() guards this
                raise TypeError(f"not an edit operation: {type(op).__name__}")
        if not np.isfinite(z).all():
            raise ValueError("the edit produced NaN or infinity")
        return z.astype(np.float32)

    # ------------------------------------------------------------------ recipe (JSON)
    def to_dict(self) -> dict:
        ops = []
        for op in self.ops:
            item: dict[str, object] = {"op": op.op}
            for name in op.__dataclass_fields__:
                value = getattr(op, name)
                item[name] = [float(v) for v in value] if isinstance(value, tuple) else value
            ops.append(item)
        return {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "ops": ops}

    @classmethod
    def from_dict(cls, data: dict) -> "EditStack":
        if not isinstance(data, dict) or data.get("format") != RECIPE_FORMAT:
            raise ValueError(f"not a Latent Studio recipe (format should be {RECIPE_FORMAT!r})")
        version = data.get("version")
        if not isinstance(version, int) or version > RECIPE_VERSION:
            raise ValueError(f"recipe version {version!r} is newer than this Latent Studio ({RECIPE_VERSION})")
        raw_ops = data.get("ops", [])
        if not isinstance(raw_ops, list) or len(raw_ops) > MAX_RECIPE_OPS:
            raise ValueError(f"recipe ops must be a list of at most {MAX_RECIPE_OPS} operations, got {_json_kind(raw_ops)}")
        ops = []
        for i, item in enumerate(raw_ops):
            if not isinstance(item, dict) or not isinstance(item.get("op"), str) or item["op"] not in EDIT_OPS:
                shown = item.get("op") if isinstance(item, dict) else item
                raise ValueError(f"recipe operation {i + 1}: unknown op {str(shown)[:40]!r}")
            kind = EDIT_OPS[item["op"]]
            fields = {k: v for k, v in item.items() if k != "op"}
            unknown = set(fields) - set(kind.__dataclass_fields__)
            if unknown:
                raise ValueError(f"recipe operation {i + 1} ({item['op']}): unknown field(s) {', '.join(sorted(unknown))[:200]}")
            try:
                ops.append(kind(**{k: _RECIPE_FIELDS[k](k, v) for k, v in fields.items()}))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"recipe operation {i + 1} ({item['op']}): {exc}") from None
        return cls(ops=tuple(ops))

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "EditStack":
        return cls.from_dict(_recipe_data(text))


MAX_RECIPE_OPS = 10_000
MAX_RECIPE_VECTOR = 4096  # latents have at most 1024 dimensions


def _json_kind(v) -> str:
    kinds: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return "null" if v is None else kinds.get(type(v), repr(v)[:40])


def _finite(k: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1e6 <= v <= 1e6:  # False for NaN and ±inf
        raise ValueError(f"{k} must be a finite number within ±1e6, got {_json_kind(v)}")
    return float(v)


def _dim(k: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < MAX_RECIPE_VECTOR or int(v) != v:
        raise ValueError(f"{k} must be an integer within 0..{MAX_RECIPE_VECTOR - 1}, got {_json_kind(v)}")
    return int(v)


def _numbers(k: str, v) -> tuple[float, ...]:
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_RECIPE_VECTOR:
        raise ValueError(f"{k} must be a list of 1..{MAX_RECIPE_VECTOR} numbers, got {_json_kind(v)}")
    return tuple(_finite(f"{k}[{j}]", x) for j, x in enumerate(v))


def _text(k: str, v) -> str:
    if not isinstance(v, str) or len(v) > 200:
        raise ValueError(f"{k} must be text of at most 200 characters, got {_json_kind(v)}")
    return v


#: How each recipe field is read from JSON: a type and range per field name, checked in one place.
_RECIPE_FIELDS: dict[str, Callable[[str, Any], Any]] = {"dim": _dim, "amount": _finite, "weight": _finite, "target": _numbers, "vector": _numbers, "name": _text, "label": _text}


def attribute_step_vector(direction: np.ndarray, std: np.ndarray) -> np.ndarray:
    """One σ along ``direction`` as a latent offset (same as ``semantics.orthogonal.edit_vector``)."""
    u = np.asarray(direction, np.float64).reshape(-1)
    norm = float(np.linalg.norm(u))
    if norm == 0.0 or not np.isfinite(norm):
        raise ValueError("an attribute direction is zero or not finite")
    u = u / norm
    std = np.asarray(std, np.float64).reshape(-1)
    sigma = float(np.sqrt(np.sum(u**2 * std**2)))
    return u * (sigma if sigma > MIN_STD else 1.0)


def _vector(values, d: int, what: str) -> np.ndarray:
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size != d:
        raise ValueError(f"{what} has {v.size} dimensions, the latent has {d}")
    return v


def name_value_pairs(items: str | Iterable[str], what: str, example: str, bare: str | None = None) -> list[tuple[str, str]]:
    """The one reader of ``NAME=VALUE`` lists on command lines: ``"A=1, B=2"`` (or the items of a
    repeated option) → ``[("A", "1"), ("B", "2")]``, both sides stripped, empty items skipped. An
    item without ``=`` gets ``bare`` as its value where given; otherwise it, like an item with no
    name, is a ValueError ``<what>: 'item' is not NAME=VALUE, e.g. <example>``. Each caller checks
    the values by its own rules."""
    parts = [t.strip() for t in (items.split(",") if isinstance(items, str) else items)]
    out = []
    for item in filter(None, parts):
        name, eq, value = (t.strip() for t in item.partition("="))
        if not name or (not eq and bare is None):
            raise ValueError(f"{what}: {item!r} is not NAME=VALUE, e.g. {example}")
        out.append((name, value if eq else str(bare)))
    return out


def parse_labels(text: str | None) -> dict[str, float] | None:
    """``"Eyeglasses=1,Male=0.5"`` (command lines: ``--labels``) → dict; ``=`` may be omitted: 1.0."""
    if not text:
        return None
    out = {}
    for name, value in name_value_pairs(text, "--labels", "Eyeglasses=1,Male=0", bare="1"):
        try:
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"--labels: {name}={value!r} is not NAME=NUMBER") from None
    return out


def recipe_json(stack: EditStack, labels: dict[str, float] | None = None) -> str:
    """A recipe file (``latent-studio edit --recipe``): the edit stack and, for a conditional
    model, the labels to decode with (a top-level ``labels`` that older readers ignore)."""
    import json

    data = stack.to_dict()
    if labels:
        data["labels"] = {str(k): float(v) for k, v in labels.items()}
    return json.dumps(data, indent=2)


def _recipe_data(text: str):
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"recipe is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("recipe is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise ValueError(f"recipe is not valid JSON ({str(exc).splitlines()[0][:100]})") from None


def read_recipe(text: str) -> tuple[EditStack, dict[str, float] | None]:
    """A recipe's (stack, labels or None); ValueError with a one-line reason when malformed."""
    data = _recipe_data(text)
    stack = EditStack.from_dict(data)
    raw = data.get("labels")
    if raw is None:
        return stack, None
    if not isinstance(raw, dict) or not raw:
        raise ValueError("recipe labels must be a non-empty {name: value} object")
    if len(raw) > 1000 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()):
        raise ValueError("recipe labels must be numbers between 0 and 1")
    labels = {str(k): float(v) for k, v in raw.items()}
    bad = [k for k, v in labels.items() if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"recipe label {bad[0]!r} = {labels[bad[0]]} is outside 0..1")
    return stack, labels
