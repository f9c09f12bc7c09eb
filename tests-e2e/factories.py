"""Small factories for the end-to-end tests: plugins with versions, published through the gateway."""

import base64
import gzip
import hashlib
import io
import json
import secrets
import tarfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from api_client import ApiClient, expect
from marketplace_shared.testing import AMQP_URL, QuietHandler, free_port, serve_loopback, unique_name, wait_for
from seed import npm_package, png_icon
from stack import GATEWAY, Stack


def stack_env(prefix: str, admin_key: str, var_dir) -> dict[str, str]:
    """The environment every process of a test stack shares: the run's broker prefix, a fresh internal secret,
    webhooks to loopback only with quick retries, limits no test reaches, files under `var_dir`."""
    return {
        "AMQP_URL": AMQP_URL,
        "EVENT_PREFIX": prefix,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
        "MARKETPLACE_ADMIN_API_KEY": admin_key,
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "WEBHOOK_ALLOWED_NETWORKS_ONLY": "true",  # no generated URL (contract fuzzing) may leave this machine
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.4,0.8",
        "RATE_LIMIT_ANONYMOUS": "100000/hour",
        "RATE_LIMIT_AUTHENTICATED": "100000/hour",
        "AUTH_CACHE_SECONDS": "0.5",
        "ARTIFACT_ROOT": str(var_dir / "artifacts"),
        "INSTALL_ROOT": str(var_dir / "installs"),
        "LOG_LEVEL": "INFO",
    }


@contextmanager
def strict_gateway_beside(stack: Stack, var_dir):
    """A second gateway on the stack's accounts with a window of 3 requests per 2 seconds, stopped afterwards."""
    (var_dir / "log").mkdir()
    env = {**stack.env, "RATE_LIMIT_AUTHENTICATED": "3/2 seconds", "RATE_LIMIT_ANONYMOUS": "3/2 seconds"}
    second = Stack(var_dir=var_dir, env=env, ports={**stack.ports, "gateway": free_port()}, databases=stack.databases)
    second.start_web(GATEWAY)
    try:
        wait_for(lambda: second.is_ready("gateway"), timeout=60, interval=0.2, message="second gateway ready")
        yield second
    finally:
        second.stop()


def start_or_show_logs(running: Stack, timeout: float) -> None:
    """Start every process of `running`; when that fails, print the end of each process's log first."""
    try:
        running.start(timeout=timeout)
    except Exception:
        for name in running.processes:
            log = running.log_path(name)
            if log.exists():
                print(f"--- {name} ---\n{log.read_text()[-3000:]}")
        raise


def new_account(admin: ApiClient, role: str, **fields) -> ApiClient:
    """Create an account with a key and return a client that uses it."""
    name = unique_name(role)
    account = expect(admin.post("/admin/accounts", json={"name": name, "email": f"{name}@example.com",
                                                          "role": role, **fields}), 201)["data"]
    key = expect(admin.post(f"/admin/accounts/{account['id']}/api-keys", json={"name": "e2e"}), 201)["data"]["key"]
    client = ApiClient(admin.base_url, key)
    client.account = account
    client.key = key
    return client


def publish_plugin(publisher: ApiClient, name: str | None = None, versions=("1.0.0",), category: str = "monitoring",
                   backstage: str = "^1.30.0", schema: dict | None = None, **fields) -> dict:
    """Create a plugin and publish its versions; returns the plugin as GET /plugins/{id} shows it."""
    name = name or unique_name("plugin").replace("_", "-")
    plugin = expect(publisher.post("/plugins", json={
        "name": name, "displayName": name.title(), "description": f"The {name} plugin", "category": category,
        "tags": ["e2e"], "license": "Apache-2.0", **fields}), 201)["data"]
    for version in versions:
        publish_version(publisher, plugin["id"], version, backstage=backstage, schema=schema)
    return expect(publisher.get(f"/plugins/{plugin['id']}"), 200)["data"]


def publish_version(publisher: ApiClient, plugin_id: str, version: str, backstage: str = "^1.30.0",
                    schema: dict | None = None, package: bytes | None = None) -> dict:
    metadata = {"version": version, "changelog": f"Release {version}",
                "compatibility": {"backstage": backstage, "node": ">=18.0.0"},
                "configuration": {"schema": schema or {}, "defaults": {}, "examples": []}}
    return expect(publisher.post(
        f"/plugins/{plugin_id}/versions", data={"metadata": json.dumps(metadata)},
        files={"package": (f"{plugin_id}-{version}.tgz", package or npm_package(plugin_id, version),
                           "application/gzip")}), 201)["data"]


def upload_icon(publisher: ApiClient, plugin_id: str) -> dict:
    return expect(publisher.post(f"/plugins/{plugin_id}/images",
                                 files={"icon": ("icon.png", png_icon(1), "image/png")}), 201)["data"]


def wait_until_installable(client: ApiClient, plugin_id: str, environment: str | None = None) -> dict:
    """The install service learns of a plugin through events: install once it knows it."""
    environment = environment or unique_name("env").replace("_", "-")

    def attempt():
        response = client.post(f"/plugins/{plugin_id}/install",
                               json={"environment": environment, "namespace": "backstage-plugins"})
        if response.status_code == 404:
            return None
        return expect(response, 202)["data"]

    return wait_for(attempt, timeout=30, message=f"install service to know {plugin_id}")


