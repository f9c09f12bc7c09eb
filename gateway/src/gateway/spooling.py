"""The publisher API's key inside a multipart (or urlencoded) body, read while the body is spooled to disk."""

import json
import tempfile
from urllib.parse import parse_qs

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .proxy import BodyTooLarge, payload_too_large, read_chunks

_JSON_PART_LIMIT = 1024 * 1024
KEY_FOUND, KEY_ABSENT, JSON_UNREADABLE = "found", "absent", "unreadable"


class SpooledBody:
    """A request body written to a temporary file while the `json` part is picked out of it."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the request
        self.size = 0
        self.outcome = JSON_UNREADABLE
        self.api_key: str | None = None

    def close(self) -> None:
        self.file.close()


def spool_publisher_body(stream, length: int | None, limit: int, content_type: str | None) -> SpooledBody:
    """Copy the body to disk (bounded by `limit`) and read `api_key` from its form field named `json`.

    The document's scripts send multipart; `requests` sends a plain urlencoded form when a script
    attaches no file, so both are read.
    """
    if length is not None and length > limit:
        raise payload_too_large(limit)
    spooled = SpooledBody()
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary") if mimetype == "multipart/form-data" else None
    reader = _JsonPartReader(boundary) if boundary else None
    if mimetype == "application/x-www-form-urlencoded":
        reader = _UrlencodedJsonReader()
    try:
        for chunk in read_chunks(stream, length, limit):
            spooled.file.write(chunk)
            spooled.size += len(chunk)
            if reader is not None:
                reader.feed(chunk)
        if reader is not None:
            reader.feed(None)
    except BodyTooLarge:
        spooled.close()
        raise payload_too_large(limit) from None
    except BaseException:
        spooled.close()
        raise
    if reader is not None and reader.done:
        try:
            document = json.loads(bytes(reader.data))
        except ValueError:
            document = None
        if isinstance(document, dict):
            key = document.get("api_key")
            if isinstance(key, str) and key.strip():
                spooled.outcome, spooled.api_key = KEY_FOUND, key.strip()
            else:
                spooled.outcome = KEY_ABSENT
    return spooled


class _UrlencodedJsonReader:
    """The `json` field of a small urlencoded form, read as the body is spooled."""

    def __init__(self):
        self.body = bytearray()
        self.data = b""
        self.done = False
        self.failed = False

    def feed(self, chunk: bytes | None) -> None:
        if self.failed or self.done:
            return
        if chunk is not None:
            self.body += chunk
            self.failed = len(self.body) > 2 * _JSON_PART_LIMIT
            return
        values = parse_qs(self.body.decode("latin-1")).get("json")
        if values:
            self.data = values[0].encode("utf-8")
            self.done = True


class _JsonPartReader:
    def __init__(self, boundary: str):
        self.decoder = MultipartDecoder(boundary.encode("latin-1"))
        self.current: str | None = None
        self.data = bytearray()
        self.done = False
        self.failed = False

    def feed(self, chunk: bytes | None) -> None:
        if self.done or self.failed:
            return
        try:
            self.decoder.receive_data(chunk)
            while True:
                event = self.decoder.next_event()
                if isinstance(event, (NeedData, Epilogue)):
                    return
                if isinstance(event, (Field, File)):
                    self.current = event.name
                elif isinstance(event, Data) and self.current == "json":
                    self.data += event.data
                    if len(self.data) > _JSON_PART_LIMIT:
                        self.failed = True
                        return
                    if not event.more_data:
                        self.done = True
                        return
        except ValueError:
            self.failed = True
