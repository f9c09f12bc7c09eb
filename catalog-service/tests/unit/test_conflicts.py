"""The error policy in the catalog: a lost unique-constraint race is 409, a failing artifact store is 503."""

import pytest
from catalog_testkit import API, create_plugin, published_plugin

from catalog_service import blobs
from marketplace_shared.testing import lose_insert_race


def test_two_creates_of_one_name_racing_give_409(client, publisher, monkeypatch):
    lost = lose_insert_race(monkeypatch)  # the other request inserted the name after this one checked it
    body = {"name": "racer", "description": "The racer plugin", "category": "backend"}
    raced = client.post(f"{API}/plugins", json=body, headers=publisher)
    assert raced.status_code == 409 and len(lost) == 1
    assert raced.get_json()["error"]["code"] == "CONFLICT"
    assert create_plugin(client, publisher, "racer")["name"] == "racer"
    again = client.post(f"{API}/plugins", json=body, headers=publisher)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "CONFLICT"


def test_a_failing_artifact_store_is_503_in_the_envelope(client, publisher, monkeypatch):
    plugin = published_plugin(client, publisher, "stored")

    def unavailable(self, key):
        raise blobs.BlobError(f"cannot check {key}: connection refused")

    monkeypatch.setattr(blobs.LocalBlobStore, "exists", unavailable)
    response = client.get(f"{API}/plugins/{plugin['id']}/versions/1.0.0/package")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and "refused" not in body["error"]["message"]


def test_the_local_store_raises_its_own_errors(tmp_path):
    store = blobs.LocalBlobStore(str(tmp_path))
    with pytest.raises(blobs.BlobNotFound):
        store.open("packages/none.tgz")
    with pytest.raises(blobs.InvalidBlobKey):
        store.put("../escape", b"x")
    (tmp_path / "packages").write_text("a file where a directory should be")
    with pytest.raises(blobs.BlobError) as failed:
        store.put("packages/p1/a.tgz", b"data")
    assert type(failed.value) is blobs.BlobError
