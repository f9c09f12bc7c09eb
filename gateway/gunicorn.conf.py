"""Gunicorn settings, from the environment (HOST, PORT, WEB_CONCURRENCY, WEB_THREADS, KEEPALIVE_LINGER_MS)."""

import os

from marketplace_shared import gunicorn_worker

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker keep client connections alive and wait on slow services without blocking others.
threads = int(os.environ.get("WEB_THREADS", "8"))
# Longer than UPSTREAM_READ_TIMEOUT, so the gateway answers 504 itself before gunicorn kills a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 10
keepalive = 15
accesslog = None  # the app writes JSON access lines itself
wsgi_app = "gateway.app:create_app()"
# Gunicorn 27's control socket defaults to one path per user: many gunicorns on a host would fight over it.
control_socket_disable = True
# gthread, and a thread that has just answered a kept-alive client serves its next request (KEEPALIVE_LINGER_MS).
worker_class = gunicorn_worker.worker_class()
