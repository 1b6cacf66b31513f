"""A latent made in a semantics panel (arithmetic's result, an interpolation frame) used on the
open photo instead of replacing it (issue 18.5): the offset that takes the photo's edited latent
to the target is pushed onto its edit as one ``AddVector`` — one undo step, saved in its session
like any edit — and the photo loop renders it with paste-back at full resolution, so the photo
keeps its own pixels outside the face and its own size."""

from __future__ import annotations

import numpy as np

from engine.protocol import AddVector
from editor.controllers.edit import EditController

MAX_LABEL = 200  # an edit operation's label, as recipes and sessions accept it


def applies_to_photo(edit: EditController) -> bool:
    """A photo (not a sample) is open and editable: a panel's latent goes onto it."""
    return edit.edit is not None and not edit.is_sample


def apply_latent(edit: EditController, target: np.ndarray, label: str, what: str) -> bool:
    """Move the open photo's edit to ``target`` (D) by one AddVector labelled ``label``, recorded
    as the undo step ``what``. The offset is taken from the edited latent as it is now (float64, so
    that a target built on the current edit, such as A − B + current edit, adds exactly A − B).
    Nothing is pushed when the photo is already there. False: no photo is open."""
    if not applies_to_photo(edit):
        return False
    offset = np.asarray(target, np.float64).reshape(-1) - edit.edited_latent().astype(np.float64)
    if not np.any(offset):
        return True
    step = AddVector(vector=tuple(float(v) for v in offset), amount=1.0, label=label[:MAX_LABEL])
    edit.change(edit.stack.push(step), what)
    return True
