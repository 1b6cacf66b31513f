"""PCA axes as another axis set for the latent slider panel.

The engine answers :class:`~engine.protocol.GetPCAAxes` with the principal axes of the model's
aggregate posterior (unit vectors v_k, the data's σ_k along each, explained variance). A slider
at ``a_k`` σ on axis k adds ``a_k · σ_k · v_k`` to the latent, so with the dimension sliders the
edit is

    z = base + Σ_d offset_d σ_d  (dimension sliders)  + Σ_k a_k σ_k v_k  (this controller) + …

In the :class:`~engine.protocol.EditStack` each moved axis is one ``AddVector`` labelled "PC1",
"PC2", … with ``vector`` = σ_k v_k and ``amount`` = a_k, changed through
:meth:`EditController.change` like a dimension slider: the history records it (undo/redo), sessions
and recipes carry it, and the engine applies it. The slider positions are read back from the
stack after every change (undo, redo, a session), so they always show the edit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.protocol import EditStack, GetPCAAxes, ModelInfo, PCAAxes
from editor.client import EngineClient, Ticket
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.stack_edits import pca_label, slider_step, vector_amounts, with_vector

PCA_LANE = "pca-axes"
SIGMA_RANGE = 3.0


class PCAController(QObject):
    axesChanged = Signal(object)  # PCAAxes | None
    amountsChanged = Signal(object)  # np.ndarray K (σ per axis), whenever the edit changed
    failed = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._model = model
        self._edit = edit
        self.axes: PCAAxes | None = None
        self._shown: np.ndarray | None = None  # the amounts last announced (a slider drag elsewhere costs nothing here)
        self._rng = np.random.default_rng()
        model.changed.connect(self._on_model_changed)
        edit.stackChanged.connect(self._on_stack_changed)
        edit.encodedChanged.connect(lambda *_: self._on_stack_changed(edit.stack))  # a new photo: a new (empty) edit

    # ------------------------------------------------------------------ axes
    @property
    def count(self) -> int:
        return 0 if self.axes is None else int(len(self.axes.std))

    def refresh(self) -> Ticket | None:
        if self._model.info is None:
            return None
        # a model without axes keeps the dimension sliders; the banner says why
        return self._client.call(GetPCAAxes(), PCA_LANE, done=self._on_axes,
                                 failed=lambda error: self.failed.emit(f"Could not read the model's PCA axes: {error.message}"))

    def step(self, k: int) -> np.ndarray:
        """+1σ along principal axis ``k`` (0-based) as a latent offset: σ_k · v_k."""
        return (np.asarray(self.axes.axes[k], np.float32) * np.float32(self.axes.std[k])).astype(np.float32)

    def labels(self) -> list[str]:
        return [pca_label(k) for k in range(self.count)]

    # ------------------------------------------------------------------ the edit
    def amounts(self, stack: EditStack | None = None) -> np.ndarray:
        """Slider positions (σ per axis) held by ``stack`` (default: the current edit)."""
        out = np.zeros(self.count, np.float32)
        held = vector_amounts(self._edit.stack if stack is None else stack, self.labels())
        for k, label in enumerate(self.labels()):
            out[k] = held.get(label, 0.0)
        return out

    def set_amount(self, k: int, sigma: float) -> None:
        """Move axis ``k`` to ``sigma`` σ (one history step per drag or burst of changes)."""
        if self._edit.edit is None or not 0 <= k < self.count:
            return
        value = float(np.clip(sigma, -SIGMA_RANGE, SIGMA_RANGE))
        after = with_vector(self._edit.stack, pca_label(k), self.step(k), value)
        self._edit.change(after, slider_step(pca_label(k), value), ("pca", int(k)))

    def set_amounts(self, amounts: dict[int, float], what: str) -> None:
        """Set several axes in one history step (reset, randomise)."""
        if self._edit.edit is None:
            return
        stack = self._edit.stack
        for k, value in amounts.items():
            if 0 <= k < self.count:
                stack = with_vector(stack, pca_label(k), self.step(k), float(np.clip(value, -SIGMA_RANGE, SIGMA_RANGE)))
        self._edit.change(stack, what)

    def reset(self, k: int | None = None) -> None:
        if k is None or k < 0:
            self.set_amounts({k: 0.0 for k in range(self.count)}, "Reset PCA axes")
        else:
            self.set_amounts({int(k): 0.0}, f"Reset {pca_label(k)}")

    def randomise(self, axes, spread: float = 1.0, seed: int | None = None) -> None:
        rng = self._rng if seed is None else np.random.default_rng(seed)
        axes = [int(k) for k in np.asarray(axes, int).reshape(-1)]
        values = np.clip(rng.standard_normal(len(axes)) * spread, -SIGMA_RANGE, SIGMA_RANGE)
        self.set_amounts(dict(zip(axes, values.tolist())), f"Randomise {len(axes)} PCA axes")

    # ------------------------------------------------------------------ answers
    def _on_stack_changed(self, stack: EditStack) -> None:
        if not self.count:
            return
        amounts = self.amounts(stack)
        if self._shown is not None and np.array_equal(amounts, self._shown):
            return
        self._shown = amounts
        self.amountsChanged.emit(amounts.copy())

    def _on_axes(self, response: PCAAxes) -> None:
        info: ModelInfo | None = self._model.info
        axes = np.asarray(response.axes)
        if info is not None and axes.size and (axes.ndim != 2 or axes.shape[1] != info.latent_dim):
            self.failed.emit(f"the model's PCA axes have {axes.shape[-1]} dimensions, its latent {info.latent_dim}")
            return
        self.axes = response
        self._shown = None
        self.axesChanged.emit(response)
        self._on_stack_changed(self._edit.stack)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(PCA_LANE)
        self.axes, self._shown = None, None
        self.axesChanged.emit(None)
        self.refresh()
