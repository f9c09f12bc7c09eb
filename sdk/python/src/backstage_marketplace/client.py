"""MarketplaceClient: authentication, the API prefix, retries with backoff, and errors as exceptions."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import IO, Any

import requests

from ._util import RateLimit, clean_params, reset_time, retry_after_seconds
from ._version import __version__
from .errors import MarketplaceConnectionError, MarketplaceError, RateLimited, error_class
from .resources.accounts import AccountsResource
from .resources.installations import EnvironmentsResource, InstallationsResource
from .resources.plugins import PluginsResource
from .resources.publisher import PublisherResource
from .resources.reviews import ReviewsResource
from .resources.webhooks import WebhooksResource

API_PREFIX = "/api/marketplace/v1"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class MarketplaceClient:
    """A client for the Plugin Marketplace API.

    >>> client = MarketplaceClient(api_key="mkp_…", base_url="https://your-portal.com")
    >>> client.plugins.list(category="monitoring", verified=True)

    :param api_key: an API key (``mkp_…``), sent as ``Authorization: Bearer``. Without a key or a
        token the client is anonymous (reads only).
    :param base_url: the portal root, e.g. ``https://your-portal.com``; the client adds
        ``/api/marketplace/v1`` (a URL that already ends with it is accepted too). Defaults to
        ``$MARKETPLACE_URL``, else ``http://127.0.0.1:8080``.
    :param token: a bearer token from your identity provider, instead of an API key.
    :param timeout: seconds to wait for the server (connect and read), or a ``(connect, read)`` tuple.
    :param max_retries: how many times a request is retried on 429/502/503/504 and connection errors.
    :param backoff_factor: first delay of the exponential backoff (doubles per attempt, with jitter)
        when the server gives no ``Retry-After`` / ``X-RateLimit-Reset``.
    :param max_retry_wait: the longest single wait, in seconds. When the server asks for more, the
        client does not sleep and raises :class:`RateLimited` (or the 5xx error) at once.
    :param session: a :class:`requests.Session` to use (for proxies, certificates, adapters).
    :param trust_env: let requests read proxy settings and ``.netrc`` from the environment.

    Retries: 429 and 503 (the request was refused, nothing happened) are retried for every method;
    502 and 504 (the request may have been processed) only for idempotent methods and for requests
    that carry an ``Idempotency-Key``. Connection errors are retried the same way as 502/504.
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, token: str | None = None,
                 timeout: float | tuple[float, float] = 30.0, max_retries: int = 3, *,
                 backoff_factor: float = 0.5, max_retry_wait: float = 60.0,
                 session: requests.Session | None = None, trust_env: bool = True,
                 user_agent: str | None = None):
        if api_key and token:
            raise ValueError("give either api_key or token, not both")
        self.api_key = api_key
        self.token = token
        self.base_url = normalize_base_url(base_url or os.environ.get("MARKETPLACE_URL") or DEFAULT_BASE_URL)
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_factor = backoff_factor
        self.max_retry_wait = max_retry_wait
        self.session = session or requests.Session()
        if session is None:
            self.session.trust_env = trust_env
        self.session.headers["User-Agent"] = user_agent or f"backstage-marketplace-python/{__version__}"
        self.session.headers["Accept"] = "application/json"
        credential = api_key or token
        if credential:
            self.session.headers["Authorization"] = f"Bearer {credential}"
        #: The quota reported by the last response, or None before the first one.
        self.rate_limit: RateLimit | None = None
        #: The ``X-Request-Id`` of the last response.
        self.last_request_id: str | None = None
        self._sleep: Callable[[float], None] = time.sleep

        self.plugins = PluginsResource(self)
        self.installations = InstallationsResource(self)
        self.environments = EnvironmentsResource(self)
        self.reviews = ReviewsResource(self)
        self.webhooks = WebhooksResource(self)
        self.publisher = PublisherResource(self)
        self.accounts = AccountsResource(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> MarketplaceClient:
        """A client configured from ``MARKETPLACE_URL`` and ``MARKETPLACE_API_KEY`` (or ``MARKETPLACE_TOKEN``)."""
        kwargs.setdefault("base_url", os.environ.get("MARKETPLACE_URL"))
        if "api_key" not in kwargs and "token" not in kwargs:
            kwargs["api_key"] = os.environ.get("MARKETPLACE_API_KEY") or None
            kwargs["token"] = None if kwargs["api_key"] else os.environ.get("MARKETPLACE_TOKEN") or None
        return cls(**kwargs)

    @property
    def portal_url(self) -> str:
        """The portal root (``base_url`` without the API prefix)."""
        return self.base_url[: -len(API_PREFIX)]

    def url(self, path: str) -> str:
        """The absolute URL of an API path (``/plugins``) or of a link the API returned."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
        if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
            return self.portal_url + path
        return self.base_url + path

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> MarketplaceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP -------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                data: Any = None, files: Any = None, headers: Mapping[str, str] | None = None,
                stream: bool = False, timeout: float | tuple[float, float] | None = None,
                rewind: list[IO[bytes]] | None = None) -> requests.Response:
        """Send a request, retrying as described on the class; raise a :class:`MarketplaceError` on 4xx/5xx.

        ``rewind`` lists file objects of the body to seek back to their start before a retry.
        """
        method = method.upper()
        url = self.url(path)
        send_headers = dict(headers or {})
        replay_safe = method in IDEMPOTENT_METHODS or any(k.lower() == "idempotency-key" for k in send_headers)
        starts = [(f, f.tell()) for f in (rewind or []) if _seekable(f)]
        attempt = 0
        while True:
            for stream_obj, position in starts:
                stream_obj.seek(position)
            try:
                response = self.session.request(method, url, params=clean_params(params), json=json, data=data,
                                                files=files, headers=send_headers, stream=stream,
                                                timeout=self.timeout if timeout is None else timeout)
            except requests.RequestException as error:
                refused = isinstance(error, requests.ConnectionError)
                if attempt < self.max_retries and (replay_safe or _connect_failed(error)):
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                kind = "could not reach" if refused else "no answer from"
                raise MarketplaceConnectionError(f"{kind} {url}: {error}") from error
            self.last_request_id = response.headers.get("X-Request-Id", self.last_request_id)
            self.rate_limit = RateLimit.from_headers(response.headers) or self.rate_limit
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries \
                    and (replay_safe or response.status_code in (429, 503)):
                delay = self._retry_delay(response, attempt)
                if delay is not None:
                    response.close()
                    self._sleep(delay)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise error_from_response(response)
            return response

    def _backoff(self, attempt: int) -> float:
        delay = self.backoff_factor * (2 ** attempt)
        return float(min(self.max_retry_wait, delay * random.uniform(1.0, 1.25)))

    def _retry_delay(self, response: requests.Response, attempt: int) -> float | None:
        """How long to wait before retrying, or None when the server asks for more than ``max_retry_wait``."""
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is None and response.status_code == 429:
            reset = reset_time(response.headers.get("X-RateLimit-Reset"))
            if reset is not None:
                asked = max(0.0, (reset - datetime.now(timezone.utc)).total_seconds())
        if asked is None:
            return self._backoff(attempt)
        if asked > self.max_retry_wait:
            return None
        return asked

    # Conveniences used by the resources: the JSON body, or its `data` member.

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return _json(self.request("GET", path, **kwargs))

    def send_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _json(self.request(method, path, **kwargs))

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` member of the response (the whole body when it has none; None for 204)."""
        body = _json(self.request(method, path, **kwargs))
        if isinstance(body, dict) and "data" in body:
            return body["data"]
        return body

    def __repr__(self) -> str:
        auth = "api_key" if self.api_key else "token" if self.token else "anonymous"
        return f"<MarketplaceClient {self.base_url} ({auth})>"


def normalize_base_url(base_url: str) -> str:
    """The portal root plus ``/api/marketplace/v1``, without a trailing slash."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def error_from_response(response: requests.Response) -> MarketplaceError:
    """The exception for an error response (the spec's envelope, or anything else a proxy returned)."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body.get("error") if isinstance(body, dict) else None
    request_id = response.headers.get("X-Request-Id")
    if isinstance(envelope, dict):
        code = envelope.get("code")
        message = envelope.get("message") or response.reason or "request failed"
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
        request_id = body.get("requestId") or request_id
    else:
        code = None
        text = (response.text or "").strip()
        message = f"HTTP {response.status_code} {response.reason or ''}".strip() + (f": {text[:200]}" if text else "")
        details = {}
    cls = error_class(code, response.status_code)
    kwargs: dict[str, Any] = {"code": code, "details": details, "status": response.status_code,
                              "request_id": request_id, "response": response}
    if cls is RateLimited:
        limit = RateLimit.from_headers(response.headers)
        kwargs.update(retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                      reset=limit.reset if limit else None, limit=limit.limit if limit else None,
                      remaining=limit.remaining if limit else None)
    return cls(message, **kwargs)


def _json(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as error:
        raise MarketplaceError(f"expected JSON from {response.url}, got {response.headers.get('Content-Type')}",
                               code="INVALID_RESPONSE", status=response.status_code,
                               request_id=response.headers.get("X-Request-Id"), response=response) from error


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False


def _connect_failed(error: Exception) -> bool:
    """True when the request certainly never reached the server (safe to retry for any method)."""
    return isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and "refused" in str(error).lower())
