import numpy as np

from engine.protocol import Decode, Encode, LoadModel
from editor.latent_edit import LatentEdit
from editor.mailbox import Mailbox
from engine.protocol import LatentStats


def test_latest_wins_within_a_lane_and_queued_requests_are_kept():
    box = Mailbox()
    load = LoadModel()
    box.put(load)
    d1 = Decode(z=np.zeros(2))
    assert box.put(d1, "edit") is None
    enc = Encode(image=np.zeros((2, 2, 3), np.uint8))
    box.put(enc)
    d2 = Decode(z=np.ones(2))
    replaced = box.put(d2, "edit")
    assert replaced.request is d1
    t = Decode(z=np.ones((3, 2)))
    box.put(t, "traversal")
    taken = [box.take(0).request for _ in range(len(box))]
    assert taken == [load, enc, d2, t]
    assert box.take(0.01) is None


def test_cancel_and_close():
    box = Mailbox()
    box.put(Decode(z=np.zeros(2)), "edit")
    box.put(LoadModel())
    assert len(box.cancel("edit")) == 1
    assert len(box) == 1
    box.close()
    assert box.take() is None


def test_latent_edit_in_sigma_units():
    stats = LatentStats(mean=np.zeros(3), std=np.array([2.0, 0.5, 0.0]), kl=np.array([1.0, 0.5, 0.0]))
    edit = LatentEdit(np.array([1.0, 1.0, 1.0]), stats)
    assert edit.is_zero
    edit.set(0, 1.5)
    edit.set(2, 1.0)  # std 0: falls back to the prior's σ = 1
    np.testing.assert_allclose(edit.edited(), [4.0, 1.0, 2.0])
    batch = edit.traversal(1, np.array([-3.0, 0.0, 3.0]))
    np.testing.assert_allclose(batch[:, 1], [-0.5, 1.0, 2.5])
    np.testing.assert_allclose(batch[:, 0], 4.0)
    edit.reset()
    assert edit.is_zero


def test_signal_emits_do_not_exhaust_true():
    """PySide6 6.12.0 on CPython 3.11 drops a reference to True per emit (editor.qt_compat guards it)."""
    import sys

    import editor  # noqa: F401 - installs the guard
    from editor.qt_compat import _Probe

    probe = _Probe()
    for _ in range(5000):
        probe.ping.emit()
    assert sys.getrefcount(True) > 1000
