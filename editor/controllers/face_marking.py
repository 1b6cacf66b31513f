"""No face found, or the wrong one: the ways on, as requests to the engine.

The engine refuses a photo in which its face finder finds no face (an ErrorResponse of kind
``NoFaceError``); nothing is edited on the centre square unless the user says so. From here the
user either uses the whole image (``OpenPhoto(detector="centre")``) or marks the face: the
square becomes the face box (``OpenPhoto(face_box=...)`` when nothing is open yet,
``ChooseFace(face_box=...)`` when the detector picked the wrong face or missed a profile: the
edit stack is kept).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from editor.controllers.edit import EditController
from editor.controllers.photo import PhotoController

NO_FACE = "NoFaceError"  # ErrorResponse.kind of a photo without a face
NO_FINDER = "FaceFinderMissing"  # the face finder (dlib) cannot be imported: the same two ways on


class FaceMarking(QObject):
    noFace = Signal(str, bool)  # the photo's display name; True: the face finder itself is missing
    resolved = Signal()  # a face is open again (found, marked or the whole image)

    def __init__(self, photo: PhotoController, edit: EditController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._photo = photo
        self._edit = edit
        self.refused = False  # the shown photo was refused for having no face
        photo.openFailed.connect(self._on_open_failed)
        photo.opened.connect(self._on_opened)
        edit.documentChanged.connect(self._forget)

    @property
    def can_mark(self) -> bool:
        """A photo (not a sample) is shown: a face can be marked on it."""
        return self._edit.photo is not None and not self._edit.is_sample

    def use_whole_image(self) -> None:
        if self.can_mark:
            self._photo.open(self._edit.photo, self._edit.path, detector="centre")

    def mark(self, box) -> None:
        """The face is in ``box`` (x0, y0, x1, y1, photo pixels)."""
        if not self.can_mark:
            return
        box = tuple(float(v) for v in box)
        if self._photo.current is not None:
            self._photo.mark_face(box)
        else:
            self._photo.open(self._edit.photo, self._edit.path, face_box=box)

    def _on_open_failed(self, error) -> None:
        kind = getattr(error, "kind", "")
        if kind in (NO_FACE, NO_FINDER):
            self.refused = True
            self.noFace.emit(self._edit.name, kind == NO_FINDER)

    def _on_opened(self, opened) -> None:
        if opened is not None and self.refused:
            self.refused = False
            self.resolved.emit()

    def _forget(self) -> None:
        self.refused = False
