"""Opening a test photo through the window when it may have no face (the synthetic gradients most
tests use): the engine refuses it and the window offers "Use the whole image", which is clicked
here as a user would, so the test edits its centre square. A photo with a face opens as it is."""

from __future__ import annotations


def open_in_window(qtbot, window, path, timeout: int) -> None:
    """``window.open_image(path)``, then wait until the engine opened it; through the no-face
    banner's "Use the whole image" when it was refused. Returns once ``photo.opened`` came."""
    events: list[str] = []
    on_opened = lambda opened: events.append("opened") if opened is not None else None  # noqa: E731
    on_refused = lambda *_: events.append("no face")  # noqa: E731
    window.photo.opened.connect(on_opened)
    window.faces.marking.noFace.connect(on_refused)
    try:
        assert window.open_image(path)
        qtbot.waitUntil(lambda: bool(events), timeout=timeout)
        if events[0] == "no face":
            window.faces.banner.whole.click()
            qtbot.waitUntil(lambda: "opened" in events, timeout=timeout)
    finally:
        window.photo.opened.disconnect(on_opened)
        window.faces.marking.noFace.disconnect(on_refused)
