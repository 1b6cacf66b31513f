"""The Document: the edit stack is the one source of the slider offsets and the edited latent;
replay gives a restarted engine what put the image into it."""

from __future__ import annotations

import numpy as np

from engine.protocol import (
    AddVector, AdoptLatent, ChooseFace, DimensionStep, EditStack, Encoded, LoadSession, OpenPhoto, RestoreFit,
)
from editor.document import Document

STD = np.array([2.0, 0.5, 0.0], np.float32)  # 0: no spread, σ falls back to 1


def document(stack: EditStack = EditStack()) -> Document:
    doc = Document("photo", np.zeros((4, 4, 3), np.uint8))
    doc.set_encoded(Encoded(request_id=1, z=np.ones(3, np.float32), reconstruction=doc.photo, aligned=doc.photo))
    doc.stack = stack
    return doc


def test_offsets_and_the_edited_latent_come_from_the_stack():
    shift = AddVector(vector=(0.0, 1.0, 0.0), amount=2.0, label="shift")
    doc = document(EditStack(ops=(DimensionStep(dim=0, amount=1.5), DimensionStep(dim=2, amount=1.0), shift)))
    np.testing.assert_allclose(doc.offsets(), [1.5, 0.0, 1.0])
    np.testing.assert_allclose(doc.edited(STD, {}), [4.0, 3.0, 2.0])
    np.testing.assert_allclose(doc.edited(STD, {}), doc.stack.apply(doc.z, STD, {}))  # as the engine applies it
    assert document().offsets().tolist() == [0.0, 0.0, 0.0]


def test_traversal_sweeps_one_slider_and_keeps_the_rest_of_the_edit():
    shift = AddVector(vector=(0.0, 1.0, 0.0), amount=2.0, label="shift")
    doc = document(EditStack(ops=(DimensionStep(dim=0, amount=1.5), DimensionStep(dim=1, amount=2.0), shift)))
    batch = doc.traversal(1, np.array([-3.0, 0.0, 3.0]), STD, {})
    np.testing.assert_allclose(batch[:, 1], 1.0 + 2.0 + np.array([-1.5, 0.0, 1.5]))  # z + shift + v·σ
    np.testing.assert_allclose(batch[:, 0], 4.0)


def test_replay_gives_fresh_copies_of_the_open_and_the_newest_face():
    doc = document()
    doc.opened_with(OpenPhoto(path="/photos/a.jpg"))
    doc.opened_with(ChooseFace(index=1))
    doc.opened_with(ChooseFace(index=0))
    first, second = doc.replay(), doc.replay()
    assert [type(r) for r in first] == [OpenPhoto, ChooseFace]
    assert first[0].path == "/photos/a.jpg" and first[1].index == 0
    assert {r.request_id for r in first}.isdisjoint(r.request_id for r in second)  # each replay is new requests
    doc.opened_with(OpenPhoto(path="/photos/b.jpg"))  # another open forgets the face chosen before
    assert [(type(r), getattr(r, "path", None)) for r in doc.replay()] == [(OpenPhoto, "/photos/b.jpg")]


def test_a_session_whose_file_is_gone_is_replayed_from_its_pixels(tmp_path):
    doc = document()
    doc.face = 2
    session = tmp_path / "s.lsession"
    session.write_bytes(b"zip")
    doc.opened_with(LoadSession(path=str(session)))
    assert [type(r) for r in doc.replay()] == [LoadSession]
    session.unlink()  # a restored autosave is deleted once restored
    (again,) = doc.replay()
    assert isinstance(again, OpenPhoto) and again.face_index == 2 and again.image is doc.photo


def test_a_sample_needs_nothing_replayed():
    assert document().replay() == []


def test_a_latent_adopted_after_opening_is_replayed_after_the_face_unless_a_fit_carries_its_own():
    doc = document()
    doc.opened_with(OpenPhoto(path="/photos/a.jpg"))
    doc.latent_adopted(np.arange(4, dtype=np.float32), {"Male": 1.0})  # a refined inversion
    replayed = doc.replay()
    assert [type(r) for r in replayed] == [OpenPhoto, AdoptLatent]
    np.testing.assert_array_equal(replayed[1].z, np.arange(4, dtype=np.float32))
    assert replayed[1].labels == {"Male": 1.0}
    doc.fit = RestoreFit(weights=b"w", facts={}, z=np.ones(4, np.float32))
    assert [type(r) for r in doc.replay()] == [OpenPhoto, RestoreFit]  # the fit's own pivot wins
    doc.opened_with(ChooseFace(index=1))  # another face: neither the latent nor the fit belongs to it
    assert [type(r) for r in doc.replay()] == [OpenPhoto, ChooseFace]
