"""The Python SDK and the `marketplace` command against the real system, through the gateway only.

Covers every resource of the SDK, pagination, the error mapping, 429 (a quota that is used up, and a
second gateway with a two-second window so that the SDK's retry honours Retry-After), the spec's Python
example, and `marketplace install` exiting 0 on success and non-zero on failure.
"""

import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backstage_marketplace import (
    Conflict,
    Forbidden,
    MarketplaceClient,
    NotFound,
    Page,
    PluginNotFound,
    RateLimited,
    Unauthorized,
    ValidationError,
    verify_webhook,
)
from factories import WebhookReceiver, strict_gateway_beside
from marketplace_shared.testing import unique_name, wait_for
from seed import npm_package, png_icon

# The repository's copy of the user's API document (docs/spec/README.md says where it comes from).
SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec" / "marketplace-api.md"


# -- helpers -------------------------------------------------------------------------------------

def sdk(base_url: str, key: str | None = None, **kwargs) -> MarketplaceClient:
    return MarketplaceClient(api_key=key, base_url=base_url, trust_env=False, timeout=30, **kwargs)


def make_account(admin: MarketplaceClient, role: str, **fields) -> MarketplaceClient:
    """An account with a fresh key, created through the SDK's admin methods."""
    name = unique_name(role)
    account = admin.accounts.create(name, f"{name}@example.com", role, **fields)
    key = admin.accounts.create_account_key(account["id"], "sdk-e2e")["key"]
    client = sdk(admin.portal_url, key)
    client.account = account
    client.key = key
    return client


def slug(prefix: str = "sdk") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def version_metadata(version: str, **extra) -> dict:
    return {"version": version, "changelog": f"Release {version}",
            "compatibility": {"backstage": "^1.30.0", "node": ">=18.0.0", "platform": ["linux"]}, **extra}


def new_plugin(publisher: MarketplaceClient, versions=("1.0.0",), category: str = "monitoring", **version_extra):
    name = slug()
    plugin = publisher.publisher.create_plugin(name=name, display_name=name.title(), category=category,
                                               description=f"The {name} plugin, published by the SDK tests",
                                               tags=["sdk", "e2e"], license="Apache-2.0")
    for version in versions:
        publisher.publisher.publish_version(plugin["id"], (f"{name}-{version}.tgz", npm_package(name, version)),
                                            version_metadata(version, **version_extra))
    return plugin


def install_when_known(client: MarketplaceClient, plugin_id: str, options: dict) -> dict:
    """The install service learns plugins from events: retry while it answers 404."""

    def attempt():
        try:
            return client.plugins.install(plugin_id, options)
        except NotFound:
            return None

    return wait_for(attempt, timeout=30, interval=0.2, message=f"install service to know {plugin_id}")


def environment() -> str:
    return slug("env")


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(stack):
    """Accounts and plugins shared by the tests of this module."""
    admin = sdk(stack.gateway_url, stack.admin_key)
    publisher = make_account(admin, "publisher")
    user = make_account(admin, "user")
    plugin = new_plugin(publisher, versions=("1.0.0", "1.2.3"))
    admin.publisher.update_plugin(plugin["id"], verified=True)
    # A version that can never install: it depends on a version of itself that does not exist.
    broken = new_plugin(publisher, dependencies=[{"name": "placeholder", "version": "^1.0.0"}])
    broken_name = broken["name"]
    publisher.publisher.publish_version(broken["id"], npm_package(broken_name, "2.0.0"), version_metadata(
        "2.0.0", dependencies=[{"name": broken_name, "version": "^9.0.0"}]))
    return {"admin": admin, "publisher": publisher, "user": user, "plugin": plugin, "broken": broken,
            "stack": stack}


@pytest.fixture
def receiver():
    """A webhook receiver on loopback that keeps every request."""
    with WebhookReceiver() as made:
        yield made


# -- publisher -----------------------------------------------------------------------------------

