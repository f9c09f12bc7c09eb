"""The real HTTP sender against a receiver on loopback."""

import shutil
import ssl
import subprocess
import time

from webhook_receiver import Receiver, always

from webhook_service.sender import HttpSender
from webhook_service.ssrf import NetworkList

LOOPBACK = ["127.0.0.0/8"]


def test_posts_to_the_checked_address_with_the_name_in_the_host_header():
    resolved = []

    def resolver(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    with Receiver(always(201, body=b"x" * 5000)) as receiver:
        port = receiver.server.server_address[1]
        sender = HttpSender(5, LOOPBACK, resolver, body_limit=100)
        result = sender.send(f"http://hooks.test:{port}/in?a=1", {"X-Test": "1"}, b'{"a":1}')
        assert result.success and result.status_code == 201
        assert result.body == "x" * 100 and result.duration_ms >= 0
        [received] = receiver.received
        assert received.path == "/in?a=1" and received.body == b'{"a":1}'
        assert received.headers["host"] == f"hooks.test:{port}" and received.headers["x-test"] == "1"
        assert resolved == ["hooks.test"]
        sender.close()


def test_a_name_that_now_resolves_to_a_private_address_is_refused_without_connecting():
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        sender = HttpSender(5, LOOPBACK, lambda host, port: ["10.0.0.1"])
        result = sender.send(f"http://rebound.test:{port}/", {}, b"{}")
        assert not result.success and result.status_code is None and "10.0.0.1" in result.error
        assert HttpSender(5, [], None).send(f"http://127.0.0.1:{port}/", {}, b"{}").error.startswith("refused")
        assert receiver.received == []


def test_allowed_networks_only_refuse_a_public_address_at_every_send():
    only_loopback = NetworkList(LOOPBACK, only=True)
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        result = HttpSender(5, only_loopback, lambda host, port: ["93.184.216.34"]).send(
            f"http://public.test:{port}/", {}, b"{}")
        assert result.status_code is None and "outside the allowed networks" in result.error
        assert HttpSender(5, only_loopback).send(receiver.url, {}, b"{}").status_code is not None
        assert receiver.count == 1


def test_redirects_are_not_followed():
    with Receiver(always(307, {"Location": "http://169.254.169.254/"})) as receiver:
        result = HttpSender(5, LOOPBACK).send(receiver.url, {}, b"{}")
        assert result.status_code == 307 and not result.success
        assert receiver.count == 1


def test_a_slow_receiver_times_out():
    def slow(_received, _count):
        time.sleep(2)
        return 200, {}, b""

    with Receiver(slow) as receiver:
        started = time.monotonic()
        result = HttpSender(0.3, LOOPBACK).send(receiver.url, {}, b"{}")
        assert time.monotonic() - started < 1.5
        assert result.status_code is None and "timed out" in result.error


def test_connection_refused_is_an_error_result():
    with Receiver() as receiver:
        url = receiver.url
    result = HttpSender(1, LOOPBACK).send(url, {}, b"{}")
    assert result.status_code is None and result.error.startswith("could not connect")


def test_https_connects_to_the_checked_address_and_verifies_the_name(tmp_path, monkeypatch):
    assert shutil.which("openssl"), "this test needs the openssl command (Debian: apt-get install openssl)"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp_path / "key.pem",
                    "-out", tmp_path / "cert.pem", "-days", "1", "-subj", "/CN=hooks.test",
                    "-addext", "subjectAltName=DNS:hooks.test"], capture_output=True, check=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    with Receiver() as receiver:
        receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
        port = receiver.server.server_address[1]
        resolver = lambda host, _port: ["127.0.0.1"]  # noqa: E731
        untrusted = HttpSender(5, LOOPBACK, resolver).send(f"https://hooks.test:{port}/", {}, b"{}")
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        trusted = HttpSender(5, LOOPBACK, resolver).send(f"https://hooks.test:{port}/", {}, b"{}")
        assert trusted.success, trusted.error
        wrong_name = HttpSender(5, LOOPBACK, resolver).send(f"https://other.test:{port}/", {}, b"{}")
        assert "doesn't match" in wrong_name.error
        assert [r.headers["host"] for r in receiver.received] == [f"hooks.test:{port}"]


def test_retry_after_and_keep_alive():
    with Receiver(always(503, {"Retry-After": "42"})) as receiver:
        sender = HttpSender(5, LOOPBACK)
        results = [sender.send(receiver.url, {}, b"{}") for _ in range(3)]
        assert [r.retry_after for r in results] == [42.0] * 3
        assert receiver.count == 3
