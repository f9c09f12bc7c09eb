"""A TCP proxy the tests control, to cut and restore a connection (e.g. workers ↔ RabbitMQ)."""

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.enabled = threading.Event()
        self.enabled.set()
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until restore()."""
        self.enabled.clear()
        with self.lock:
            sockets, self.connections = self.connections, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self.enabled.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        _close(self.listener)

    @property
    def active_connections(self) -> int:
        with self.lock:
            return len(self.connections) // 2

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.enabled.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.connections |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                destination.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(destination)
            with self.lock:
                self.connections -= {source, destination}


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