def wait_for_installation(client: ApiClient, installation_id: str, statuses=("completed",), timeout=60) -> dict:
    finished = ("completed", "failed", "cancelled", "uninstalled")

    def done():
        data = expect(client.get(f"/installations/{installation_id}"), 200)["data"]
        return data if data["status"] in finished or data["status"] in statuses else None

    data = wait_for(done, timeout=timeout, interval=0.1, message=f"installation {installation_id} to finish")
    assert data["status"] in statuses, data
    return data


# -- installations ---------------------------------------------------------------------------------

def package_bytes(name: str, version: str, big_megabytes: int = 0) -> bytes:
    """A deterministic npm-style .tgz (same bytes every call): package.json, dist/index.js and, with
    `big_megabytes`, a zero-filled dist/big.bin that compresses to almost nothing but takes the install
    worker measurable time to unpack and hash (to act in the middle of a job without slowing the stack)."""
    files = [
        ("package/package.json", json.dumps({"name": f"@e2e/plugin-{name}", "version": version,
                                             "main": "dist/index.js"}, indent=2).encode()),
        ("package/dist/index.js", f"export const plugin = {{ id: '{name}', version: '{version}' }};\n".encode()),
    ]
    if big_megabytes:
        files.append(("package/dist/big.bin", bytes(big_megabytes * 1024 * 1024)))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, content in files:
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def integrity_of(data: bytes, algorithm: str = "sha512") -> str:
    """The Subresource-Integrity string of a package (npm uses sha512-<base64>)."""
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def ensure_environment(admin: ApiClient, name: str, backstage: str, node: str) -> dict:
    """Create an environment (admin), or return it if it already exists."""
    response = admin.post("/environments", json={"name": name, "backstageVersion": backstage, "nodeVersion": node})
    if response.status_code == 409:
        return expect(admin.get(f"/environments/{name}"), 200)["data"]
    return expect(response, 201)["data"]


ANCIENT_ENVIRONMENT = "e2e-ancient-portal"


def wait_until_known(admin: ApiClient, client: ApiClient, plugin_id: str, version: str) -> dict:
    """Wait until the install service knows this version of the plugin, without installing anything:
    an install into an environment no plugin is compatible with answers 404 while the plugin or version is
    unknown, and another refusal (409 INCOMPATIBLE_ENVIRONMENT, 409 VERSION_YANKED, 400 ...) once known."""
    ensure_environment(admin, ANCIENT_ENVIRONMENT, "0.1.0", "0.1.0")

    def attempt():
        response = client.post(f"/plugins/{plugin_id}/install",
                               json={"environment": ANCIENT_ENVIRONMENT, "version": version})
        assert response.status_code != 202, f"installed into {ANCIENT_ENVIRONMENT}: {response.text}"
        return None if response.status_code == 404 else response.json()

    return wait_for(attempt, timeout=30, interval=0.1, message=f"install service to know {plugin_id} {version}")


def wait_until_reviewable(client: ApiClient, plugin_id: str, **review) -> dict:
    """The review service learns of a plugin through events: post the review once it knows it (404 until then)."""
    body = {"rating": 5, "title": "Good", "review": "Works for us", **review}

    def attempt():
        response = client.post(f"/plugins/{plugin_id}/reviews", json=body)
        if response.status_code == 404:
            return None
        return expect(response, 201)["data"]

    return wait_for(attempt, timeout=30, interval=0.1, message=f"review service to know {plugin_id}")


# -- webhook receivers -----------------------------------------------------------------------------

@dataclass
class ReceivedRequest:
    """One request a WebhookReceiver got: lower-cased headers, the raw body, and when it came and was answered."""

    path: str
    headers: dict
    body: bytes
    arrived: float  # time.monotonic()
    answered: float | None = None
    status: int | None = None

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 204
    body: bytes = b""
    headers: dict = field(default_factory=dict)


class WebhookReceiver:
    """A webhook receiver on loopback (127.0.0.1, a free port) that keeps every request.

    `respond(request, number)` decides each answer (`number` counts from 1); it may block, to act as a slow
    receiver. The default answers 204. Use as a context manager, or call close().
    """

    def __init__(self, respond=None, path: str = "/hook"):
        self.requests: list[ReceivedRequest] = []
        self.respond = respond or (lambda request, number: Answer())
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                          time.monotonic())
                with receiver._lock:
                    receiver.requests.append(request)
                    number = len(receiver.requests)
                answer = receiver.respond(request, number)
                # Recorded before the answer goes out, so that it is set by the time the sender has it.
                request.status, request.answered = answer.status, time.monotonic()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self.server = serve_loopback(Handler, poll_interval=0.05)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def received(self, predicate=lambda request: True) -> list[ReceivedRequest]:
        with self._lock:
            return [request for request in self.requests if predicate(request)]

    def wait_for(self, predicate=lambda request: True, count: int = 1, timeout: float = 30,
                 message: str = "a webhook request", answered: bool = False) -> list[ReceivedRequest]:
        """Wait until at least `count` requests match (and, with `answered`, have their answer: a request is
        kept as soon as it arrives); returns the matching ones."""
        def matching(request) -> bool:
            return predicate(request) and (not answered or request.answered is not None)

        return wait_for(lambda: (lambda hits: hits if len(hits) >= count else None)(self.received(matching)),
                        timeout=timeout, interval=0.02, message=f"{message} at {self.url}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
