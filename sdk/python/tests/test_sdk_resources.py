"""Resources over the fake API: pagination, search, install and wait, logs, uploads, downloads."""

import hashlib
import io
import json

import pytest
from sdk_fake_api import Reply, error_body

from backstage_marketplace import InstallationFailed, InstallationTimeout, MarketplaceError, Page


def paged(items, page, limit):
    total = len(items)
    pages = (total + limit - 1) // limit
    return {"data": items[(page - 1) * limit: page * limit],
            "pagination": {"page": page, "limit": limit, "total": total, "totalPages": pages,
                           "hasNextPage": page < pages, "hasPrevPage": page > 1},
            "links": {"self": f"/api/marketplace/v1/plugins?page={page}&limit={limit}"},
            "metadata": {"requestId": "req_x"}}


PLUGINS = [{"id": f"plugin_{n}", "name": f"p{n}"} for n in range(7)]


def test_iter_all_walks_every_page_keeping_the_filters(api, client):
    api.route("GET", "/plugins", lambda r: Reply(200, paged(PLUGINS, int(r.query.get("page", 1)),
                                                            int(r.query.get("limit", 20)))))
    assert [p["id"] for p in client.plugins.iter_all(limit=3, category="ci")] == [p["id"] for p in PLUGINS]
    sent = api.requests_to("GET", "/plugins")
    assert [(r.query.get("page"), r.query["category"]) for r in sent] == \
        [(None, "ci"), ("2", "ci"), ("3", "ci")]


def test_a_page_has_the_spec_blocks_and_navigates(api, client):
    api.route("GET", "/plugins", lambda r: Reply(200, paged(PLUGINS, int(r.query.get("page", 1)), 3)))
    page = client.plugins.list(limit=3)
    assert isinstance(page, Page) and len(page) == 3 and page[0]["id"] == "plugin_0"
    assert (page.page, page.total, page.total_pages, page.has_next, page.has_prev) == (1, 7, 3, True, False)
    assert page["pagination"]["total"] == 7 and page.metadata["requestId"] == "req_x"
    last = page.next_page().next_page()
    assert [p["id"] for p in last] == ["plugin_6"] and last.next_page() is None


def test_search_posts_the_spec_body_and_paginates_in_it(api, client):
    def answer(request):
        body = request.json()
        return Reply(200, paged(PLUGINS, body["pagination"]["page"], body["pagination"].get("limit", 4)))

    api.route("POST", "/plugins/search", answer)
    found = list(client.plugins.search("monitoring", filters={"categories": ["monitoring"]}, min_rating=4,
                                       sort="relevance", order="desc", limit=4).iter_all())
    assert len(found) == 7
    first, second = (r.json() for r in api.requests_to("POST", "/plugins/search"))
    assert first == {"query": "monitoring", "filters": {"categories": ["monitoring"], "minRating": 4},
                     "sort": {"field": "relevance", "order": "desc"}, "pagination": {"page": 1, "limit": 4}}
    assert second["pagination"] == {"page": 2, "limit": 4}


def test_install_sends_the_body_and_the_idempotency_key(api, client):
    api.route("POST", "/plugins/catalog/install", Reply(202, {"data": {"installationId": "install_1"}}))
    client.plugins.install("catalog", {"version": "1.2.3"}, environment="production",
                           deployment_strategy="blue-green", auto_start=False, idempotency_key="k1")
    sent = api.received[-1]
    assert sent.json() == {"version": "1.2.3", "environment": "production", "deploymentStrategy": "blue-green",
                           "autoStart": False}
    assert sent.headers["Idempotency-Key"] == "k1"


class InstallationScript:
    """An installation that moves through statuses, writing log lines with a cursor as it goes."""

    def __init__(self, statuses, final_error=None):
        self.statuses = list(statuses)
        self.polls = 0
        self.final_error = final_error

    def status(self, _request):
        index = min(self.polls, len(self.statuses) - 1)
        self.polls += 1
        status, percentage = self.statuses[index]
        data = {"installationId": "install_1", "status": status,
                "progress": {"current": percentage, "total": 100, "percentage": percentage,
                             "currentStep": f"step at {percentage}"}}
        if status == "failed":
            data["error"] = self.final_error
        return Reply(200, {"data": data})

    def logs(self, request):
        written = [{"id": str(n), "timestamp": f"t{n}", "level": "info", "step": "s", "message": f"line {n}"}
                   for n in range(1, 2 * self.polls + 1)]
        after = int(request.query.get("cursor", 0))
        lines = [line for line in written if int(line["id"]) > after]
        next_cursor = lines[-1]["id"] if lines else request.query.get("cursor")
        return Reply(200, {"data": lines, "pagination": {"nextCursor": next_cursor, "hasMore": False}})


