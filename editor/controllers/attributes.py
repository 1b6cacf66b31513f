"""Named attribute sliders: strengths in σ units, locks, and their share of the edit.

The engine answers :class:`~engine.protocol.AttributeDirections` with one +1σ latent step per
attribute, conditioned on the locked attributes (their components projected out, so moving one
attribute keeps the locked ones fixed). The edit is

    z = base + Σ_d offset_d σ_d  (the dimension sliders, EditController)
             + Σ_a strength_a · step_a  (this controller, EditController.set_shift)

Locking or unlocking asks the engine for newly conditioned steps; the strengths stay, so the
same slider positions now give the conditioned edit. A new photo (or sample) starts at zero.

In the edit stack the attribute sliders are one ``AddVector`` (EditController.set_shift). When the
stack changes from elsewhere (undo/redo, a session, a recipe) the sliders follow: strengths this
controller wrote are remembered by their vector; another vector is fitted by least squares to
the current steps and what the steps cannot explain is kept as a fixed ``base`` offset, so a
slider move never drops part of an edit.

A traversal strip shows one attribute's effect: the current edit decoded with that attribute's
strength at −3σ … +3σ (the others where they are), asked again when the edit or a lock changes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from engine.protocol import AddVector, AttributeDirections, AttributeDirectionSet, EditStack, ErrorResponse, ModelInfo
from editor.client import EngineClient, Ticket
from editor.controllers.edit import SHIFT_LABEL, EditController
from editor.controllers.model import ModelController
from editor.controllers.stack_edits import slider_step

DIRECTIONS_LANE = "attribute-directions"
TRAVERSAL_LANE = "attribute-traversal"
TRAVERSAL_STEPS = 7
SIGMA_RANGE = 3.0
MEMORY = 512  # shift vectors remembered for undo/redo


class AttributeController(QObject):
    directionsChanged = Signal(object)  # AttributeDirectionSet | None
    strengthsChanged = Signal(object)  # dict name -> σ, after a change not made by a slider
    lockedChanged = Signal(object)  # tuple of locked names
    traversalReady = Signal(str, object, object)  # name, N×S×S×3 images, σ values
    failed = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._model = model
        self._edit = edit
        self.directions: AttributeDirectionSet | None = None
        self.strengths: dict[str, float] = {}
        self.locked: tuple[str, ...] = ()
        self.base: np.ndarray | None = None  # a shift in the stack that the sliders do not explain
        self._memory: dict[bytes, dict[str, float]] = {}
        self._applying = False
        self.traversal_name: str | None = None
        self._refresh_traversal = qdebounced(self._request_traversal, timeout=150, parent=self)
        model.changed.connect(self._on_model_changed)
        edit.encodedChanged.connect(self._on_encoded)
        edit.stackChanged.connect(self._on_stack_changed)
        edit.stackChanged.connect(lambda *_: self._refresh_traversal() if self.traversal_name else None)
        edit.draggingChanged.connect(lambda held: None if held or not self.traversal_name else self._refresh_traversal())

    # ------------------------------------------------------------------ requests
    def refresh(self) -> Ticket | None:
        """Ask for the attributes again (after a user attribute was added, or a lock changed)."""
        if self._model.info is None:
            return None
        return self._client.call(AttributeDirections(locked=self.locked), DIRECTIONS_LANE, done=self._on_directions,
                                 failed=self._on_failed)

    def set_locked(self, name: str, locked: bool) -> None:
        names = [n for n in self.locked if n != name] + ([name] if locked else [])
        if tuple(names) == self.locked:
            return
        self.locked = tuple(names)
        self.lockedChanged.emit(self.locked)
        self.refresh()

    def show_traversal(self, name: str | None) -> None:
        """Decode the current edit with ``name`` swept over −3σ…+3σ (one N×D request); None stops."""
        self.traversal_name = name or None
        if self.traversal_name is None:
            self._client.cancel(TRAVERSAL_LANE)
        else:
            self._request_traversal()

    def _request_traversal(self) -> None:
        name, doc = self.traversal_name, self._edit.edit
        if name is None or doc is None or self._edit.dragging or self.directions is None or name not in self.directions.steps:
            return  # a drag asks again when it ends
        values = np.linspace(-SIGMA_RANGE, SIGMA_RANGE, TRAVERSAL_STEPS, dtype=np.float32)
        step = np.asarray(self.directions.steps[name], np.float32)
        z = self._edit.edited_latent()[None] + (values - np.float32(self.strengths.get(name, 0.0)))[:, None] * step
        self._client.call(self._edit.strip_request(z.astype(np.float32)), TRAVERSAL_LANE,
                          done=lambda decoded: self.traversalReady.emit(name, decoded.images, values) if name == self.traversal_name else None,
                          failed=lambda error: self.failed.emit(f"Decoding the {name} strip failed: {error.message}"))  # fmt: skip

    # ------------------------------------------------------------------ strengths
    @property
    def names(self) -> tuple[str, ...]:
        return () if self.directions is None else self.directions.names

    def set_strength(self, name: str, sigma: float) -> None:
        if name not in self.names:
            return
        self.strengths[name] = float(np.clip(sigma, -SIGMA_RANGE, SIGMA_RANGE))
        self._apply(slider_step(name, self.strengths[name], 1, " "), name)

    def reset(self, name: str | None = None) -> None:
        if name is None:
            self.strengths = {}
        else:
            self.strengths.pop(name, None)
        self.strengthsChanged.emit(dict(self.strengths))
        self._apply(f"Reset {name}" if name else "Reset attributes", name or "")

    def shift(self) -> np.ndarray | None:
        """base + Σ strength × step (the latent offset of the attribute sliders), or None when zero."""
        total = None if self.base is None else self.base.astype(np.float32)
        if self.directions is not None:
            for name, s in self.strengths.items():
                step = self.directions.steps.get(name)
                if s and step is not None:
                    term = np.float32(s) * np.asarray(step, np.float32)
                    total = term if total is None else total + term
        return total if total is not None and np.any(total) else None

    def _apply(self, what: str = "Attributes", control: str = "") -> None:
        shift = self.shift()
        if shift is None and _stack_shift(self._edit.stack) is None:
            return  # nothing applied, nothing to apply: no decode
        if shift is not None:
            self._memory[shift.astype(np.float32).tobytes()] = dict(self.strengths)
            while len(self._memory) > MEMORY:
                self._memory.pop(next(iter(self._memory)))
        self._applying = True
        try:
            self._edit.set_shift(shift, what, control)
        finally:
            self._applying = False

    def _on_stack_changed(self, stack: EditStack) -> None:
        """The edit changed elsewhere (undo/redo, a session): the sliders follow its shift."""
        if self._applying:
            return
        vector = _stack_shift(stack)
        current = self.shift()
        if vector is None:
            if current is None:
                return
            self.strengths, self.base = {}, None
        elif current is not None and np.array_equal(vector, current):
            return
        elif vector.tobytes() in self._memory:
            self.strengths = dict(self._memory[vector.tobytes()])
            self.base = None
            rest = vector - (self.shift() if self.shift() is not None else 0)
            self.base = rest if np.any(np.abs(rest) > 1e-6) else None
        else:
            self.strengths, self.base = self._fit(vector)
        self.strengthsChanged.emit(dict(self.strengths))

    def _fit(self, vector: np.ndarray) -> tuple[dict[str, float], np.ndarray | None]:
        """Strengths that best explain ``vector`` with the current steps, and the rest."""
        names = [n for n in self.names if np.any(self.directions.steps.get(n, 0))] if self.directions else []
        if not names:
            return {}, vector
        steps = np.stack([np.asarray(self.directions.steps[n], np.float64) for n in names], 1)
        s, *_ = np.linalg.lstsq(steps, vector.astype(np.float64), rcond=None)
        s = np.clip(s, -SIGMA_RANGE, SIGMA_RANGE).astype(np.float32)
        strengths = {n: float(v) for n, v in zip(names, s) if abs(v) > 1e-6}
        rest = (vector.astype(np.float64) - steps @ s.astype(np.float64)).astype(np.float32)
        return strengths, rest if np.any(np.abs(rest) > 1e-6) else None

    # ------------------------------------------------------------------ answers
    def _on_failed(self, error: ErrorResponse) -> None:
        self.locked = () if self.directions is None else tuple(self.directions.locked)  # what the engine last confirmed
        self.lockedChanged.emit(self.locked)
        self.failed.emit(f"Could not get the attribute directions: {error.message}")

    def _on_directions(self, response: AttributeDirectionSet) -> None:
        self.directions = response
        self.locked = tuple(response.locked)
        dropped = [n for n in self.strengths if n not in response.names]
        for n in dropped:
            del self.strengths[n]
        self.directionsChanged.emit(response)
        self.lockedChanged.emit(self.locked)
        if self.traversal_name:
            self._refresh_traversal()  # a lock changes the step
        if dropped:
            self.strengthsChanged.emit(dict(self.strengths))
        if self.strengths:
            self._apply()

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(DIRECTIONS_LANE)
        self.directions, self.strengths, self.locked, self.base = None, {}, (), None
        self.show_traversal(None)
        self._memory.clear()
        self.directionsChanged.emit(None)
        self.strengthsChanged.emit({})
        self.lockedChanged.emit(())
        self.refresh()

    def _on_encoded(self, encoded) -> None:
        # a new photo, sample or model: a fresh edit, with no attribute steps in it
        self.base = None
        if self.traversal_name:
            self._refresh_traversal()
        if self.strengths:
            self.strengths = {}
            self.strengthsChanged.emit({})


def _stack_shift(stack: EditStack) -> np.ndarray | None:
    """The set_shift vector held in ``stack`` (float32), or None."""
    for op in stack.ops:
        if isinstance(op, AddVector) and op.label == SHIFT_LABEL:
            return (np.asarray(op.vector, np.float32) * np.float32(op.amount)).astype(np.float32)
    return None
