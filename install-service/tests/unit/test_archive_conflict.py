"""A package whose path is both a file and a folder is refused before anything is unpacked."""

import io
import tarfile

import pytest

from install_service.archive import ArchiveError, inspect, unpack


def tgz(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_file_and_folder_with_the_same_path_is_refused(tmp_path):
    package = tmp_path / "p.tgz"
    package.write_bytes(tgz([("package/dist", b"x"), ("package/dist/index.js", b"y")]))
    with pytest.raises(ArchiveError) as caught:
        inspect(package, 10_000)
    assert caught.value.code == "UNSAFE_PACKAGE"
    assert str(tmp_path) not in str(caught.value)
    with pytest.raises(ArchiveError):
        unpack(package, tmp_path / "out", 10_000)