def test_wait_reports_progress_and_every_log_line_once(api, client):
    script = InstallationScript([("pending", 0), ("in_progress", 30), ("in_progress", 30), ("completed", 100)])
    api.route("GET", "/installations/install_1", script.status)
    api.route("GET", "/installations/install_1/logs", script.logs)
    seen, lines = [], []
    final = client.installations.wait({"installationId": "install_1"}, poll_interval=0.01,
                                      progress=lambda i: seen.append((i["status"], i["progress"]["percentage"])),
                                      on_log=lambda line: lines.append(line["message"]))
    assert final["status"] == "completed"
    assert seen == [("pending", 0), ("in_progress", 30), ("completed", 100)]  # unchanged states not repeated
    assert lines == [f"line {n}" for n in range(1, 2 * script.polls + 1)]
    assert client.slept == [0.01, 0.01, 0.01]


def test_wait_can_raise_on_failure_and_gives_up_after_the_timeout(api, client):
    script = InstallationScript([("in_progress", 10), ("failed", 45)],
                                {"code": "DEPENDENCY_UNRESOLVED", "message": "no version", "step": "resolve"})
    api.route("GET", "/installations/install_1", script.status)
    assert client.installations.wait("install_1", poll_interval=0)["status"] == "failed"
    script.polls = 0
    with pytest.raises(InstallationFailed) as caught:
        client.installations.wait("install_1", poll_interval=0, raise_on_failure=True)
    assert "no version" in str(caught.value) and caught.value.installation["status"] == "failed"

    api.route("GET", "/installations/install_1", InstallationScript([("in_progress", 10)]).status)
    with pytest.raises(InstallationTimeout) as timed_out:
        client.installations.wait("install_1", poll_interval=0, timeout=0)
    assert isinstance(timed_out.value, TimeoutError)


def test_installation_list_filters_and_upgrade_body(api, client):
    api.route("GET", "/installations", Reply(200, paged([], 1, 20)))
    api.route("PATCH", "/installations/install_1", Reply(202, {"data": {"installationId": "install_1"}}))
    client.installations.list(plugin_id="catalog", status="completed,failed", environment="prod")
    assert api.received[-1].query == {"plugin": "catalog", "status": "completed,failed", "environment": "prod"}
    client.installations.upgrade("install_1", "2.0.0", configuration={"a": 1})
    assert api.received[-1].json() == {"version": "2.0.0", "configuration": {"a": 1}}


def test_publish_version_sends_metadata_and_package_and_rewinds_on_retry(api, client, tmp_path):
    package = tmp_path / "my-plugin-1.0.0.tgz"
    package.write_bytes(b"\x1f\x8b" + b"x" * 5000)
    api.route("POST", "/plugins/plugin_1/versions", [Reply(503, error_body("SERVICE_UNAVAILABLE", "busy")),
                                                     Reply(201, {"data": {"version": "1.0.0"}})])
    result = client.publisher.publish_version("plugin_1", package, {"version": "1.0.0"}, changelog="First")
    assert result == {"version": "1.0.0"}
    attempts = api.requests_to("POST", "/plugins/plugin_1/versions")
    assert len(attempts) == 2
    for attempt in attempts:  # the retry sent the whole file again
        assert attempt.headers["Content-Type"].startswith("multipart/form-data")
        assert b'name="metadata"' in attempt.body
        assert json.dumps({"version": "1.0.0", "changelog": "First"}).encode() in attempt.body
        assert b'name="package"; filename="my-plugin-1.0.0.tgz"' in attempt.body
        assert b"\x1f\x8b" + b"x" * 5000 in attempt.body


def test_upload_images_sends_icon_and_screenshots(api, client):
    api.route("POST", "/plugins/plugin_1/images", Reply(201, {"data": {"icon": "x"}}))
    client.publisher.upload_images("plugin_1", icon=("logo.png", b"\x89PNG1"), screenshots=[b"\x89PNG2",
                                                                                           io.BytesIO(b"\x89PNG3")])
    body = api.received[-1].body
    assert b'name="icon"; filename="logo.png"' in body and body.count(b'name="screenshots"') == 2


