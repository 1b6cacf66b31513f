"""A crashed run's autosave is the only copy of that work: it stays until a restore succeeds or
the user discards it (a failed restore, or a clean exit without choosing, keeps it)."""

from __future__ import annotations

import pytest

from tests.editor.test_session_roundtrip import _crashed_run


def _offer_broken_autosave(qtbot, session, data):
    session.data_dir = data
    folder = data / "autosave"
    folder.mkdir(parents=True)
    (folder / "source.lsession").write_bytes(b"PK\x03\x04 not really a session")
    crashed = _crashed_run(folder, folder / "source.lsession")
    with qtbot.waitSignal(session.recoveryAvailable, timeout=10_000):
        session.start(interval_s=0)
    return crashed


@pytest.mark.subprocess
def test_a_failed_restore_keeps_the_autosave_and_the_offer(qtbot, window, tmp_path):
    session, data = window.session, tmp_path / "user-data"
    crashed = _offer_broken_autosave(qtbot, session, data)
    content = crashed.read_bytes()
    with qtbot.waitSignal(session.failed, timeout=10_000) as failed:
        window.recovery_bar.restore.click()
    assert "Could not restore the autosave" in failed.args[0] and "kept" in failed.args[0]
    assert crashed.read_bytes() == content and session.recovery == crashed
    assert window.recovery_bar.isVisibleTo(window)  # Discard is still there to press

    session.finish()  # a clean exit without a choice: offered again next time
    assert crashed.read_bytes() == content

    with qtbot.waitSignal(session.recoveryAvailable, timeout=10_000):
        session.start(interval_s=0)
    window.recovery_bar.discard.click()  # only the user's discard deletes it
    assert not crashed.exists() and session.recovery is None
    session.finish()
