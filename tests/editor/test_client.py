"""EngineClient: worker thread, latest-wins lanes, stale answers, errors as data, restarts."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.protocol import Decode, Decoded, Encode, ErrorResponse, LoadModel
from editor.client import EngineClient
from tests.editor.conftest import TIMEOUT_MS
from tests.editor.fake_engine import FakeEngine


def load(qtbot, client):
    with qtbot.waitSignal(client.modelInfo, timeout=TIMEOUT_MS) as blocker:
        client.submit(LoadModel(source="default"))
    return blocker.args[0]


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


def test_rapid_decodes_coalesce_and_the_last_one_is_delivered(qtbot):
    fake = FakeEngine(delay=0.01)
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        delivered: list[Decoded] = []
        client.decoded.connect(lambda lane, d: delivered.append(d))
        ids = []
        for i in range(200):
            ids.append(client.submit(Decode(z=np.full((1, 8), i / 100, np.float32))))
            if i % 10 == 0:
                qtbot.wait(1)
        qtbot.waitUntil(lambda: not client.busy, timeout=TIMEOUT_MS)
        assert fake.decode_count < 50
        assert delivered[-1].request_id == ids[-1]
        assert [d.request_id for d in delivered] == sorted(d.request_id for d in delivered)
        assert client.counts["replaced"] >= 150
    finally:
        client.shutdown()


def test_queued_requests_are_never_dropped(qtbot):
    fake = FakeEngine(delay=0.005)
    client = EngineClient(lambda: fake)
    try:
        client.submit(LoadModel(source="default"))
        encoded = []
        client.encoded.connect(encoded.append)
        image = np.zeros((40, 40, 3), np.uint8)
        for i in range(5):
            client.submit(Decode(z=np.zeros((1, 8), np.float32)))
            client.submit(Encode(image=image))
        qtbot.waitUntil(lambda: len(encoded) == 5, timeout=TIMEOUT_MS)
    finally:
        client.shutdown()


def test_cancelled_lane_answers_are_dropped(qtbot):
    fake = FakeEngine(delay=0.05)
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        delivered = []
        client.decoded.connect(lambda lane, d: delivered.append(d))
        client.submit(Decode(z=np.zeros((1, 8), np.float32)), "edit")
        qtbot.waitUntil(lambda: fake.requests and isinstance(fake.requests[-1], Decode), timeout=TIMEOUT_MS)
        client.cancel("edit")  # the decode in flight is now stale
        qtbot.waitUntil(lambda: not client.busy, timeout=TIMEOUT_MS)
        qtbot.wait(20)
        assert delivered == []
        assert client.counts["stale"] == 1
    finally:
        client.shutdown()


@pytest.mark.parametrize("how", ["raise", "error_response"])
def test_engine_failure_is_an_error_signal_and_the_next_request_works(qtbot, how):
    fake = FakeEngine()
    client = EngineClient(lambda: fake)
    try:
        load(qtbot, client)
        if how == "raise":
            fake.fail_next = RuntimeError("out of cheese")
        else:
            fake.error_next = "out of cheese"
        with qtbot.waitSignal(client.error, timeout=TIMEOUT_MS) as blocker:
            client.submit(Decode(z=np.zeros((1, 8), np.float32)))
        request, error = blocker.args
        assert isinstance(error, ErrorResponse) and "out of cheese" in error.message
        assert error.request_id == request.request_id
        with qtbot.waitSignal(client.decoded, timeout=TIMEOUT_MS):
            client.submit(Decode(z=np.zeros((1, 8), np.float32)))
    finally:
        client.shutdown()


def test_engine_that_cannot_start_answers_with_errors(qtbot):
    def factory():
        raise ImportError("No module named 'torch'")

    client = EngineClient(factory)
    try:
        with qtbot.waitSignal(client.error, timeout=TIMEOUT_MS) as blocker:
            client.submit(LoadModel())
        assert "Engine failed to start" in blocker.args[1].message
        assert "torch" in blocker.args[1].message
    finally:
        client.shutdown()


def test_dead_worker_is_restarted_and_the_model_reloaded(qtbot):
    engines: list[FakeEngine] = []

    def factory():
        engines.append(FakeEngine())
        return engines[-1]

    client = EngineClient(factory)
    try:
        load(qtbot, client)
        engines[0].crash_next = True
        with qtbot.waitSignals([client.error, client.workerRestarted], timeout=TIMEOUT_MS):
            client.submit(Decode(z=np.zeros((1, 8), np.float32)))
        with qtbot.waitSignal(client.decoded, timeout=TIMEOUT_MS):  # the new engine has the model again
            client.submit(Decode(z=np.zeros((1, 8), np.float32)))
        assert len(engines) == 2
        assert isinstance(engines[1].requests[0], LoadModel)
        assert client.counts["restarts"] == 1
    finally:
        client.shutdown()