def test_download_streams_to_a_file_and_checks_the_integrity(api, client, tmp_path):
    content = b"package-bytes" * 1000
    digest = hashlib.sha256(content).hexdigest()
    api.route("GET", "/plugins/p/versions/1.0.0/package",
              Reply(200, content, {"Content-Type": "application/gzip", "ETag": f'"{digest}"',
                                   "Content-Disposition": 'attachment; filename="../p-1.0.0.tgz"'}))
    result = client.plugins.download("p", "1.0.0", tmp_path)
    assert result.path == tmp_path / "p-1.0.0.tgz" and result.path.read_bytes() == content
    assert result.sha256 == digest and result.size == len(content)
    client.plugins.download("p", "1.0.0", tmp_path / "ok.tgz", expected_integrity=result.integrity)

    with pytest.raises(MarketplaceError) as caught:
        client.plugins.download("p", "1.0.0", tmp_path / "bad.tgz", expected_integrity="sha256-" + "A" * 43 + "=")
    assert caught.value.code == "INTEGRITY_MISMATCH" and not (tmp_path / "bad.tgz").exists()

    api.route("GET", "/plugins/p/versions/1.0.0/package",
              Reply(200, content, {"X-Integrity": "sha256-" + "A" * 43 + "="}))
    with pytest.raises(MarketplaceError):
        client.plugins.download("p", "1.0.0", io.BytesIO())


def test_download_without_a_version_takes_the_latest(api, client):
    api.route("GET", "/plugins/p", Reply(200, {"data": {"id": "p", "name": "p", "version": "2.0.0"}}))
    api.route("GET", "/plugins/p/versions/2.0.0/package", Reply(200, b"abc"))
    target = io.BytesIO()
    assert client.plugins.download("p", dest=target).version == "2.0.0" and target.getvalue() == b"abc"


def test_reviews_and_webhooks_paths(api, client):
    api.route("POST", "/plugins/p/reviews", Reply(201, {"data": {"id": "review_1"}}))
    api.route("POST", "/reviews/review_1/report", Reply(200, {"data": {}}))
    api.route("DELETE", "/reviews/review_1", Reply(204))
    api.route("POST", "/webhooks", Reply(201, {"data": {"id": "wh_1", "secret": "whsec_x"}}))
    api.route("POST", "/webhooks/wh_1/recover", Reply(202, {"data": {"recovered": 2}}))
    api.route("POST", "/webhooks/wh_1/rotate-secret", Reply(200, {"data": {"secret": "whsec_y"}}))
    assert client.reviews.create("p", 5, "Great", "Works") == {"id": "review_1"}
    assert api.received[-1].json() == {"rating": 5, "title": "Great", "review": "Works"}
    client.reviews.report("review_1", "spam")
    assert api.received[-1].json() == {"reason": "spam"}
    assert client.reviews.delete("review_1") is None
    client.webhooks.create("https://example.com/hook", ["plugin.installed"], plugin_ids=["plugin_1"])
    assert api.received[-1].json() == {"url": "https://example.com/hook", "events": ["plugin.installed"],
                                       "pluginIds": ["plugin_1"]}
    assert client.webhooks.recover("wh_1", "2024-08-07T10:00:00Z") == {"recovered": 2}
    client.webhooks.rotate_secret("wh_1", grace_period_seconds=60)
    assert api.received[-1].json() == {"gracePeriodSeconds": 60}


def test_own_review_and_the_moderation_queue(api, client):
    mine = {"id": "review_7", "user": {"id": "acct_me"}}
    api.route("GET", "/plugins/p/reviews",
              lambda r: Reply(200, paged([mine] if r.query.get("mine") == "true" else [], 1, 1)))
    assert client.reviews.mine("p") == mine
    assert (api.received[-1].query["mine"], api.received[-1].query["limit"]) == ("true", "1")
    api.route("GET", "/plugins/q/reviews", Reply(200, paged([], 1, 1)))
    assert client.reviews.mine("q") is None

    queue = [{"id": f"review_{n}", "plugin": {"id": "plugin_1", "name": "p1"}} for n in range(5)]
    api.route("GET", "/reviews", lambda r: Reply(200, paged(queue, int(r.query.get("page", 1)),
                                                            int(r.query.get("limit", 20)))))
    page = client.reviews.moderation(status="reported", plugin_id="p1", sort="reports", limit=2)
    assert [item["id"] for item in page] == ["review_0", "review_1"] and page.total == 5
    assert api.received[-1].query == {"status": "reported", "pluginId": "p1", "sort": "reports", "limit": "2"}
    every = list(client.reviews.iter_moderation(status="hidden", limit=2))
    assert [item["plugin"]["name"] for item in every] == ["p1"] * 5
    assert [r.query.get("page") for r in api.requests_to("GET", "/reviews")][-3:] == [None, "2", "3"]
