"""Edits to an :class:`~engine.protocol.EditStack`, as pure functions (no Qt).

The edit of a photo is an ``EditStack``: the non-destructive list of operations that sessions
save, recipes carry and the undo history steps through. The panels think in *positions*
(dimension 3 at +1.25σ, "Smiling" at +2σ); these functions turn a new position into a new stack.
Each dimension and each attribute is held by at most one operation: moving a slider replaces
that operation in place (keeping its order relative to blends), setting it to 0 removes it, so
dragging a slider never grows the stack and the zero edit is the empty stack.

Amounts are float32-exact doubles (:func:`sigma`): the sliders show offsets as float32, so a
stack read back from the sliders is the stack that was written to them, bit for bit.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

import numpy as np

from engine.protocol import AddVector, AttributeStep, Blend, DimensionStep, EditOp, EditStack


PCA_LABEL = re.compile(r"PC[1-9][0-9]*")  # AddVector labels of the PCA axes' sliders (PC1 = largest variance)


def pca_label(k: int) -> str:
    """The label of principal axis ``k`` (0-based) in an edit stack: "PC1", "PC2", …"""
    return f"PC{int(k) + 1}"


def sigma(value: float) -> float:
    """``value`` rounded to the nearest float32 (kept as a Python float)."""
    return float(np.float32(value))


def _replace(stack: EditStack, match, new_op: EditOp | None) -> EditStack:
    """Replace the operations ``match`` selects by ``new_op`` (at the first one's place, or at
    the end when none matched); ``None`` removes them."""
    ops = list(stack.ops)
    hits = [i for i, op in enumerate(ops) if match(op)]
    if hits:
        first = hits[0]
        ops = [op for i, op in enumerate(ops) if i not in hits[1:]]
        if new_op is None:
            del ops[first]
        else:
            ops[first] = new_op
    elif new_op is not None:
        ops.append(new_op)
    return EditStack(ops=tuple(ops))


def with_dimension(stack: EditStack, dim: int, value: float) -> EditStack:
    """``stack`` with latent dimension ``dim`` moved to ``value`` σ in total."""
    dim, value = int(dim), sigma(value)
    op = DimensionStep(dim=dim, amount=value) if value else None
    return _replace(stack, lambda o: isinstance(o, DimensionStep) and o.dim == dim, op)


def with_attribute(stack: EditStack, name: str, value: float) -> EditStack:
    """``stack`` with the named attribute direction at ``value`` σ in total."""
    value = sigma(value)
    op = AttributeStep(name=str(name), amount=value) if value else None
    return _replace(stack, lambda o: isinstance(o, AttributeStep) and o.name == name, op)


def with_vector(stack: EditStack, label: str, vector: np.ndarray, value: float) -> EditStack:
    """``stack`` with the ``AddVector`` labelled ``label`` set to ``value`` × ``vector`` (zero
    removes it): one slider of another axis set (a PCA axis, with ``vector`` = its 1σ step)."""
    value = sigma(value)
    op = None
    if value:
        op = AddVector(vector=tuple(float(v) for v in np.asarray(vector, np.float32).reshape(-1)), amount=value, label=str(label))
    return _replace(stack, lambda o: isinstance(o, AddVector) and o.label == label, op)


def vector_amounts(stack: EditStack, labels: Iterable[str]) -> dict[str, float]:
    """Summed amounts of the ``AddVector`` operations with these labels (e.g. PCA slider positions)."""
    labels = set(labels)
    out: dict[str, float] = {}
    for op in stack.ops:
        if isinstance(op, AddVector) and op.label in labels:
            out[op.label] = out.get(op.label, 0.0) + float(op.amount)
    return out


def with_dimensions(stack: EditStack, offsets: Mapping[int, float] | np.ndarray) -> EditStack:
    """``stack`` with *every* dimension step replaced by ``offsets`` (σ; zeros dropped), placed
    where the first dimension step was (or at the end). Other operations are kept."""
    if isinstance(offsets, np.ndarray):
        offsets = {d: float(v) for d, v in enumerate(np.asarray(offsets).reshape(-1))}
    new = [DimensionStep(dim=int(d), amount=sigma(v)) for d, v in sorted(offsets.items()) if sigma(v)]
    ops = list(stack.ops)
    first = next((i for i, op in enumerate(ops) if isinstance(op, DimensionStep)), len(ops))
    before = [op for op in ops[:first] if not isinstance(op, DimensionStep)]
    after = [op for op in ops[first:] if not isinstance(op, DimensionStep)]
    return EditStack(ops=tuple(before + new + after))


def without(stack: EditStack, kinds: Iterable[type]) -> EditStack:
    kinds = tuple(kinds)
    return EditStack(ops=tuple(op for op in stack.ops if not isinstance(op, kinds)))


def attribute_amounts(stack: EditStack) -> dict[str, float]:
    """Summed ``AttributeStep`` amounts per attribute name (σ), e.g. for attribute sliders."""
    out: dict[str, float] = {}
    for op in stack.ops:
        if isinstance(op, AttributeStep):
            out[op.name] = out.get(op.name, 0.0) + float(op.amount)
    return out


def slider_step(control: str, sigma: float, digits: int = 2, sep: str = " → ") -> str:
    """A slider move's history name ("z3 → +0.50σ"; the attribute panel's: "Eyeglasses +2.0σ"); a
    slider moved back to what reads as zero is "Reset Eyeglasses", as the reset buttons name it."""
    if round(float(sigma), digits) == 0:
        return f"Reset {control}"
    return f"{control}{sep}{sigma:+.{digits}f}σ"


def describe(op: EditOp) -> str:
    """A few words for a person (history panel)."""
    if isinstance(op, DimensionStep):
        return f"z{op.dim} {op.amount:+.2f}σ"
    if isinstance(op, AttributeStep):
        return f"{op.name} {op.amount:+.2f}σ"
    if isinstance(op, Blend):
        return f"blend {op.label or 'latent'} {op.weight:.0%}"
    if isinstance(op, AddVector):
        if PCA_LABEL.fullmatch(op.label or ""):
            return f"{op.label} {op.amount:+.2f}σ"
        return f"add {op.label or 'vector'} ×{op.amount:g}"
    return type(op).__name__