def test_publisher_creates_plugins_versions_images_and_manages_them(world):
    publisher, admin, user = world["publisher"], world["admin"], world["user"]
    plugin = world["plugin"]
    assert plugin["id"].startswith("plugin_") and plugin["category"] == "monitoring"

    images = publisher.publisher.upload_images(plugin["id"], icon=("icon.png", png_icon(0)),
                                               screenshots=[("one.png", png_icon(1)), ("two.png", png_icon(2))])
    assert images
    details = publisher.plugins.get(plugin["id"])
    assert details["icon"] and len(details["screenshots"]) == 2
    assert details["verified"] is True and details["version"] == "1.2.3"

    updated = publisher.publisher.update_plugin(plugin["id"], long_description="# Long\nText")
    assert updated["longDescription"] == "# Long\nText"

    with pytest.raises(Conflict):
        publisher.publisher.publish_version(plugin["id"], npm_package(plugin["name"], "1.0.0"),
                                            version_metadata("1.0.0"))
    with pytest.raises(Forbidden):
        user.publisher.create_plugin(name=slug(), description="x", category="monitoring")
    with pytest.raises(Forbidden):
        make_account(admin, "publisher").publisher.update_plugin(plugin["id"], description="not mine")

    other = new_plugin(publisher, versions=("0.1.0", "0.2.0"))
    yanked = publisher.publisher.yank(other["id"], "0.2.0", "Broken build")
    assert yanked["yanked"] is True and yanked["yankReason"] == "Broken build"
    versions = {v["version"]: v for v in publisher.plugins.versions(other["id"])}
    assert versions["0.2.0"]["yanked"] and not versions["0.1.0"]["yanked"]
    assert publisher.plugins.get_version(other["id"], "0.1.0")["package"]["integrity"].startswith("sha")

    deprecated = publisher.publisher.deprecate(other["id"], "Superseded", replacement=plugin["name"])
    assert json.dumps(deprecated).count("Superseded") >= 1
    publisher.publisher.unpublish(other["id"])
    with pytest.raises(PluginNotFound):
        user.plugins.get(other["id"])
    publisher.publisher.publish(other["id"])
    assert user.plugins.get(other["id"])["id"] == other["id"]


# -- catalog -------------------------------------------------------------------------------------

def test_plugins_list_get_versions_search_stats_and_download(world, tmp_path):
    user, plugin = world["user"], world["plugin"]
    page = user.plugins.list(category="monitoring", verified=True, limit=100)
    assert isinstance(page, Page) and page.pagination["limit"] == 100
    assert all(p["category"] == "monitoring" and p["verified"] for p in page)
    assert plugin["id"] in {p["id"] for p in user.plugins.iter_all(category="monitoring", verified=True)}

    by_id, by_name = user.plugins.get(plugin["id"]), user.plugins.get(plugin["name"])
    assert by_id["id"] == by_name["id"] == plugin["id"]
    assert [v["version"] for v in user.plugins.versions(plugin["id"])] == ["1.2.3", "1.0.0"]

    found = user.plugins.search(plugin["name"], limit=5)
    assert found.data and found.data[0]["id"] == plugin["id"]
    assert user.plugins.search(plugin["name"], categories=["monitoring"], verified=True).total >= 1

    stats = user.plugins.stats(plugin["id"])
    assert set(stats) >= {"usage", "performance", "trends"}
    assert {c["name"]: c["count"] for c in user.plugins.categories()}["monitoring"] >= 1
    assert isinstance(user.plugins.tags(), list)

    downloaded = user.plugins.download(plugin["id"], dest=tmp_path)
    assert downloaded.version == "1.2.3" and downloaded.path.parent == tmp_path
    assert downloaded.path.read_bytes() == npm_package(plugin["name"], "1.2.3")
    assert downloaded.integrity == user.plugins.get_version(plugin["id"], "1.2.3")["package"]["integrity"]
    stream = io.BytesIO()
    assert user.plugins.download(plugin["id"], "1.0.0", stream).size == len(stream.getvalue()) > 0


