"""The administrators' queue across plugins (GET /reviews) and one's own review of a plugin (?mine=true)."""

import pytest

PREFIX = "/api/marketplace/v1"


@pytest.fixture
def plugins(deliver):
    for number, name in ((1, "alpha"), (2, "beta")):
        deliver("plugin.published", {"pluginId": f"plugin_{number}", "name": name, "displayName": name.title(),
                                      "ownerId": "acct_owner", "version": "1.0.0", "category": "backend"})
    return ["plugin_1", "plugin_2"]


def admin(auth):
    return auth("acct_root", role="admin", name="Root", email="root@example.com")


def review(client, auth, plugin, account, title):
    response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(account),
                           json={"rating": 3, "title": title})
    assert response.status_code == 201
    return response.get_json()["data"]["id"]


def report(client, auth, review_id, *reporters):
    for reporter in reporters:
        response = client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth(reporter), json={"reason": "spam"})
        assert response.status_code == 201


@pytest.fixture
def queue(client, auth, plugins):
    """alpha: once reported, twice reported, hidden, untouched; beta: three times reported."""
    ids = {
        "once": review(client, auth, "plugin_1", "acct_a", "once"),
        "twice": review(client, auth, "plugin_1", "acct_b", "twice"),
        "hidden": review(client, auth, "plugin_1", "acct_c", "hidden"),
        "quiet": review(client, auth, "plugin_1", "acct_d", "quiet"),
        "beta": review(client, auth, "plugin_2", "acct_a", "beta"),
    }
    report(client, auth, ids["once"], "acct_x")
    report(client, auth, ids["twice"], "acct_x", "acct_y")
    report(client, auth, ids["beta"], "acct_x", "acct_y", "acct_z")
    assert client.post(f"{PREFIX}/reviews/{ids['hidden']}/hide", headers=admin(auth),
                       json={"reason": "rude"}).status_code == 200
    return ids


def titles(response):
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["data"]]


def test_reported_reviews_across_plugins_most_reported_first(client, auth, queue):
    response = client.get(f"{PREFIX}/reviews?status=reported&sort=reports", headers=admin(auth))
    assert titles(response) == ["beta", "twice", "once"]
    body = response.get_json()
    first = body["data"][0]
    assert first["plugin"] == {"id": "plugin_2", "name": "beta", "displayName": "Beta"}
    assert first["pluginId"] == "plugin_2"
    assert first["moderation"]["reports"] == 3
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1,
                                  "hasNextPage": False, "hasPrevPage": False}
    assert body["links"]["self"] == f"{PREFIX}/reviews?page=1&limit=20&status=reported&sort=reports"
    assert body["metadata"]["requestId"]


def test_hidden_and_visible_and_every_review(client, auth, queue):
    assert titles(client.get(f"{PREFIX}/reviews?status=hidden", headers=admin(auth))) == ["hidden"]
    hidden = client.get(f"{PREFIX}/reviews?status=hidden", headers=admin(auth)).get_json()["data"][0]
    assert hidden["hidden"] is True and hidden["moderation"]["hiddenReason"] == "rude"
    visible = titles(client.get(f"{PREFIX}/reviews?status=visible&sort=recent&order=asc", headers=admin(auth)))
    assert visible == ["once", "twice", "quiet", "beta"]
    assert len(titles(client.get(f"{PREFIX}/reviews", headers=admin(auth)))) == 5


def test_one_plugin_by_id_or_name(client, auth, queue):
    by_name = titles(client.get(f"{PREFIX}/reviews?status=reported&pluginId=alpha", headers=admin(auth)))
    assert by_name == ["twice", "once"]
    assert titles(client.get(f"{PREFIX}/reviews?status=reported&pluginId=plugin_1", headers=admin(auth))) == by_name
    assert titles(client.get(f"{PREFIX}/reviews?pluginId=nothing-like-it", headers=admin(auth))) == []


def test_pages(client, auth, queue):
    body = client.get(f"{PREFIX}/reviews?status=reported&limit=2&page=2", headers=admin(auth)).get_json()
    assert [item["title"] for item in body["data"]] == ["once"]
    assert body["pagination"]["total"] == 3 and body["pagination"]["hasPrevPage"] is True
    assert body["links"]["prev"] == f"{PREFIX}/reviews?page=1&limit=2&status=reported"


def test_a_review_of_an_unpublished_plugin_stays_in_the_queue(client, auth, queue, deliver):
    deliver("plugin.unpublished", {"pluginId": "plugin_2", "ownerId": "acct_owner"})
    assert "beta" in titles(client.get(f"{PREFIX}/reviews?status=reported", headers=admin(auth)))


@pytest.mark.parametrize("role", ["user", "publisher"])
def test_the_queue_is_for_administrators_only(client, auth, queue, role):
    response = client.get(f"{PREFIX}/reviews?status=reported", headers=auth("acct_bob", role=role))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "FORBIDDEN"
    anonymous = client.get(f"{PREFIX}/reviews?status=reported")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "UNAUTHORIZED"
    # The role is checked before the arguments: a bad one is still 403, not 400.
    assert client.get(f"{PREFIX}/reviews?status=nope", headers=auth("acct_bob", role=role)).status_code == 403


@pytest.mark.parametrize("query, field", [
    ("status=pending", "status"),
    ("sort=loudest", "sort"),
    ("order=up", "order"),
    ("page=0", "page"),
    ("limit=101", "limit"),
    ("page=99999999999999999999", "page"),
    ("pluginId=", "pluginId"),
    ("pluginId=" + "x" * 215, "pluginId"),
])
def test_bad_queue_arguments(client, auth, query, field):
    response = client.get(f"{PREFIX}/reviews?{query}", headers=admin(auth))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]["fields"]


# -- ?mine=true -----------------------------------------------------------------------------------------
def test_mine_finds_ones_own_review_among_many(client, auth, plugins):
    for number in range(12):
        review(client, auth, "plugin_1", f"acct_{number}", f"review {number}")
    own = review(client, auth, "plugin_1", "acct_ann", "my own")
    review(client, auth, "plugin_2", "acct_ann", "elsewhere")
    body = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=true", headers=auth("acct_ann")).get_json()
    assert [item["id"] for item in body["data"]] == [own]
    assert body["pagination"]["total"] == 1
    nobody = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=true", headers=auth("acct_new")).get_json()
    assert nobody["data"] == [] and nobody["pagination"]["total"] == 0
    everyone = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=false&limit=100", headers=auth("acct_ann")).get_json()
    assert everyone["pagination"]["total"] == 13


def test_mine_includes_ones_own_hidden_review(client, auth, plugins):
    own = review(client, auth, "plugin_1", "acct_ann", "hidden one")
    client.post(f"{PREFIX}/reviews/{own}/hide", headers=admin(auth))
    assert client.get(f"{PREFIX}/plugins/alpha/reviews", headers=auth("acct_ann")).get_json()["data"] == []
    mine = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=true", headers=auth("acct_ann")).get_json()["data"]
    assert [(item["id"], item["hidden"]) for item in mine] == [(own, True)]


def test_mine_needs_sign_in_and_a_boolean(client, auth, plugins):
    anonymous = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=true")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "UNAUTHORIZED"
    bad = client.get(f"{PREFIX}/plugins/alpha/reviews?mine=perhaps", headers=auth())
    assert bad.status_code == 400 and "mine" in bad.get_json()["error"]["details"]["fields"]
    missing = client.get(f"{PREFIX}/plugins/nope/reviews?mine=true", headers=auth())
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "PLUGIN_NOT_FOUND"
