from datetime import timedelta

import pytest
from catalog_testkit import API, published_plugin
from sqlalchemy import update

from catalog_service.handlers import HANDLERS
from catalog_service.models import Installation, TelemetryReport
from catalog_service.stats import growth, percentile
from marketplace_shared.contracts import contract_event
from marketplace_shared.outbox import utcnow


def deliver(app, event_type, data, time="2026-11-23T10:00:00.000Z"):
    """Run the catalog's handlers on an event as its producer sends it (checked against docs/asyncapi.yaml);
    time=None: now."""
    event = contract_event(event_type, data, data["pluginId"], **({"time": time} if time else {}))
    with app.extensions["database"].session() as session, session.begin():
        for handler in HANDLERS[event_type]:
            handler(session, event)


def detail(client, ref):
    return client.get(f"{API}/plugins/{ref}").get_json()["data"]


def stats(client, ref):
    response = client.get(f"{API}/plugins/{ref}/stats")
    assert response.status_code == 200
    return response.get_json()["data"]


@pytest.fixture
def plugin(client, publisher):
    return published_plugin(client, publisher, name="observed")


def rating(plugin_id, sequence, average, count):
    return {"pluginId": plugin_id, "sequence": sequence, "average": average, "count": count,
            "distribution": {"5": count - 1, "4": 0, "3": 0, "2": 0, "1": 1},
            "topReviews": [{"id": "review_1", "rating": 5, "title": "Great", "review": "Works",
                            "user": {"id": "acct_u", "name": "U", "avatar": ""},
                            "createdAt": "2026-11-20T10:00:00.000Z", "helpful": 3}]}


def test_rating_changed_moves_rating_and_ignores_older_sequences(app, client, plugin):
    deliver(app, "review.rating_changed", rating(plugin["id"], 2, 4.25, 4))
    deliver(app, "review.rating_changed", rating(plugin["id"], 1, 1.0, 1))
    deliver(app, "review.rating_changed", rating(plugin["id"], 2, 1.0, 1))
    data = detail(client, plugin["id"])["rating"]
    assert data["average"] == 4.25 and data["count"] == 4
    assert data["distribution"] == {"5": 3, "4": 0, "3": 0, "2": 0, "1": 1}
    assert data["reviews"][0]["title"] == "Great"
    deliver(app, "review.rating_changed", rating("plugin_unknown", 1, 5.0, 1))  # ignored, no error


def install_event(plugin_id, installation="install_1", **extra):
    return {"pluginId": plugin_id, "version": "1.0.0", "installationId": installation, "environment": "production",
            "namespace": "backstage-plugins", "accountId": "acct_u", **extra}


def test_installation_events_move_counts_and_popularity(app, client, publisher, plugin):
    other = published_plugin(client, publisher, name="quiet")
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_1"))
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_1"))  # twice: same state
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_2"))
    usage = stats(client, plugin["id"])["usage"]
    assert usage["installations"] == 2 and usage["activeInstallations"] == 2
    names = [p["name"] for p in client.get(f"{API}/plugins?sort=popularity").get_json()["data"]]
    assert names == ["observed", "quiet"]
    deliver(app, "plugin.uninstalled", install_event(plugin["id"], "install_2"), time="2026-11-23T11:00:00.000Z")
    # An older event arriving late does not resurrect the installation.
    deliver(app, "plugin.updated", install_event(plugin["id"], "install_2", previousVersion="0.9.0"),
            time="2026-11-23T10:30:00.000Z")
    deliver(app, "plugin.health_changed", install_event(plugin["id"], "install_1", previous="healthy",
                                                        current="degraded"), time="2026-11-23T11:00:00.000Z")
    deliver(app, "plugin.error", install_event(plugin["id"], "install_1", error={
        "code": "E", "message": "m", "step": "deploy"}), time="2026-11-23T11:05:00.000Z")
    usage = stats(client, plugin["id"])["usage"]
    assert usage["installations"] == 2 and usage["activeInstallations"] == 1
    assert detail(client, other["id"])["installations"] == {"total": 0, "active": 0}


