"""The fast path's own HTTP/1.1 connections (upstreams.Upstreams) against a loopback service that answers as
scripted: framing, reuse, reconnection and failures."""

import socket
import threading
from types import SimpleNamespace

import pytest

from gateway.upstreams import Upstreams
from marketplace_shared.errors import ApiError

CLOSE = object()  # close the connection without answering
HANG = object()  # read the request, never answer


def ok(body: bytes = b"{}", *fields: str) -> bytes:
    head = "".join(f"{field}\r\n" for field in fields)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


class ScriptedService:
    """Answers each request with the next reply: bytes sent as they are, (bytes, CLOSE) then closes, CLOSE, HANG."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self.released = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        reader = connection.makefile("rb")
        with connection, reader:
            while self.replies:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + reader.read(length))
                reply = self.replies.pop(0)
                if reply is HANG:
                    self.released.wait(5)
                if reply is CLOSE or reply is HANG:
                    return
                data, close = reply if isinstance(reply, tuple) else (reply, False)
                connection.sendall(data)
                if close:
                    return

    def close(self):
        self.released.set()
        self.listener.close()


@pytest.fixture
def service():
    services = []

    def start(*replies):
        services.append(ScriptedService(*replies))
        return services[-1]

    yield start
    for started in services:
        started.close()


def upstreams(port: int, read_timeout: float = 2.0) -> Upstreams:
    config = SimpleNamespace(UPSTREAM_CONNECT_TIMEOUT=1.0, UPSTREAM_READ_TIMEOUT=read_timeout)
    return Upstreams(config, {"svc": (f"http://127.0.0.1:{port}/base", "/base")})


def get(connections: Upstreams, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    status, fields, chunks = connections.exchange("svc", method, "/plugins?limit=2", body, headers or {"accept": "*/*"})
    return status, dict(fields), b"".join(chunks)


def test_a_request_goes_out_as_http_1_1_and_the_connection_is_kept(service):
    svc = service(ok(b'{"a": 1}', "X-Request-Id: theirs", "Server: x"), ok(b"{}"))
    connections = upstreams(svc.port)
    status, fields, body = get(connections, headers={"accept": "*/*", "X-Request-Id": "req_1"})
    assert (status, body) == (200, b'{"a": 1}')
    assert "X-Request-Id" not in fields and "Server" not in fields and fields["Content-Length"] == "8"
    assert svc.requests[0] == (f"GET /base/plugins?limit=2 HTTP/1.1\r\nHost: 127.0.0.1:{svc.port}\r\n"
                               "accept: */*\r\nX-Request-Id: req_1\r\n\r\n").encode()
    assert get(connections)[0] == 200 and svc.connections == 1


def test_a_body_and_a_bodiless_post_carry_their_length(service):
    svc = service(ok(), ok())
    connections = upstreams(svc.port)
    get(connections, "POST", b'{"q": "x"}', {"Content-Length": "10"})
    get(connections, "POST")
    assert svc.requests[0].endswith(b'Content-Length: 10\r\n\r\n{"q": "x"}')
    assert b"\r\nContent-Length: 0\r\n" in svc.requests[1]


def test_chunked_answers_are_decoded_and_trailers_dropped(service):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
               b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    svc = service(chunked, ok())
    connections = upstreams(svc.port)
    status, fields, body = get(connections)
    assert (status, body) == (200, b"hello world") and "Transfer-Encoding" not in fields
    assert get(connections)[0] == 200 and svc.connections == 1


def test_an_answer_without_length_ends_with_the_connection(service):
    svc = service((b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", True), ok())
    connections = upstreams(svc.port)
    assert get(connections)[2] == b"until the end"
    assert get(connections)[0] == 200 and svc.connections == 2


def test_interim_answers_are_skipped_and_folded_fields_joined(service):
    svc = service(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                  b"HTTP/1.1 201 Created\r\nX-Long: one\r\n two\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                  b"Content-Length: 2\r\n\r\nok")
    status, fields, body = get(upstreams(svc.port))
    assert (status, body) == (201, b"ok")
    assert fields["X-Long"] == "one two" and "X-Hop" not in fields and "Connection" not in fields


def test_head_and_304_answers_have_no_body(service):
    svc = service(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
                  b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n", ok(b"next"))
    connections = upstreams(svc.port)
    assert get(connections, "HEAD") == (200, {"Content-Length": "1234"}, b"")
    assert get(connections)[:2] == (304, {"ETag": '"e"'})
    assert get(connections)[2] == b"next" and svc.connections == 1


def test_a_large_body_is_streamed_and_the_connection_kept_after_it(service):
    big = b"x" * (600 * 1024)
    svc = service(ok(big), ok(b"after"))
    connections = upstreams(svc.port)
    status, _fields, chunks = connections.exchange("svc", "GET", "/big", None, {})
    assert not isinstance(chunks, list) and b"".join(chunks) == big
    assert get(connections)[2] == b"after" and svc.connections == 1


def test_a_connection_the_service_closed_is_replaced(service):
    svc = service((ok(b"first"), True), ok(b"second"))
    connections = upstreams(svc.port)
    assert get(connections)[2] == b"first"
    svc.requests.clear()
    assert get(connections)[2] == b"second" and svc.connections == 2


def test_a_get_is_tried_once_more_when_a_kept_connection_drops_it(service):
    svc = service(ok(b"first"), CLOSE, ok(b"again"))
    connections = upstreams(svc.port)
    get(connections)
    assert get(connections)[2] == b"again" and svc.connections == 2


@pytest.mark.parametrize("body", [b"{}", None], ids=["with-body", "bodiless"])
def test_a_post_is_never_sent_twice(service, body):
    """A bodiless POST (cancel, vote, publish) may have been acted on before the connection dropped too."""
    svc = service(ok(b"first"), CLOSE, ok(b"not reached"))
    connections = upstreams(svc.port)
    get(connections)
    with pytest.raises(ApiError) as raised:
        get(connections, "POST", body, {"Content-Length": "2"} if body else None)
    assert raised.value.status == 503 and len(svc.requests) == 2


def test_failures_are_503_and_504(service):
    hanging = service(HANG)
    with pytest.raises(ApiError) as slow:
        get(upstreams(hanging.port, read_timeout=0.2))
    assert slow.value.status == 504
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ApiError) as down:
        get(upstreams(port))
    assert down.value.status == 503
    garbled = service(b"SMTP ready\r\n\r\n")
    with pytest.raises(ApiError) as bad:
        get(upstreams(garbled.port))
    assert bad.value.status == 503


def test_a_body_shorter_than_its_length_is_504(service):
    svc = service((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", True))
    with pytest.raises(ApiError) as raised:
        get(upstreams(svc.port))
    assert raised.value.status == 504


def test_a_streamed_body_cut_short_ends_the_response(service):
    svc = service((b"HTTP/1.1 200 OK\r\nContent-Length: 900000\r\n\r\n" + b"x" * 1000, True), ok(b"next"))
    connections = upstreams(svc.port)
    _status, _fields, chunks = connections.exchange("svc", "GET", "/big", None, {})
    assert b"".join(chunks) == b"x" * 1000
    assert get(connections)[2] == b"next" and svc.connections == 2


def test_a_line_break_in_a_header_value_is_refused(service):
    svc = service(ok())
    with pytest.raises(ApiError) as raised:
        get(upstreams(svc.port), headers={"x-evil": "a\r\nX-Marketplace-Identity: forged"})
    assert raised.value.status == 400 and svc.requests == []
