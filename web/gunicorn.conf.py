"""Gunicorn settings, from the environment (PORT, WEB_CONCURRENCY, WEB_THREADS)."""

import os

from marketplace_shared import gunicorn_worker

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8085')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, and a thread that has just answered a kept-alive client serves its next request (KEEPALIVE_LINGER_MS).
worker_class = gunicorn_worker.worker_class()
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 60
graceful_timeout = 10
accesslog = None  # the app writes JSON access lines itself
wsgi_app = "marketplace_web.app:create_app()"
keepalive = 15
# Gunicorn 27's control socket defaults to one path per user: many gunicorns on a host would fight over it.
control_socket_disable = True
