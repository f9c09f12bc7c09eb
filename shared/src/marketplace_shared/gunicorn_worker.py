"""A gunicorn worker class for every service: gthread, but a thread that has just answered a kept-alive
connection serves that client's next request itself when it comes within KEEPALIVE_LINGER_MS (default 2)
and no other connection waits for a thread.

gthread hands every request from its main thread to a pool thread and back (a queue, a pipe, two epoll
changes): measured, about 0.15 ms of CPU per request of a client that sends one request after another,
which is what the gateway's kept-alive connections to the services and most API clients do.
`worker_class = worker_class()` in a gunicorn.conf.py; KEEPALIVE_LINGER_MS=0 gives plain gthread.
"""

import os
import select

from gunicorn.workers.gthread import ThreadWorker


def linger_seconds() -> float:
    return float(os.environ.get("KEEPALIVE_LINGER_MS", "2")) / 1000


class LingeringThreadWorker(ThreadWorker):
    def handle(self, conn):
        keepalive = super().handle(conn)
        while keepalive is True and self.alive and self._next_request_soon(conn):
            keepalive = super().handle(conn)
        return keepalive

    def _next_request_soon(self, conn) -> bool:
        try:  # gthread's internals (gunicorn 22-27); another gunicorn without them gets plain gthread
            if conn.parser.unreader.buf.getvalue() or self.tpool._work_queue.qsize():
                return False  # pipelined bytes, or other connections waiting: the main thread decides
        except AttributeError:
            return False
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(linger_seconds() * 1000))


def worker_class() -> str:
    """What a gunicorn.conf.py sets as worker_class."""
    return "marketplace_shared.gunicorn_worker.LingeringThreadWorker" if linger_seconds() > 0 else "gthread"
