"""The fast WSGI path in front of Flask: a request with no body or a small one, admitted and forwarded.

It applies the same policy as the Flask hooks (admission.admit and admission.response_headers) without
Flask's request context, routing and hooks. Anything else, and every error, goes to Flask; an error found
here is handed over with the rate decision so that the hit is counted once.
"""

import logging
import time

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.utils import get_host

from marketplace_shared import api as shared_api
from marketplace_shared.api import REQUEST_ID_HEADER, metric_child, new_request_id
from marketplace_shared.errors import ApiError, validation_error
from marketplace_shared.logs import current_request_id

from .admission import admit, apply_to_list, response_headers
from .proxy import raw_response, request_target
from .routing import PUBLISHER_PREFIX, route_for
from .upstreams import Upstreams

# Set on a request handed to Flask: (rate decision or None, the ApiError to answer with).
HANDED_OVER = "gateway.handed_over"
# Bodies up to this size (a search, a review, an install request) are read whole here; larger or chunked
# ones are streamed by the Flask path.
FAST_BODY_LIMIT = 64 * 1024


class FastProxy:
    """WSGI middleware: forwards what it can take, hands everything else to `flask_wsgi`."""

    def __init__(self, flask_wsgi, gateway):
        self.flask_wsgi = flask_wsgi
        self.gateway = gateway
        self.service = gateway.config.SERVICE_NAME
        self.upstreams = frozenset(gateway.config.upstreams)
        self.connections = Upstreams(gateway.config, gateway.forwarder.bases)

    def takes(self, environ, method: str, path: str) -> str | None:
        """The service this path forwards a request to, or None when Flask should answer it."""
        if method == "OPTIONS" or path.startswith(PUBLISHER_PREFIX) or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if length and not (length.isdigit() and int(length) <= FAST_BODY_LIMIT):
            return None
        target = route_for(path)
        return target if target in self.upstreams else None

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        target = self.takes(environ, method, path)
        if target is None:
            return self.flask_wsgi(environ, start_response)
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if shared_api._SAFE_REQUEST_ID.match(incoming) else new_request_id()
        token = current_request_id.set(request_id)
        try:
            answer = self._answer(environ, method, path, target, request_id)
            if answer is None:
                return self.flask_wsgi(environ, start_response)
            status, headers, body = answer
            start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN')}", headers)
            duration = time.perf_counter() - started
            labels = (self.service, method, "unmatched", str(status))
            metric_child(shared_api.REQUESTS, *labels).inc()
            metric_child(shared_api.LATENCY, *labels).observe(duration)
            if shared_api.log.isEnabledFor(logging.INFO):
                shared_api.log.info("%s %s %s", method, path, status,
                                    extra={"method": method, "path": path, "status": status,
                                           "durationMs": round(duration * 1000, 2)})
            return body
        finally:
            current_request_id.reset(token)

    def _answer(self, environ, method: str, path: str, target: str, request_id: str):
        """(status, headers, body) of a forwarded request, or None after handing an error over to Flask."""
        gateway = self.gateway
        admission = admit(gateway, environ, method, path, target)
        try:
            if admission.error is not None:
                raise admission.error
            scheme = environ.get("wsgi.url_scheme", "http")
            server = environ.get("SERVER_NAME")
            host = get_host(scheme, environ.get("HTTP_HOST"),
                            (server, int(environ["SERVER_PORT"])) if server and environ.get("SERVER_PORT") else None)
            forwarder = gateway.forwarder
            outgoing = forwarder.outgoing_headers(environ, host, request_id,
                                                  gateway.authenticator.internal_token(admission.identity))
            body = _small_body(environ, outgoing)
            if target in self.connections.services:
                status, headers, body = self.connections.exchange(target, method, request_target(environ), body,
                                                                  outgoing)
            else:
                upstream = forwarder.send(target, method, request_target(environ), body, outgoing)
                status, headers, body = raw_response(target, method, upstream)
        except ApiError as error:
            environ[HANDED_OVER] = (admission.decision, error)
            return None
        headers = apply_to_list(headers, response_headers(gateway, environ, admission.decision))
        headers.append((REQUEST_ID_HEADER, request_id))
        return status, headers, body



def _small_body(environ, outgoing: dict) -> bytes | None:
    """The body of a request the fast path took (at most FAST_BODY_LIMIT bytes), read whole."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return None
    body = environ["wsgi.input"].read(length)
    if len(body) != length:
        raise validation_error("The request body is shorter than its Content-Length",
                               {"contentLength": length, "received": len(body)})
    outgoing["Content-Length"] = str(length)
    return body
