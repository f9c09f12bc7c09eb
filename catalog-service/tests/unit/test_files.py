"""Uploads are spooled to disk while hashed, and refused as soon as they pass the limit."""

import hashlib
import io

import pytest
from catalog_testkit import make_tgz, make_zip
from werkzeug.datastructures import FileStorage

from catalog_service.files import check_package, spool_limited
from marketplace_shared.errors import ApiError


def upload(data: bytes) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename="p.tgz")


def test_spool_returns_the_bytes_their_size_and_digest():
    data = b"x" * (3 * 1024 * 1024)  # beyond the in-memory part: it rolls over to a file
    spooled, size, digest = spool_limited(upload(data), len(data), "package")
    with spooled:
        assert size == len(data) and digest == hashlib.sha256(data).hexdigest()
        assert spooled.read() == data


@pytest.mark.parametrize(("data", "status"), [(b"x" * 101, 413), (b"", 400)])
def test_spool_refuses_too_large_and_empty(data, status):
    with pytest.raises(ApiError) as caught:
        spool_limited(upload(data), 100, "package")
    assert caught.value.status == status


def test_check_package_reads_a_file_and_rewinds_it():
    for archive, expected in ((make_tgz(), "tgz"), (make_zip(), "jar"), (make_zip({"a.txt": b"a"}), "zip")):
        spooled = io.BytesIO(archive)
        assert check_package(spooled, "package") == expected
        assert spooled.tell() == 0
    with pytest.raises(ApiError):
        check_package(io.BytesIO(b"not an archive"), "x.tgz")
