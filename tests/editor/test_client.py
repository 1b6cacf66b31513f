"""EngineClient: one request path (call → ticket → done/failed), worker thread, latest-wins
lanes, cancelled and superseded tickets, errors as data, restarts and their replays."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.protocol import AttributeStep, Decode, Decoded, EditStack, Encode, ErrorResponse, LoadModel, ModelInfo, OpenPhoto, RenderEdit
from editor.client import EngineClient
from tests.editor.conftest import TIMEOUT_MS
from tests.editor.fake_engine import FakeEngine


def load(qtbot, client) -> ModelInfo:
    answers = []
    client.call(LoadModel(source="default"), done=answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT_MS)
    return answers[0]


def decode(client, lane="edit", **callbacks):
    return client.call(Decode(z=np.zeros((1, 8), np.float32)), lane, **callbacks)


def test_engine_is_built_and_used_in_the_worker_thread(qtbot):
    built_in = []
    fake = FakeEngine()

    def factory():
        built_in.append(threading.get_ident())
        return fake

    client = EngineClient(factory)
    try:
        info = load(qtbot, client)
        assert info.latent_dim == 8
        assert built_in and built_in[0] != threading.get_ident()
        assert fake.thread_ids == {built_in[0]}
    finally:
        client.shutdown()


@pytest.mark.parametrize("intermediate", [True, False])
def test_rapid_decodes_coalesce_and_superseded_tickets_never_answer(qtbot, intermediate):
    fake = FakeEngine(delay=0.01)
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        delivered: list[Decoded] = []
        tickets = []
        for i in range(200):
            tickets.append(client.call(Decode(z=np.full((1, 8), i / 100, np.float32)), "edit", done=delivered.append,
                                       intermediate=intermediate))
            if i % 10 == 0:
                qtbot.wait(1)
        qtbot.waitUntil(lambda: not client.busy, timeout=TIMEOUT_MS)
        assert fake.decode_count < 50
        assert delivered[-1].request_id == tickets[-1].request_id
        assert [d.request_id for d in delivered] == sorted(d.request_id for d in delivered)
        superseded = [t for t in tickets if t.state == "superseded"]
        assert len(superseded) >= 150 and not {t.request_id for t in superseded} & {d.request_id for d in delivered}
        assert {t.state for t in tickets} == {"superseded", "answered"}
        if intermediate:  # the frames computed along the way are shown: only requests never started are dropped
            assert client.counts["replaced"] == len(superseded) and len(delivered) == fake.decode_count
        else:  # only the newest request's answer counts
            assert [d.request_id for d in delivered] == [tickets[-1].request_id]
    finally:
        client.shutdown()


def test_queued_requests_are_never_dropped(qtbot):
    fake = FakeEngine(delay=0.005)
    client = EngineClient(lambda: fake)
    try:
        client.call(LoadModel(source="default"))
        encoded = []
        image = np.zeros((40, 40, 3), np.uint8)
        for _ in range(5):
            decode(client, None)
            client.call(Encode(image=image), done=encoded.append)
        qtbot.waitUntil(lambda: len(encoded) == 5, timeout=TIMEOUT_MS)
    finally:
        client.shutdown()


def test_cancelled_lane_answers_are_dropped(qtbot):
    fake = FakeEngine(delay=0.05)
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        delivered = []
        ticket = decode(client, done=delivered.append, failed=delivered.append)
        qtbot.waitUntil(lambda: fake.requests and isinstance(fake.requests[-1], Decode), timeout=TIMEOUT_MS)
        client.cancel("edit")  # the decode in flight is now stale
        assert not client.busy  # nothing is awaited any more
        qtbot.waitUntil(lambda: client.counts["stale"] == 1, timeout=TIMEOUT_MS)  # the answer came, and was dropped
        qtbot.wait(20)
        assert delivered == [] and ticket.state == "cancelled"
    finally:
        client.shutdown()


def test_a_cancelled_ticket_is_not_computed_and_never_answers(qtbot):
    fake = FakeEngine(delay=0.05)
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        answers = []
        first = decode(client, "a", done=answers.append)
        second = decode(client, "b", done=answers.append)  # waits behind the first
        second.cancel()
        qtbot.waitUntil(lambda: not client.busy, timeout=TIMEOUT_MS)
        assert [a.request_id for a in answers] == [first.request_id]
        assert second.state == "cancelled" and fake.decode_count == 1
        second.cancel()  # twice is harmless
    finally:
        client.shutdown()


@pytest.mark.parametrize("how", ["raise", "error_response"])
def test_engine_failure_goes_to_the_failed_callback_and_the_next_request_works(qtbot, how):
    fake = FakeEngine()
    client = EngineClient(lambda: fake)
    unclaimed = []
    client.failed.connect(unclaimed.append)
    try:
        load(qtbot, client)
        if how == "raise":
            fake.fail_next = RuntimeError("out of cheese")
        else:
            fake.error_next = "out of cheese"
        errors, answers = [], []
        ticket = decode(client, done=answers.append, failed=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
        error = errors[0]
        assert isinstance(error, ErrorResponse) and "out of cheese" in error.message
        assert error.request_id == ticket.request_id and ticket.state == "failed" and answers == []
        decode(client, done=answers.append)
        qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT_MS)
        assert unclaimed == []  # the caller took the error
    finally:
        client.shutdown()


def test_an_error_nobody_takes_is_announced(qtbot):
    fake = FakeEngine()
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        fake.error_next = "out of cheese"
        with qtbot.waitSignal(client.failed, timeout=TIMEOUT_MS) as blocker:
            decode(client)
        assert "Decode failed: out of cheese" in blocker.args[0]
    finally:
        client.shutdown()


def test_engine_that_cannot_start_answers_with_errors(qtbot):
    def factory():
        raise ImportError("No module named 'torch'")

    client = EngineClient(factory)
    try:
        errors = []
        client.call(LoadModel(), failed=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
        assert "Engine failed to start" in errors[0].message and "torch" in errors[0].message
    finally:
        client.shutdown()


def test_dead_worker_is_restarted_and_the_replays_go_first(qtbot):
    engines: list[FakeEngine] = []

    def factory():
        engines.append(FakeEngine())
        return engines[-1]

    client = EngineClient(factory)
    client.on_restart(lambda: [LoadModel(source="default")])
    try:
        load(qtbot, client)
        engines[0].crash_next = True
        errors = []
        with qtbot.waitSignal(client.workerRestarted, timeout=TIMEOUT_MS):
            decode(client, failed=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
        assert errors[0].kind == "WorkerCrashed"
        answers = []
        decode(client, done=answers.append)
        qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT_MS)  # the new engine has the model again
        assert len(engines) == 2
        assert isinstance(engines[1].requests[0], LoadModel)
        assert client.counts["restarts"] == 1
    finally:
        client.shutdown()


def test_after_shutdown_nothing_is_answered(qtbot):
    """The app is quitting: the panels that asked may be gone, so no callback may run."""
    fake = FakeEngine(delay=0.2)
    client = EngineClient(lambda: fake)
    load(qtbot, client)
    answers = []
    in_flight = decode(client, done=answers.append, failed=answers.append)
    qtbot.waitUntil(lambda: isinstance(fake.requests[-1], Decode), timeout=TIMEOUT_MS)
    assert client.shutdown()  # waits for the request in flight; its answer is queued for the GUI thread
    late = decode(client, done=answers.append, failed=answers.append)
    qtbot.wait(50)
    assert answers == [] and late.state == "cancelled" and in_flight.pending


def test_a_render_nobody_waits_for_is_abandoned_and_the_next_request_does_not_wait(qtbot, monkeypatch):
    """A full-resolution render (seconds on a 12 MP photo) whose ticket is cancelled stops at its next
    band (engine.protocol.still_wanted): the photo opened next is answered at once, not after it."""
    from engine import photo as ph

    started, real_bands = threading.Event(), ph.bands

    def slow_bands(height, width):  # each band takes 50 ms: the whole render would take 6 s
        for band in real_bands(height, width):
            started.set()
            time.sleep(0.05)
            yield band

    monkeypatch.setattr(ph, "bands", slow_bands)
    monkeypatch.setattr(ph, "BAND_PIXELS", 480 * 4)
    fake = FakeEngine()
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        photo = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
        opened = []
        client.call(OpenPhoto(image=photo), done=opened.append)
        qtbot.waitUntil(lambda: bool(opened), timeout=TIMEOUT_MS)
        rendered = []
        edit = EditStack(ops=(AttributeStep(name="Smiling", amount=2.0),))
        ticket = client.call(RenderEdit(edits=edit, full_resolution=True), "edit", done=rendered.append)
        assert started.wait(TIMEOUT_MS / 1000)
        t0 = time.perf_counter()
        client.cancel("edit")
        client.call(OpenPhoto(image=photo[::-1].copy()), done=opened.append)
        qtbot.waitUntil(lambda: len(opened) == 2, timeout=TIMEOUT_MS)
        assert time.perf_counter() - t0 < 2.0  # the rest of the render (~6 s) was not waited for
        assert client.counts["abandoned"] == 1 and rendered == [] and ticket.state == "cancelled"
        done = []  # the engine is fine: the next render is drawn whole
        monkeypatch.setattr(ph, "bands", real_bands)
        client.call(RenderEdit(edits=edit, full_resolution=True), "edit", done=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT_MS)
        assert done[0].full_resolution and done[0].changed
    finally:
        client.shutdown()
