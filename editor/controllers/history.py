"""Undo/redo for everything: one QUndoStack per open photo, fed by the controllers.

- Edit-stack changes: the EditController announces every change it makes (``stackEdited``:
  before, after, what, merge key) and they are recorded as already-applied commands; slider moves
  within one drag merge into one step. Undo/redo apply the stacks back through
  ``EditController.apply_stack`` (the sliders follow).
- Mask strokes: the paint API here drives the :class:`MaskModel` and records each stroke.
- Face choice, recipes, "reset all edits": commands pushed here.

A new photo, sample or model starts a new history (its stacks refer to that latent space).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from engine.protocol import EditStack
from editor.commands import (
    ApplyStackCommand,
    ChooseFaceCommand,
    MaskStrokeCommand,
    ResetCommand,
    SetMaskCommand,
    edit_command,
)
from editor.controllers.edit import EditController
from editor.controllers.mask import MaskModel
from editor.controllers.model import ModelController
from editor.controllers.photo import PhotoController


UNDO_LIMIT = 500  # steps kept (mask strokes keep their changed rectangle twice)


class HistoryController(QObject):
    revisionChanged = Signal(int)  # bumps on every change of the document (edits, mask, undo, redo)

    def __init__(self, edit: EditController, mask: MaskModel, photo: PhotoController, model: ModelController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._edit, self._mask, self._photo = edit, mask, photo
        self.revision = 0
        self._recording = True
        edit.stackEdited.connect(self._record)
        edit.documentChanged.connect(self.clear)
        model.changed.connect(self.clear)
        self.undo_stack.indexChanged.connect(self._bump)
        edit.stackChanged.connect(self._bump)  # merged drags change the edit without moving the index
        mask.changed.connect(self._bump)

    # ------------------------------------------------------------------ history

    def clear(self) -> None:
        self.undo_stack.clear()
        self._bump()

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def _record(self, before: EditStack, after: EditStack, what: str, merge) -> None:
        if self._recording:
            self.undo_stack.push(edit_command(self._edit, before, after, what, merge, applied=True))

    def _bump(self, *_: object) -> None:
        self.revision += 1
        self.revisionChanged.emit(self.revision)

    # ------------------------------------------------------------------ edits made here

    def apply_stack(self, stack: EditStack, what: str) -> bool:
        """Make ``stack`` the edit as one undoable step (a recipe, a session's edit)."""
        if self._edit.edit is None:
            return False
        if stack == self._edit.stack:
            return True
        try:
            self._edit.edited_latent(stack)  # does it fit this model? (unknown attribute, wrong size)
        except ValueError as exc:
            self._edit.failed.emit(f"Cannot apply {what.lower()}: {exc}")
            return False
        self.undo_stack.push(ApplyStackCommand(self._edit, self._edit.stack, stack, what))
        return True

    def reset_all(self) -> None:
        """Back to the original photo: the empty edit (undoable)."""
        if self._edit.edit is not None and not self._edit.stack.is_empty:
            self.undo_stack.push(ResetCommand(self._edit, self._edit.stack, EditStack(), "Reset all edits"))

    def choose_face(self, index: int) -> None:
        before = self._photo.chosen
        if before < 0 or index == before or not 0 <= index < len(self._photo.faces):
            return
        self.undo_stack.push(ChooseFaceCommand(self._photo, before, index))

    # ------------------------------------------------------------------ mask painting (photo coordinates)

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        if self._mask.enabled:
            self._mask.begin_stroke(x, y, erase)

    def stroke_to(self, x: float, y: float) -> None:
        self._mask.stroke_to(x, y)

    def end_stroke(self) -> None:
        stroke = self._mask.end_stroke()
        if stroke is not None:
            self.undo_stack.push(MaskStrokeCommand(self._mask, stroke.rect, stroke.before, stroke.after, stroke.created,
                                                   stroke.erase))

    def clear_mask(self) -> None:
        if self._mask.active:
            self.undo_stack.push(SetMaskCommand(self._mask, self._mask.array.copy(), None, "Clear mask"))

    def invert_mask(self) -> None:
        if self._mask.enabled:
            before = None if self._mask.array is None else self._mask.array.copy()
            self.undo_stack.push(SetMaskCommand(self._mask, before, self._mask.inverted(), "Invert mask"))
