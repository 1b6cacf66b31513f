import numpy as np

from engine.protocol import Decode, Encode, LoadModel
from editor.mailbox import Mailbox


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


def test_remove_drops_one_pending_request():
    box = Mailbox()
    a, b = Decode(z=np.zeros(2)), Decode(z=np.ones(2))
    box.put(a, "edit")
    box.put(b, "other")
    assert box.remove(a) and not box.remove(a)
    assert box.take(0).request is b



def test_a_request_removed_while_in_flight_is_no_longer_wanted():
    """The worker's engine may abandon it (engine.protocol.still_wanted); the next one taken is wanted."""
    box = Mailbox()
    a, b = Decode(z=np.zeros(2)), Decode(z=np.ones(2))
    box.put(a, "edit")
    box.put(b, "other")
    taken = box.take(0)
    assert taken.request is a and box.wanted(taken)
    assert not box.remove(a) and not box.wanted(taken)
    second = box.take(0)
    assert box.wanted(second)
    box.close()  # quitting: the request in flight (an export, say) is still finished
    assert box.wanted(second)