def test_new_plugin_stats_are_zero(client, plugin):
    assert stats(client, plugin["id"]) == {
        "usage": {"installations": 0, "activeInstallations": 0, "dailyActiveUsers": 0,
                  "apiCalls": {"daily": 0, "weekly": 0, "monthly": 0}},
        "performance": {"averageResponseTime": 0, "p95ResponseTime": 0, "p99ResponseTime": 0, "errorRate": 0,
                        "availability": 0},
        "trends": {"installationGrowth": 0.0, "usageGrowth": 0.0, "ratingTrend": 0.0},
        "downloads": {"total": 1 - 1, "monthly": 0, "weekly": 0, "daily": 0},
    }
    assert client.get(f"{API}/plugins/nope/stats").status_code == 404


def test_telemetry_feeds_the_stats(app, client, plugin, user):
    url = f"{API}/plugins/{plugin['id']}/telemetry"
    first = {"installationId": "install_1", "activeUsers": 10, "apiCalls": 100, "requests": 100, "errors": 2,
             "responseTimesMs": [float(v) for v in range(1, 101)], "healthy": True}
    assert client.post(url, json=first, headers=user).status_code == 202
    second = {**first, "activeUsers": 12, "apiCalls": 50, "requests": 100, "errors": 0, "responseTimesMs": [],
              "healthy": False}
    assert client.post(url, json=second, headers=user).status_code == 202
    other = {"installationId": "install_2", "activeUsers": 5, "apiCalls": 10}
    assert client.post(url, json=other, headers=user).status_code == 202
    data = stats(client, plugin["id"])
    assert data["usage"]["dailyActiveUsers"] == 17
    assert data["usage"]["apiCalls"] == {"daily": 160, "weekly": 160, "monthly": 160}
    assert data["performance"]["averageResponseTime"] == 50.5
    assert data["performance"]["p95ResponseTime"] == 95 and data["performance"]["p99ResponseTime"] == 99
    assert data["performance"]["errorRate"] == 0.01
    assert data["performance"]["availability"] == 66.67
    assert data["trends"]["usageGrowth"] == 100.0
    # Move the reports back 40 days: they now count as the previous window.
    with app.extensions["database"].session() as session, session.begin():
        session.execute(update(TelemetryReport).values(at=utcnow() - timedelta(days=40)))
    assert client.post(url, json={**other, "apiCalls": 80}, headers=user).status_code == 202
    data = stats(client, plugin["id"])
    assert data["usage"]["apiCalls"]["monthly"] == 80 and data["trends"]["usageGrowth"] == -50.0


def test_installation_growth(app, client, plugin):
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_old"))
    with app.extensions["database"].session() as session, session.begin():
        session.execute(update(Installation).values(installed_at=utcnow() - timedelta(days=45)))
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_a"), time=None)
    deliver(app, "plugin.installed", install_event(plugin["id"], "install_b"), time=None)
    assert stats(client, plugin["id"])["trends"]["installationGrowth"] == 100.0


@pytest.mark.parametrize("body, field", [
    ({"activeUsers": -1}, "activeUsers"), ({"apiCalls": 10 ** 12}, "apiCalls"),
    ({"responseTimesMs": [1] * 1001}, "responseTimesMs"), ({"responseTimesMs": [-5]}, "responseTimesMs"),
    ({"requests": 1, "errors": 2}, "errors"), ({"healthy": "perhaps"}, "healthy"), ({"cpu": 1}, "cpu"),
    ({"installationId": "bad id!"}, "installationId"),
])
def test_telemetry_is_validated(client, plugin, user, body, field):
    response = client.post(f"{API}/plugins/{plugin['id']}/telemetry", json=body, headers=user)
    assert response.status_code == 400 and field in response.get_json()["error"]["details"]["fields"]


def test_telemetry_requires_a_signed_in_caller(client, config, plugin):
    from catalog_testkit import anonymous_headers

    response = client.post(f"{API}/plugins/{plugin['id']}/telemetry", json={}, headers=anonymous_headers(config))
    assert response.status_code == 401


def test_growth_and_percentile():
    assert growth(15, 10) == 50.0 and growth(0, 0) == 0.0 and growth(3, 0) == 100.0 and growth(5, 10) == -50.0
    assert percentile([], 0.95) == 0.0 and percentile([1, 2, 3, 4], 0.5) == 2
