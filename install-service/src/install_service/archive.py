"""Package archives (npm .tgz, .tar, .zip, .jar): inspect and unpack them without trusting their paths."""

import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from .errors import CORRUPT_PACKAGE, EMPTY_PACKAGE, PACKAGE_TOO_LARGE, UNSAFE_PACKAGE, UNSUPPORTED_PACKAGE, JobFailed


class ArchiveError(JobFailed):
    """The package cannot be unpacked safely; `code` says why."""


@dataclass(frozen=True)
class Member:
    name: str  # the relative path it unpacks to (common top folder such as npm's `package/` removed)
    size: int
    is_dir: bool
    mode: int


def archive_format(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] == b"\x1f\x8b":
        return "tgz"
    if head == b"PK\x03\x04" or head == b"PK\x05\x06":
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise ArchiveError(UNSUPPORTED_PACKAGE, "The package is not a .tgz, .tar, .zip or .jar archive")


def _clean(name: str) -> str:
    """The member's path, or ArchiveError when it would escape the folder it is unpacked into."""
    if "\\" in name or "\x00" in name:
        raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {name!r} has a forbidden character")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts):
        raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {name!r} points outside the package")
    parts = [part for part in path.parts if part not in ("", ".")]
    return "/".join(parts)


def _raw_members(path: Path, fmt: str) -> list[Member]:
    members = []
    try:
        if fmt == "zip":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    mode = (info.external_attr >> 16) & 0o177777
                    if stat.S_ISLNK(mode):
                        raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {info.filename!r} is a link")
                    members.append(Member(_clean(info.filename), info.file_size, info.is_dir(), mode & 0o777))
        else:
            with tarfile.open(path, "r:*") as archive:
                for info in archive.getmembers():
                    if not (info.isfile() or info.isdir()):
                        raise ArchiveError(UNSAFE_PACKAGE,
                                           f"Archive entry {info.name!r} is a link or a special file")
                    members.append(Member(_clean(info.name), info.size, info.isdir(), info.mode & 0o777))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(CORRUPT_PACKAGE, f"The package archive is damaged: {exc}") from exc
    return [member for member in members if member.name]


def _common_top(members: list[Member]) -> str | None:
    """npm packs everything under `package/`: a single top folder is dropped when unpacking."""
    tops = {member.name.split("/", 1)[0] for member in members}
    if len(tops) != 1:
        return None
    top = tops.pop()
    if any(member.name == top and not member.is_dir for member in members):
        return None
    return top


def inspect(path: Path, max_unpacked_bytes: int) -> tuple[str, list[Member]]:
    """The archive's format and members as they would be unpacked; refuses unsafe or oversized ones."""
    fmt = archive_format(path)
    raw = _raw_members(path, fmt)
    top = _common_top(raw)
    members = []
    seen = set()
    total = 0
    for member in raw:
        name = member.name
        if top is not None:
            name = name[len(top) + 1:] if name != top else ""
        if not name:
            continue
        if not member.is_dir:
            if name in seen:
                raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {name!r} appears twice")
            seen.add(name)
            total += member.size
        members.append(Member(name, member.size, member.is_dir, member.mode))
    if not any(not member.is_dir for member in members):
        raise ArchiveError(EMPTY_PACKAGE, "The package contains no files")
    for member in members:
        # A file that is also the folder of another entry cannot be unpacked.
        parts = member.name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in seen:
                raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {parent!r} is both a file and a folder")
    if total > max_unpacked_bytes:
        raise ArchiveError(PACKAGE_TOO_LARGE, f"The package unpacks to more than {max_unpacked_bytes} bytes")
    return fmt, members


def unpack(path: Path, destination: Path, max_unpacked_bytes: int) -> list[str]:
    """Unpack into `destination` (created, must not exist); returns the files written."""
    fmt, members = inspect(path, max_unpacked_bytes)
    top = _common_top(_raw_members(path, fmt))
    destination.mkdir(parents=True)
    root = destination.resolve()
    written = []

    def target_of(name: str) -> Path:
        target = (root / name).resolve()
        if target != root and root not in target.parents:
            raise ArchiveError(UNSAFE_PACKAGE, f"Archive entry {name!r} points outside the package")
        return target

    def store(name: str, mode: int, source) -> None:
        target = target_of(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            remaining = max_unpacked_bytes
            while chunk := source.read(1024 * 1024):
                remaining -= len(chunk)
                if remaining < 0:
                    raise ArchiveError(PACKAGE_TOO_LARGE, "The package unpacks to more than allowed")
                out.write(chunk)
        os.chmod(target, 0o755 if mode & 0o111 else 0o644)
        written.append(name)

    def strip(name: str) -> str:
        name = _clean(name)
        if top is not None:
            name = name[len(top) + 1:] if name != top else ""
        return name

    try:
        for entry_name, is_dir, mode, open_content in _entries(path, fmt):
            name = strip(entry_name)
            if not name:
                continue
            if is_dir:
                target_of(name).mkdir(parents=True, exist_ok=True)
                continue
            with open_content() as source:
                store(name, mode, source)
    except OSError as exc:
        # Name the entry, never the server's own paths.
        raise ArchiveError(CORRUPT_PACKAGE, f"The package could not be unpacked ({exc.__class__.__name__})") from exc
    return sorted(written)


def _entries(path: Path, fmt: str):
    """Each member as (its name in the archive, whether it is a folder, its mode, a function opening its content)."""
    if fmt == "zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                yield info.filename, info.is_dir(), (info.external_attr >> 16) & 0o777, partial(archive.open, info)
    else:
        with tarfile.open(path, "r:*") as archive:
            for info in archive:
                yield info.name, info.isdir(), info.mode, partial(archive.extractfile, info)
