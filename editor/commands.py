"""Undoable edits: QUndoCommand subclasses, one per kind of change a person makes.

Every command holds the state before and after (immutable ``EditStack`` values, mask patches),
so undo and redo are exact: undoing to the start gives back the empty stack, which renders the
original photo pixel for pixel. Commands act on small duck-typed targets:

- an *edit target* with ``apply_stack(stack, echo=True)`` (``EditController``);
- a *mask* with ``create()``, ``apply_patch(rect, patch)`` and ``set_array(array)`` (``MaskModel``);
- a *photo* with ``choose_face(index)`` (``PhotoController``).

Most edits are made first (a slider moves, the EditController applies it and announces it with
``stackEdited``) and then recorded (``applied=True``: the first redo does nothing). Slider moves
merge while a drag lasts (``id``/``mergeWith`` with a merge key that names the control and the
drag), so one drag is one step in the history; a drag that ends where it began makes its
command obsolete and it disappears.
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.protocol import EditStack

EDIT_MERGE_ID = 7001  # QUndoCommand.id() of mergeable stack edits


class EditCommand(QUndoCommand):
    """Replace the edit stack: ``before`` ⇄ ``after``.

    ``applied``: the change was made already (a slider moved, the EditController applied it and
    announced it), so the first redo — run by ``QUndoStack.push`` — does nothing; undo and later
    redos apply the stacks and move the controls to match. ``merge_key``: consecutive commands
    with equal keys merge (one drag of one slider).
    """

    def __init__(self, target: Any, before: EditStack, after: EditStack, text: str, *,
                 merge_key: Hashable | None = None, applied: bool = False) -> None:
        super().__init__(text)
        self.target = target
        self.before = before
        self.after = after
        self.merge_key = merge_key
        self._skip_redo = applied

    def id(self) -> int:  # noqa: A003 - Qt's name
        return EDIT_MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditCommand) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())
        if self.after == self.before:
            self.setObsolete(True)  # the drag came back to where it started: nothing to undo
        return True

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.target.apply_stack(self.after, echo=True)

    def undo(self) -> None:
        self.target.apply_stack(self.before, echo=True)


class SetDimensionCommand(EditCommand):
    """A latent dimension's slider moved; merges within one drag (the merge key names it)."""


class SetAttributeCommand(EditCommand):
    """A named attribute's strength changed (attribute steps, the attribute panel's shift)."""


class ResetCommand(EditCommand):
    """Reset one dimension, every dimension, or the whole edit."""


class RandomiseCommand(EditCommand):
    """Random offsets: the values drawn are kept in ``after``, so redo gives the same ones."""


class ApplyStackCommand(EditCommand):
    """Any other wholesale change (a recipe loaded, a traversal value picked, offsets set)."""


#: which command records an edit, by the first word of its merge key or of its text
EDIT_COMMANDS: dict[str, type[EditCommand]] = {
    "dim": SetDimensionCommand,
    "z": SetDimensionCommand,
    "shift": SetAttributeCommand,
    "attr": SetAttributeCommand,
    "attributes": SetAttributeCommand,
    "reset": ResetCommand,
    "randomise": RandomiseCommand,
}


def edit_command(target: Any, before: EditStack, after: EditStack, text: str, merge_key: Hashable | None = None,
                 applied: bool = False) -> EditCommand:
    """The right EditCommand subclass for a change described by ``text`` / ``merge_key``."""
    if isinstance(merge_key, tuple) and merge_key:
        kind = str(merge_key[0])
    else:
        word = text.split(maxsplit=1)[0].lower() if text.strip() else ""
        kind = "z" if word[:1] == "z" and word[1:].isdigit() else word
    cls = EDIT_COMMANDS.get(kind, ApplyStackCommand)
    return cls(target, before, after, text, merge_key=merge_key, applied=applied)


class MaskStrokeCommand(QUndoCommand):
    """One brush or eraser stroke: the changed rectangle of the mask, before and after.

    ``created``: the mask did not exist before the stroke (undo removes it again). The stroke
    is already painted when the command is pushed, so the first redo does nothing.
    """

    def __init__(self, mask: Any, rect: tuple[int, int, int, int], before: np.ndarray, after: np.ndarray,
                 created: bool, erase: bool) -> None:
        super().__init__("Erase mask" if erase else "Paint mask")
        self.mask, self.rect, self.before, self.after, self.created = mask, rect, before, after, created
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        if self.created:
            self.mask.create()
        self.mask.apply_patch(self.rect, self.after)

    def undo(self) -> None:
        if self.created:
            self.mask.set_array(None)
        else:
            self.mask.apply_patch(self.rect, self.before)


class SetMaskCommand(QUndoCommand):
    """Replace the whole mask (clear, invert, fill): ``None`` means no painted mask."""

    def __init__(self, mask: Any, before: np.ndarray | None, after: np.ndarray | None, text: str) -> None:
        super().__init__(text)
        self.mask, self.before, self.after = mask, before, after

    def redo(self) -> None:
        self.mask.set_array(self.after)

    def undo(self) -> None:
        self.mask.set_array(self.before)


class ChooseFaceCommand(QUndoCommand):
    """Edit another face of the photo (the engine re-aligns and re-encodes; the edit stays)."""

    def __init__(self, photo: Any, before: int, after: int) -> None:
        super().__init__(f"Choose face {after + 1}")
        self.photo, self.before, self.after = photo, int(before), int(after)

    def redo(self) -> None:
        self.photo.choose_face(self.after)

    def undo(self) -> None:
        self.photo.choose_face(self.before)


LABELS_MERGE_ID = 7002  # QUndoCommand.id() of mergeable label changes


class LabelsCommand(QUndoCommand):
    """The labels of a conditional model's edit: ``before`` ⇄ ``after`` (dicts; None = the photo's
    or sample's own labels). The *target* has ``restore(labels)`` (``LabelsController``). Made
    first, then recorded (``applied``); changes of one label control within a drag merge."""

    def __init__(self, target: Any, before: dict | None, after: dict | None, text: str, *,
                 merge_key: Hashable | None = None, applied: bool = False) -> None:
        super().__init__(text)
        self.target = target
        self.before = None if before is None else dict(before)
        self.after = None if after is None else dict(after)
        self.merge_key = merge_key
        self._skip_redo = applied

    def id(self) -> int:  # noqa: A003 - Qt's name
        return LABELS_MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, LabelsCommand) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())
        if self.after == self.before:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.target.restore(self.after)

    def undo(self) -> None:
        self.target.restore(self.before)
