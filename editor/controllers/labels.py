"""The labels of a conditional model (issue 6): what the label panel shows and the edit decodes with.

Two kinds of model (``ModelInfo.label_mode``):

* ``"multi"`` — independent attributes (Eyeglasses, Male, Young): one value 0..1 each; 0/1 switch
  an attribute, values between blend.
* ``"onehot"`` — one class of L (Fashion-MNIST): a class ``a``, optionally a second class ``b``
  and a blend ``t``: the labels are ``{a: 1 − t, b: t}`` (the networks embed y linearly, so this
  blends the two classes).

A new photo or sample sets the values from its label estimate (``Encoded.labels``) without
touching the edit; a change the user makes is sent to the EditController (``set_labels``: the same
latest-wins decode as the latent sliders) and to the SamplingController (the grid, redrawn only
while it is on screen — ``grid_visible``). Each such change is announced (``edited``: before,
after, what, merge key) for the undo history, which puts labels back with :meth:`restore`; the
changes of one control within a drag (or a quick burst) share a merge key. Unconditional models
have no labels: ``available`` is False and nothing is sent.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

from PySide6.QtCore import QObject, Signal

from engine.protocol import Encoded, ModelInfo


class LabelsController(QObject):
    availableChanged = Signal(bool)  # the loaded model takes labels
    modelChanged = Signal(object)  # ModelInfo: the panel rebuilds
    valuesChanged = Signal(object)  # dict name -> value: what the panel shows
    failed = Signal(str)
    edited = Signal(object, object, str, object)  # before, after (None: the photo's own), what, merge key

    def __init__(self, model, edit, sampling, grid_visible: Callable[[], bool] = lambda: False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edit = edit
        self._sampling = sampling
        self._grid_visible = grid_visible
        self.info: ModelInfo | None = None
        self.values: dict[str, float] = {}
        self.blend: tuple[str, str, float] | None = None  # onehot: (a, b, t)
        self.grid_stale = False  # the grid was drawn with other labels while hidden
        self.dragging = False
        self._serial = itertools.count(1)
        self._merge: tuple | None = None  # (control, serial) of the last change
        self._merge_time = 0.0
        model.changed.connect(self._on_model_changed)
        edit.encodedChanged.connect(self._on_encoded)

    # ------------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        return self.info is not None and self.info.conditional

    @property
    def mode(self) -> str:
        return self.info.label_mode if self.available else ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.info.labels) if self.available else ()

    def prior(self) -> dict[str, float]:
        if not self.available:
            return {}
        prior = self.info.label_prior or (0.5,) * len(self.names)
        return {n: float(v) for n, v in zip(self.names, prior)}

    # ------------------------------------------------------------------ user changes
    def set_value(self, name: str, value: float) -> None:
        """Multi-hot models: one attribute to ``value`` (0..1)."""
        if not self.available or name not in self.names:
            self.failed.emit(f"this model has no label {name!r}")
            return
        if self.mode == "onehot":
            self.failed.emit("a one-hot model takes one class, or a blend of two: use the class chooser")
            return
        values = dict(self.values) or self.prior()
        values[name] = _clip(value)
        self._apply(values, f"{name} → {values[name]:.2f}", name)

    def set_blend(self, a: str, b: str, t: float) -> None:
        """One-hot models: class ``a`` blended towards class ``b`` by ``t`` (0: all ``a``; 1: all ``b``)."""
        if not self.available or a not in self.names or b not in self.names:
            self.failed.emit(f"unknown class {a if a not in self.names else b!r}")
            return
        t = _clip(t)
        values = {n: 0.0 for n in self.names}
        if a == b:
            t = 0.0
            values[a] = 1.0
        else:
            values[a], values[b] = 1.0 - t, t
        self.blend = (a, b, t)
        self._apply(values, a if a == b else f"{a} ↔ {b} {t:.2f}", "class")

    def reset(self) -> None:
        """Back to the photo's (or sample's) own labels: the zero label edit."""
        before = self._current()
        self.restore(None)
        self._announce(before, None, "Reset labels", None)

    def restore(self, labels: dict[str, float] | None) -> None:
        """Make ``labels`` (None: the photo's or sample's own) the labels, unannounced (undo/redo)."""
        if not self.available:
            return
        base = self._edit.base_labels
        self.blend = None
        self._show(dict(labels) if labels else (dict(base) if base else self.prior()))
        if self._edit.edit is not None:
            self._edit.set_labels(dict(labels) if labels else (None if base is None else dict(base)))
        self._to_grid(None if labels is None else dict(labels))

    def begin_drag(self) -> None:
        self.dragging = True
        self._merge = None

    def end_drag(self) -> None:
        self.dragging = False
        self._merge = None

    def apply_values(self, values: dict[str, float], what: str) -> None:
        """Labels from elsewhere (a recipe) as one undoable step; refused with a message when
        the model takes none or names none of them."""
        if not self.available:
            self.failed.emit(f"{what}: it sets labels ({', '.join(values)}), but this model takes none")
            return
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            self.failed.emit(f"{what}: this model has no label {unknown[0]!r} (its labels: {', '.join(self.names)})")
            return
        self._apply({**self.values, **values}, what, "recipe")

    def put_back(self, values: dict[str, float] | None) -> None:
        """Set the user's labels again after the photo's latent changed under them (a refinement)."""
        if values and self.available and self._edit.edit is not None:
            self._show(values)
            self._edit.set_labels(values)

    def grid_shown(self) -> None:
        """The sample grid came on screen: redraw it if the labels changed while it was hidden."""
        if self.grid_stale:
            self.grid_stale = False
            self._sampling.set_labels(self._sampling.labels, redraw=True)

    def _apply(self, values: dict[str, float], what: str, control: str) -> None:
        before = self._current()
        self._show(values)
        if self._edit.edit is not None:
            self._edit.set_labels(values)
        self._to_grid(values)
        self._announce(before, dict(self.values), what, self._merge_key(control))

    def _current(self) -> dict[str, float] | None:
        """The labels now, as the history keeps them (None: the photo's or sample's own)."""
        labels = self._edit.labels if self._edit.edit is not None else self._sampling.labels
        return None if labels is None or labels == self._edit.base_labels else dict(labels)

    def _announce(self, before, after, what: str, merge) -> None:
        if after is not None and after == self._edit.base_labels:
            after = None
        if before != after:
            self.edited.emit(before, after, what, merge)

    def _merge_key(self, control: str) -> tuple:
        """One history step per drag of one control, or per burst of its changes < 1 s apart."""
        now = time.monotonic()
        if self._merge is None or self._merge[0] != control or (not self.dragging and now - self._merge_time > 1.0):
            self._merge = (control, next(self._serial))
        self._merge_time = now
        return ("labels", *self._merge)

    def _to_grid(self, values: dict[str, float] | None) -> None:
        visible = self._grid_visible()
        self._sampling.set_labels(values, redraw=visible)
        self.grid_stale = not visible and self._sampling.result is not None

    def _show(self, values: dict[str, float]) -> None:
        self.values = {n: float(values.get(n, 0.0)) for n in self.names}
        if self.mode == "onehot" and (self.blend is None or not _matches(self.blend, self.values)):
            self.blend = blend_of(self.values)
        self.valuesChanged.emit(dict(self.values))

    # ------------------------------------------------------------------ model and document
    def _on_model_changed(self, info: ModelInfo) -> None:
        self.info = info
        self.blend = None
        self.grid_stale = False
        self.modelChanged.emit(info)
        self.availableChanged.emit(self.available)
        if self.available:
            self._show(self.prior())

    def _on_encoded(self, encoded: Encoded | None) -> None:
        if encoded is None or not self.available:
            return
        self.blend = None
        self._show(dict(encoded.labels) if encoded.labels else self.prior())


def blend_of(values: dict[str, float]) -> tuple[str, str, float] | None:
    """The two strongest classes of a one-hot label vector and where between them it lies."""
    if not values:
        return None
    ranked = sorted(values, key=lambda n: -values[n])
    a = ranked[0]
    b = ranked[1] if len(ranked) > 1 and values[ranked[1]] > 0 else a
    total = values[a] + (values[b] if b != a else 0.0)
    t = 0.0 if b == a or total <= 0 else values[b] / total
    return a, b, t


def _matches(blend: tuple[str, str, float], values: dict[str, float]) -> bool:
    a, b, t = blend
    return abs(values.get(a, 0.0) - (1.0 - t if a != b else 1.0)) < 1e-6 and (a == b or abs(values.get(b, 0.0) - t) < 1e-6)


def _clip(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