def test_pagination_iterates_over_every_page(world):
    user, publisher = world["user"], world["publisher"]
    for _ in range(3 - min(3, user.plugins.list(limit=1).total)):
        new_plugin(publisher)
    first = user.plugins.list(limit=2)
    assert first.total >= 3 and first.total_pages == -(-first.total // 2) and first.has_next
    walked = [p["id"] for p in first.iter_all()]
    assert len(walked) == len(set(walked)) == first.total
    assert {p["id"] for p in user.plugins.iter_all(limit=100)} == set(walked)
    second = first.next_page()
    assert second.page == 2 and second.has_prev and second.data[0]["id"] == walked[2]
    assert first.links["next"].startswith("/api/marketplace/v1/plugins?page=2")


# -- errors and rate limits ----------------------------------------------------------------------

def test_errors_map_to_exceptions_with_the_request_id(world):
    user, stack = world["user"], world["stack"]
    with pytest.raises(PluginNotFound) as caught:
        user.plugins.get("plugin_does_not_exist")
    error = caught.value
    assert error.code == "PLUGIN_NOT_FOUND" and error.status == 404 and "plugin_does_not_exist" in error.message
    assert error.request_id and error.request_id == error.response.headers["X-Request-Id"]

    with pytest.raises(ValidationError) as invalid:
        user.plugins.list(limit=1000)
    assert "limit" in invalid.value.fields and invalid.value.status == 400

    with pytest.raises(Unauthorized):
        sdk(stack.gateway_url).plugins.install(world["plugin"]["id"], {"environment": environment()})
    with pytest.raises(Unauthorized):
        sdk(stack.gateway_url, "mkp_not_a_real_key").accounts.me()

    revoked = make_account(world["admin"], "user")
    key_id = next(k["id"] for k in revoked.accounts.api_keys())
    revoked.accounts.revoke_api_key(key_id)
    def refused():  # a revoked key may live on for a moment in the gateway's auth cache
        try:
            revoked.accounts.me()
        except Unauthorized:
            return True
        return False

    wait_for(refused, timeout=10, interval=0.2, message="the revoked key to be refused")

    with pytest.raises(NotFound):
        user.installations.get("install_does_not_exist")
    with pytest.raises(Forbidden):
        user.accounts.list()


def test_rate_limited_when_the_quota_is_used_up(world):
    limited = make_account(world["admin"], "user", tier="enterprise", rate_limit_per_hour=3)
    limited.max_retry_wait = 5  # the hour-long wait is more than we accept: raise at once
    limited._sleep = lambda seconds: pytest.fail(f"slept {seconds}s although the wait is beyond the bound")
    for _ in range(3):
        limited.plugins.list(limit=1)
    assert limited.rate_limit.limit == 3
    with pytest.raises(RateLimited) as caught:
        limited.plugins.list(limit=1)
    error = caught.value
    assert error.status == 429 and error.code == "RATE_LIMITED" and error.request_id
    assert error.retry_after and 5 < error.retry_after <= 3600
    now = datetime.now(UTC)
    assert error.reset is not None and now < error.reset <= now + timedelta(hours=1, seconds=5)
    assert error.remaining == 0 and error.limit == 3


@pytest.fixture
def strict_gateway(stack, tmp_path):
    """A second gateway on the same accounts with a window of 3 requests per 2 seconds."""
    with strict_gateway_beside(stack, tmp_path) as second:
        yield second


def test_retry_on_429_honours_retry_after(world, strict_gateway):
    client = sdk(strict_gateway.gateway_url, world["user"].key, max_retries=3, max_retry_wait=10)
    statuses, waits = [], []
    client.session.hooks["response"].append(lambda response, *a, **k: statuses.append(response.status_code))
    sleep = client._sleep
    client._sleep = lambda seconds: (waits.append(seconds), sleep(seconds))
    started = time.monotonic()
    for _ in range(5):
        client.plugins.list(limit=1)
    assert 429 in statuses, statuses  # the window was exceeded ...
    assert statuses[-1] == 200 and statuses.count(200) == 5  # ... and every call still succeeded
    assert waits and all(1 <= wait <= 2 for wait in waits)  # Retry-After is whole seconds in a 2 s window
    assert time.monotonic() - started >= sum(waits)


# -- installations -------------------------------------------------------------------------------

def test_install_wait_logs_list_upgrade_uninstall(world):
    user, plugin = world["user"], world["plugin"]
    env = environment()
    started = install_when_known(user, plugin["id"], {"version": "1.0.0", "environment": env,
                                                      "namespace": "backstage-plugins",
                                                      "deploymentStrategy": "rolling",
                                                      "configuration": {}})
    assert started["status"] in ("pending", "in_progress") and started["details"]["version"] == "1.0.0"
    assert started["links"]["status"].endswith(started["installationId"])

    progress, lines = [], []
    done = user.installations.wait(started, poll_interval=0.2, timeout=120, progress=progress.append,
                                   on_log=lines.append)
    assert done["status"] == "completed", done
    assert progress[-1]["progress"]["percentage"] == 100 and len(progress) >= 2
    assert lines and [line["id"] for line in lines] == [line["id"] for line in
                                                        user.installations.iter_logs(started)]
    batch = user.installations.logs(started, limit=2)
    assert len(batch) == 2 and user.installations.logs(started, cursor=batch.next_cursor).data[0] == lines[2]

    listed = user.installations.list(plugin_id=plugin["id"], environment=env)
    assert [i["installationId"] for i in listed] == [started["installationId"]]
    assert any(i["installationId"] == started["installationId"] for i in user.installations.iter_all())

    with pytest.raises(Conflict):
        user.plugins.install(plugin["id"], {"environment": env, "namespace": "backstage-plugins"})
    with pytest.raises(Conflict):
        user.installations.cancel(started)

    upgraded = user.installations.upgrade(started, "1.2.3")
    assert upgraded["installationId"] == started["installationId"]
    after = user.installations.wait(upgraded, poll_interval=0.2, timeout=120)
    assert after["status"] == "completed" and after["version"] == "1.2.3"

    user.installations.uninstall(started)
    gone = user.installations.wait(started, poll_interval=0.2, timeout=120)
    assert gone["status"] == "uninstalled"


def test_cancel_an_installation(world):
    user, plugin = world["user"], world["plugin"]
    started = install_when_known(user, plugin["id"], {"environment": environment()})
    try:
        cancelled = user.installations.cancel(started)
        assert cancelled["status"] in ("cancelling", "cancelled")
        final = user.installations.wait(started, poll_interval=0.2, timeout=120)
        assert final["status"] == "cancelled"
    except Conflict:  # it finished before the cancel arrived: then it must be completed
        assert user.installations.get(started)["status"] == "completed"


def test_a_failed_installation_is_reported(world):
    user, broken = world["user"], world["broken"]
    started = install_when_known(user, broken["id"], {"version": "2.0.0", "environment": environment()})
    final = user.installations.wait(started, poll_interval=0.2, timeout=120)
    assert final["status"] == "failed" and final["error"]["code"] == "DEPENDENCY_UNRESOLVED", final


def test_environments_admin(world):
    admin = world["admin"]
    name = environment()
    created = admin.environments.create(name, backstage_version="1.36.0", node_version="20.11.0")
    assert created["backstageVersion"] == "1.36.0"
    assert admin.environments.update(name, backstage_version="1.37.0")["backstageVersion"] == "1.37.0"
    assert any(e["name"] == name for e in admin.environments.list(limit=100).iter_all())
    with pytest.raises(Forbidden):
        world["user"].environments.list()


# -- reviews -------------------------------------------------------------------------------------

def test_reviews_create_list_update_vote_report_delete(world):
    admin, plugin = world["admin"], world["plugin"]
    author, voter = make_account(admin, "user"), make_account(admin, "user")

    def create():
        try:
            return author.reviews.create(plugin["id"], 4, "Solid <b>plugin</b>", "Works with our setup")
        except PluginNotFound:
            return None

    review = wait_for(create, timeout=30, interval=0.2, message="review service to know the plugin")
    assert review["rating"] == 4 and review["title"] == "Solid <b>plugin</b>"
    with pytest.raises(Conflict):
        author.reviews.create(plugin["id"], 5, "Again")
    with pytest.raises(ValidationError) as invalid:
        voter.reviews.create(plugin["id"], 6, "Too good")
    assert "rating" in invalid.value.fields

    assert author.reviews.update(review["id"], rating=5, title="Excellent")["rating"] == 5
    listed = voter.reviews.list(plugin["id"], sort="recent")
    assert review["id"] in {r["id"] for r in listed} and listed.total >= 1
    assert review["id"] in {r["id"] for r in voter.reviews.iter_all(plugin["id"], rating=5)}
    assert voter.reviews.get(review["id"])["title"] == "Excellent"

    assert voter.reviews.helpful(review["id"])["helpful"] == 1
    with pytest.raises(Forbidden):
        author.reviews.helpful(review["id"])
    with pytest.raises(Conflict):
        voter.reviews.helpful(review["id"])
    voter.reviews.report(review["id"], "Looks like an advertisement")

    admin.reviews.hide(review["id"], "checking")
    assert review["id"] not in {r["id"] for r in voter.reviews.list(plugin["id"])}
    admin.reviews.restore(review["id"])
    assert review["id"] in {r["id"] for r in voter.reviews.list(plugin["id"])}

    with pytest.raises(Forbidden):
        voter.reviews.delete(review["id"])
    author.reviews.delete(review["id"])
    with pytest.raises(NotFound):
        voter.reviews.get(review["id"])


# -- webhooks ------------------------------------------------------------------------------------

def test_webhooks_deliveries_are_signed_and_managed(world, receiver):
    user = world["user"]
    secret = "sdk-e2e-" + secrets.token_hex(16)
    webhook = user.webhooks.create(receiver.url, ["plugin.installed", "plugin.error"], secret,
                                   description="SDK e2e")
    assert webhook["id"] and webhook["events"] == ["plugin.installed", "plugin.error"]
    assert webhook["id"] in {w["id"] for w in user.webhooks.list()}
    assert user.webhooks.get(webhook["id"])["description"] == "SDK e2e"
    assert user.webhooks.update(webhook["id"], description="renamed")["description"] == "renamed"

    ping = user.webhooks.ping(webhook["id"])
    first = receiver.wait_for(message="the ping delivery")[0]
    headers, body = first.headers, first.body
    payload = verify_webhook(secret, headers, body)
    assert headers["webhook-id"] == ping["id"] and payload["event"]

    def delivered():
        rows = user.webhooks.deliveries(webhook["id"]).data
        return rows if rows and rows[0]["status"] == "succeeded" else None

    rows = wait_for(delivered, timeout=30, message="the delivery log")
    assert rows[0]["id"] == ping["id"] and rows[0]["attemptCount"] >= 1
    assert user.webhooks.delivery(webhook["id"], ping["id"])["attempts"][0]["statusCode"] == 204

    user.webhooks.redeliver(webhook["id"], ping["id"])
    redelivered = receiver.wait_for(count=2, message="the redelivery")[1]
    assert redelivered.headers["webhook-id"] == ping["id"]  # same delivery id, to dedupe on
    verify_webhook(secret, redelivered.headers, redelivered.body)

    rotated = user.webhooks.rotate_secret(webhook["id"])
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    user.webhooks.ping(webhook["id"])
    rotated = receiver.wait_for(count=3, message="a ping after the rotation")[2]
    verify_webhook(new_secret, rotated.headers, rotated.body)
    verify_webhook(secret, rotated.headers, rotated.body)  # the old secret still signs during the grace period

    recovered = user.webhooks.recover(webhook["id"], datetime.now(UTC) - timedelta(hours=1))
    assert recovered["recovered"] == 0  # nothing failed

    user.webhooks.delete(webhook["id"])
    with pytest.raises(NotFound):
        user.webhooks.get(webhook["id"])


# -- the spec's example and the command line -----------------------------------------------------

def spec_python_example() -> str:
    text = SPEC.read_text()
    section = text[text.index("### Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_spec_python_example_runs_against_the_local_system(world):
    """The example exactly as the spec writes it; only the key, the URL and the plugin id are the local ones.

    Plugin ids are generated (`plugin_<random>`), so 'plugin_123' names a plugin published here with
    category monitoring, verified, and a version 1.2.3.
    """
    user, plugin = world["user"], world["plugin"]
    # Make sure the install service already knows version 1.2.3 (it learns it from events).
    warm = install_when_known(user, plugin["id"], {"version": "1.2.3", "environment": environment()})
    user.installations.wait(warm, poll_interval=0.2, timeout=120)
    for other in user.installations.list(plugin_id=plugin["id"], environment="production"):
        if other["status"] == "completed":
            user.installations.wait(user.installations.uninstall(other), poll_interval=0.2, timeout=120)

    code = spec_python_example()
    assert "client.plugins.list(" in code and "client.plugins.install('plugin_123'" in code
    code = (code.replace("'YOUR_API_KEY'", repr(user.key))
                .replace("'https://your-portal.com'", repr(world["stack"].gateway_url))
                .replace("'plugin_123'", repr(plugin["id"])))
    namespace: dict = {}
    exec(compile(code, "spec-example.py", "exec"), namespace)  # noqa: S102 - the spec's own text

    plugins, installation = namespace["plugins"], namespace["installation"]
    assert plugins["data"] and all(p["category"] == "monitoring" and p["verified"] for p in plugins["data"])
    assert installation["pluginId"] == plugin["id"] and installation["details"]["version"] == "1.2.3"
    assert installation["details"]["environment"] == "production"
    final = namespace["client"].installations.wait(installation, poll_interval=0.2, timeout=120)
    assert final["status"] == "completed", final


def run_cli(stack, key, *args, timeout=180):
    script = Path(sys.executable).parent / "marketplace"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "backstage_marketplace.cli"]
    env = {key_: value for key_, value in os.environ.items() if "proxy" not in key_.lower()}
    env.update({"MARKETPLACE_URL": stack.gateway_url, "MARKETPLACE_API_KEY": key,
                "MARKETPLACE_CONFIG": str(Path(stack.var_dir) / "sdk-cli-config.json")})
    return subprocess.run(command + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_install_exits_0_on_completed_and_non_zero_on_failed(world):
    stack, user, plugin, broken = world["stack"], world["user"], world["plugin"], world["broken"]
    install_when_known(user, broken["id"], {"version": "2.0.0", "environment": environment()})  # known to it

    ok = run_cli(stack, user.key, "install", plugin["id"], "--version", "1.0.0", "--environment", environment(),
                 "--namespace", "team-a", "--strategy", "blue-green", "--config", "{}", "--poll-interval", "0.2")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "[100%] completed" in ok.stderr  # plain progress lines: not a terminal
    assert re.search(r"^\S+Z INFO \[\w+\] ", ok.stdout, re.M), ok.stdout  # the installation's log lines
    assert "completed" in ok.stdout.splitlines()[-1]
    ident = re.search(r"installation id: (\S+)", ok.stderr).group(1)

    status = run_cli(stack, user.key, "installations", "status", ident, "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "completed"
    listed = run_cli(stack, user.key, "--json", "installations", "list", "--plugin", plugin["id"])
    assert ident in {i["installationId"] for i in json.loads(listed.stdout)["data"]}
    logs = run_cli(stack, user.key, "installations", "logs", ident)
    assert logs.returncode == 0 and len(logs.stdout.splitlines()) >= 3

    failed = run_cli(stack, user.key, "install", broken["id"], "--version", "2.0.0", "-e", environment(),
                     "--poll-interval", "0.2")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed" in failed.stderr and "DEPENDENCY_UNRESOLVED" in failed.stderr

    missing = run_cli(stack, user.key, "install", "plugin_does_not_exist", "-e", environment())
    assert missing.returncode == 3 and "PLUGIN_NOT_FOUND" in missing.stderr


def test_cli_browse_and_webhooks(world, receiver):
    stack, user, plugin = world["stack"], world["user"], world["plugin"]
    listed = run_cli(stack, user.key, "plugins", "list", "--category", "monitoring", "--verified", "--json")
    assert listed.returncode == 0 and all(p["verified"] for p in json.loads(listed.stdout)["data"])
    shown = run_cli(stack, user.key, "plugins", "show", plugin["name"])
    assert shown.returncode == 0 and plugin["id"] in shown.stdout
    found = run_cli(stack, user.key, "plugins", "search", plugin["name"], "--json")
    assert json.loads(found.stdout)["data"][0]["id"] == plugin["id"]

    created = run_cli(stack, user.key, "--json", "webhooks", "create", receiver.url, "--event", "plugin.*")
    webhook = json.loads(created.stdout)
    assert created.returncode == 0 and webhook["secret"].startswith("whsec_")
    assert webhook["id"] in run_cli(stack, user.key, "webhooks", "list").stdout
    deliveries = run_cli(stack, user.key, "webhooks", "deliveries", webhook["id"], "--json")
    assert deliveries.returncode == 0 and json.loads(deliveries.stdout)["data"] == []


def test_cli_publish_from_files(world, tmp_path):
    stack, publisher = world["stack"], world["publisher"]
    name = slug()
    (tmp_path / "plugin.json").write_text(json.dumps({"name": name, "description": "From the CLI",
                                                      "category": "ci-cd"}))
    (tmp_path / "version.json").write_text(json.dumps(version_metadata("0.1.0")))
    (tmp_path / f"{name}.tgz").write_bytes(npm_package(name, "0.1.0"))
    (tmp_path / "icon.png").write_bytes(png_icon(0))
    result = run_cli(stack, publisher.key, "publish", "--plugin-file", str(tmp_path / "plugin.json"),
                     "--metadata", str(tmp_path / "version.json"), "--package", str(tmp_path / f"{name}.tgz"),
                     "--icon", str(tmp_path / "icon.png"))
    assert result.returncode == 0, result.stdout + result.stderr
    details = publisher.plugins.get(name)
    assert details["version"] == "0.1.0" and details["icon"]
    again = run_cli(stack, publisher.key, "publish", "--plugin", name, "--version", "0.2.0",
                    "--package", str(tmp_path / f"{name}.tgz"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["version"]["version"] == "0.2.0"
