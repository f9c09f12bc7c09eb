"""The services' gunicorn worker (marketplace_shared.gunicorn_worker) in a real gunicorn: back-to-back requests
on one kept-alive connection, pipelined requests, and more connections than threads are all answered."""

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from marketplace_shared.testing import free_port, wait_for


@pytest.fixture(params=["2", "0"], ids=["lingering", "plain-gthread"])
def server(request, tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        def app(environ, start_response):
            body = environ["PATH_INFO"].encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
    """))
    port = free_port()
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(textwrap.dedent(f"""
        from marketplace_shared import gunicorn_worker
        bind = "127.0.0.1:{port}"
        workers = 1
        threads = 2
        keepalive = 15
        worker_class = gunicorn_worker.worker_class()
        control_socket_disable = True
    """))
    env = os.environ | {"KEEPALIVE_LINGER_MS": request.param}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(config), "app:app"], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return process.poll() is not None  # stop waiting if it died: the assertion below says so

    wait_for(answers, message="gunicorn listening")
    assert process.poll() is None, process.stderr.read().decode()
    yield port, request.param
    process.terminate()
    process.wait(timeout=10)


def test_the_worker_class_follows_keepalive_linger_ms(monkeypatch):
    from marketplace_shared import gunicorn_worker

    monkeypatch.setenv("KEEPALIVE_LINGER_MS", "0")
    assert gunicorn_worker.worker_class() == "gthread"
    monkeypatch.setenv("KEEPALIVE_LINGER_MS", "2")
    assert gunicorn_worker.worker_class().endswith("LingeringThreadWorker")


def test_back_to_back_requests_on_one_connection(server):
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for n in range(50):
        connection.request("GET", f"/r{n}")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, f"/r{n}".encode())
    connection.close()


def test_pipelined_requests_are_answered_in_order(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(f"GET /p{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(3)))
        received = b""
        while received.count(b"HTTP/1.1 200") < 3 or not received.endswith(b"/p2"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    assert received.index(b"/p0") < received.index(b"/p1") < received.index(b"/p2")


def test_more_kept_alive_clients_than_threads(server):
    """Five clients sending one request after another to two threads: a lingering thread must not starve them."""
    port, _ = server
    failures = []

    def client(name):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            for n in range(20):
                connection.request("GET", f"/{name}/{n}")
                response = connection.getresponse()
                if response.read() != f"/{name}/{n}".encode():
                    failures.append((name, n))
        except OSError as error:
            failures.append((name, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(f"c{i}",)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == [] and not any(thread.is_alive() for thread in threads)
