"""The S3 blob store against moto's in-process S3, alone and behind the app's publishing flow."""

import hashlib
import io
import os

import boto3
import pytest
from catalog_testkit import API, create_plugin, make_tgz, upload_version
from moto import mock_aws

from catalog_service.blobs import CHUNK, InvalidBlobKey, LocalBlobStore, S3BlobStore, blob_store_from_config, iter_blob

BUCKET = "catalog-artifacts"
MB = 1024 * 1024


@pytest.fixture
def s3(monkeypatch, tmp_path):
    """A mocked S3 with one empty bucket; fake credentials so nothing real is ever reached."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(client):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def pending_uploads(client):
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


@pytest.fixture
def store(s3):
    return S3BlobStore(BUCKET, prefix="/catalog/", region="us-east-1",
                       multipart_threshold=5 * MB, multipart_chunksize=5 * MB)


class FailingReader(io.RawIOBase):
    """A stream that breaks after `limit` bytes, like a client disconnecting mid-upload."""

    def __init__(self, limit: int):
        self.remaining = limit

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.remaining <= 0:
            raise ConnectionResetError("client went away")
        n = min(len(buffer), self.remaining)
        buffer[:n] = b"x" * n
        self.remaining -= n
        return n


def test_put_open_delete_exists_round_trip(s3, store):
    assert not store.exists("packages/p1/a.tgz")
    store.put("packages/p1/a.tgz", b"hello")
    assert keys(s3) == ["catalog/packages/p1/a.tgz"]
    assert store.exists("packages/p1/a.tgz")
    with store.open("packages/p1/a.tgz") as handle:
        assert handle.read() == b"hello"
    assert b"".join(iter_blob(store, "packages/p1/a.tgz")) == b"hello"
    store.put("packages/p1/a.tgz", io.BytesIO(b"replaced"))
    assert b"".join(iter_blob(store, "packages/p1/a.tgz")) == b"replaced"
    store.delete("packages/p1/a.tgz")
    store.delete("packages/p1/a.tgz")  # deleting twice is fine, as in the local store
    assert not store.exists("packages/p1/a.tgz") and keys(s3) == []
    with pytest.raises(FileNotFoundError):
        store.open("packages/p1/a.tgz")


@pytest.mark.parametrize("key", ["../escape", "packages/../../x", "/abs", "a//b", "a\\b", ""])
def test_keys_cannot_escape_the_prefix(store, key):
    with pytest.raises(InvalidBlobKey):  # the store's own error; app.py makes it a 400
        store.put(key, b"x")


def test_multi_megabyte_object_streams_both_ways(s3, store):
    payload = os.urandom(12 * MB)
    store.put("packages/p1/big.zip", io.BytesIO(payload))  # a file object, uploaded in 5 MB parts
    head = s3.head_object(Bucket=BUCKET, Key="catalog/packages/p1/big.zip")
    assert head["ContentLength"] == len(payload) and "-" in head["ETag"]  # a multipart ETag
    digest, sizes = hashlib.sha256(), []
    for chunk in iter_blob(store, "packages/p1/big.zip"):
        sizes.append(len(chunk))
        digest.update(chunk)
    assert sum(sizes) == len(payload) and max(sizes) <= CHUNK and len(sizes) >= len(payload) // CHUNK
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("size", [1 * MB, 12 * MB])  # a single PUT, and a multipart upload
def test_failed_upload_leaves_nothing(s3, store, size):
    with pytest.raises(ConnectionResetError):
        store.put("packages/p1/broken.tgz", io.BufferedReader(FailingReader(size - 1000)))
    assert not store.exists("packages/p1/broken.tgz")
    assert keys(s3) == [] and pending_uploads(s3) == []


def test_selected_by_bucket_setting(s3, config):
    assert isinstance(blob_store_from_config(config), LocalBlobStore)
    config.ARTIFACT_S3_BUCKET, config.ARTIFACT_S3_PREFIX = BUCKET, "x"
    selected = blob_store_from_config(config)
    assert isinstance(selected, S3BlobStore) and selected.bucket == BUCKET and selected.prefix == "x/"


@pytest.fixture
def s3_config(s3, config):
    config.ARTIFACT_S3_BUCKET, config.ARTIFACT_S3_PREFIX = BUCKET, "artifacts"
    return config


def test_publish_and_download_through_the_app(s3, s3_config, app, client, publisher):
    plugin = create_plugin(client, publisher)
    package = make_tgz({"package/package.json": b'{"name": "x"}', "package/dist/index.js": os.urandom(40 * 1024)})
    assert upload_version(client, publisher, plugin["id"], package=package).status_code == 201
    stored = keys(s3)
    assert len(stored) == 1 and stored[0].startswith(f"artifacts/packages/{plugin['id']}/")
    assert not os.path.exists(s3_config.ARTIFACT_ROOT)  # nothing went to the local directory
    url = f"{API}/plugins/{plugin['id']}/versions/1.0.0/package"
    response = client.get(url)
    assert response.status_code == 200 and response.is_streamed and response.data == package
    etag = response.headers["ETag"]
    assert etag == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    detail = client.get(f"{API}/plugins/{plugin['id']}").get_json()["data"]
    assert detail["version"] == "1.0.0" and detail["downloads"]["total"] == 1
    # A version whose blob vanished from the bucket is unavailable, not a 500.
    s3.delete_object(Bucket=BUCKET, Key=stored[0])
    assert client.get(url).status_code == 503


def test_rejected_uploads_leave_the_bucket_untouched(s3, s3_config, app, client, publisher, other_publisher):
    plugin = create_plugin(client, publisher)
    assert upload_version(client, publisher, plugin["id"], package=b"not an archive").status_code == 400
    assert upload_version(client, publisher, plugin["id"], package=b"\x1f\x8b" + os.urandom(70 * 1024)
                          ).status_code == 413
    assert keys(s3) == []
    assert upload_version(client, publisher, plugin["id"], version="1.0.0").status_code == 201
    assert upload_version(client, other_publisher, plugin["id"], version="2.0.0").status_code == 403
    assert upload_version(client, publisher, plugin["id"], version="1.0.0").status_code == 409
    assert len(keys(s3)) == 1


def test_a_failed_commit_removes_the_uploaded_blob(s3, s3_config, app, client, publisher, monkeypatch):
    plugin = create_plugin(client, publisher)
    from sqlalchemy.orm import Session

    def broken_commit(self):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Session, "commit", broken_commit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert upload_version(client, publisher, plugin["id"]).status_code == 500
    monkeypatch.undo()
    assert keys(s3) == []
