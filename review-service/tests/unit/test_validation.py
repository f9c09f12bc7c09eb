"""Bad input is a 400 VALIDATION_ERROR naming the field, never a 500."""

import pytest

PREFIX = "/api/marketplace/v1"


def assert_invalid(response, field):
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]
    assert field in error["message"]


@pytest.mark.parametrize("body, field", [
    ({"rating": 0}, "rating"),
    ({"rating": 6}, "rating"),
    ({"rating": -1}, "rating"),
    ({"rating": 4.5}, "rating"),
    ({"rating": 4.0}, "rating"),
    ({"rating": "5"}, "rating"),
    ({"rating": True}, "rating"),
    ({"rating": None}, "rating"),
    ({"title": "no rating"}, "rating"),
    ({"rating": 5, "title": "x" * 121}, "title"),
    ({"rating": 5, "review": "x" * 5001}, "review"),
    ({"rating": 5, "title": 7}, "title"),
    ({"rating": 5, "review": ["a"]}, "review"),
    ({"rating": 5, "stars": 5}, "stars"),
    ({"rating": 5, "helpful": 100}, "helpful"),
])
def test_bad_review_bodies(client, auth, plugin, body, field):
    assert_invalid(client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), json=body), field)


def test_limits_themselves_are_accepted(client, auth, plugin):
    body = {"rating": 1, "title": "x" * 120, "review": "y" * 5000}
    assert client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), json=body).status_code == 201


@pytest.mark.parametrize("data", ["not json", "[1, 2]"])
def test_body_that_is_not_an_object(client, auth, plugin, data):
    response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), data=data,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.fixture
def review_id(client, auth, plugin):
    response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), json={"rating": 4})
    return response.get_json()["data"]["id"]


@pytest.mark.parametrize("body, field", [
    ({"rating": 9}, "rating"),
    ({"rating": 2.5}, "rating"),
    ({"rating": False}, "rating"),
    ({"title": "x" * 121}, "title"),
    ({"review": "x" * 5001}, "review"),
    ({"verifiedInstall": True}, "verifiedInstall"),
    ({}, "_schema"),
])
def test_bad_edits(client, auth, review_id, body, field):
    assert_invalid(client.patch(f"{PREFIX}/reviews/{review_id}", headers=auth(), json=body), field)


@pytest.mark.parametrize("body, field", [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "x" * 1001}, "reason"),
    ({"reason": "spam", "extra": 1}, "extra"),
])
def test_bad_reports(client, auth, review_id, body, field):
    assert_invalid(client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth("acct_bob"), json=body), field)


def test_bad_hide_body(client, auth, review_id):
    response = client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=auth("acct_root", role="admin"),
                           json={"why": "spam"})
    assert_invalid(response, "why")


@pytest.mark.parametrize("query, field", [
    ("sort=stars", "sort"),
    ("order=up", "order"),
    ("rating=6", "rating"),
    ("rating=x", "rating"),
    ("limit=101", "limit"),
    ("page=0", "page"),
])
def test_bad_list_queries(client, plugin, query, field):
    assert_invalid(client.get(f"{PREFIX}/plugins/{plugin}/reviews?{query}"), field)
