"""A thin HTTP client for the end-to-end tests: everything goes through the gateway."""

import requests

PREFIX = "/api/marketplace/v1"


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookups: loopback only
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        if path.startswith("/addons/") or path.startswith(PREFIX) or path in ("/healthz", "/readyz", "/metrics"):
            return self.base_url + path
        return self.base_url + PREFIX + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def expect(response: requests.Response, status: int) -> dict:
    """Assert the status (showing the body when it differs) and return the JSON body."""
    assert response.status_code == status, f"{response.request.method} {response.url}: " \
        f"expected {status}, got {response.status_code}: {response.text[:2000]}"
    return response.json() if response.content else {}


def expect_error(response: requests.Response, status: int, code: str) -> dict:
    body = expect(response, status)
    assert body["error"]["code"] == code, body
    assert body["requestId"] == response.headers.get("X-Request-Id"), body
    return body
