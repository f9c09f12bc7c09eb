"""Helpful votes, reports, and administrators hiding and restoring reviews."""

import pytest

PREFIX = "/api/marketplace/v1"


@pytest.fixture
def review_id(client, auth, plugin):
    response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), json={"rating": 4, "title": "Nice"})
    return response.get_json()["data"]["id"]


def admin(auth):
    return auth("acct_root", role="admin", name="Root", email="root@example.com")


def test_helpful_vote_counts_once_per_account(client, auth, review_id):
    first = client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth("acct_bob"))
    assert first.status_code == 200
    assert first.get_json()["data"]["helpful"] == 1
    again = client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth("acct_bob"))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "CONFLICT"
    assert again.get_json()["error"]["details"] == {"reason": "ALREADY_VOTED"}
    second = client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth("acct_cy"))
    assert second.get_json()["data"]["helpful"] == 2
    assert client.get(f"{PREFIX}/reviews/{review_id}").get_json()["data"]["helpful"] == 2


def test_nobody_votes_for_their_own_review(client, auth, review_id):
    response = client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "FORBIDDEN"
    assert response.get_json()["error"]["details"] == {"reason": "OWN_REVIEW"}
    assert client.get(f"{PREFIX}/reviews/{review_id}").get_json()["data"]["helpful"] == 0


def test_vote_needs_sign_in_and_an_existing_review(client, auth, review_id):
    assert client.post(f"{PREFIX}/reviews/{review_id}/helpful").status_code == 401
    missing = client.post(f"{PREFIX}/reviews/review_nope/helpful", headers=auth("acct_bob"))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "REVIEW_NOT_FOUND"


def test_report_once_per_account_and_not_ones_own(client, auth, review_id):
    response = client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth("acct_bob"), json={"reason": "spam"})
    assert response.status_code == 201
    assert response.get_json()["data"]["reviewId"] == review_id
    again = client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth("acct_bob"), json={"reason": "spam!"})
    assert again.status_code == 409 and again.get_json()["error"]["details"] == {"reason": "ALREADY_REPORTED"}
    own = client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth(), json={"reason": "oops"})
    assert own.status_code == 403
    client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth("acct_cy"), json={"reason": "rude"})
    seen_by_admin = client.get(f"{PREFIX}/reviews/{review_id}", headers=admin(auth)).get_json()["data"]
    assert seen_by_admin["moderation"]["reports"] == 2
    assert "moderation" not in client.get(f"{PREFIX}/reviews/{review_id}", headers=auth("acct_bob")).get_json()["data"]


@pytest.mark.parametrize("action", ["hide", "restore"])
def test_moderation_is_for_admins_only(client, auth, review_id, action):
    for role in ("user", "publisher"):
        response = client.post(f"{PREFIX}/reviews/{review_id}/{action}", headers=auth("acct_bob", role=role))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "FORBIDDEN"
    assert client.post(f"{PREFIX}/reviews/{review_id}/{action}").status_code == 401


def test_hidden_review_leaves_public_view_and_comes_back(client, auth, review_id, plugin):
    hidden = client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=admin(auth), json={"reason": "off-topic"})
    assert hidden.status_code == 200
    data = hidden.get_json()["data"]
    assert data["hidden"] is True
    assert data["moderation"]["hiddenReason"] == "off-topic" and data["moderation"]["hiddenBy"] == "acct_root"

    assert client.get(f"{PREFIX}/plugins/{plugin}/reviews").get_json()["data"] == []
    assert client.get(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth("acct_bob")).get_json()["data"] == []
    assert client.get(f"{PREFIX}/reviews/{review_id}").status_code == 404
    assert client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth("acct_bob")).status_code == 404
    # The author and administrators still see it.
    assert client.get(f"{PREFIX}/reviews/{review_id}", headers=auth()).get_json()["data"]["hidden"] is True
    listed = client.get(f"{PREFIX}/plugins/{plugin}/reviews", headers=admin(auth)).get_json()
    assert [review["id"] for review in listed["data"]] == [review_id]
    assert listed["pagination"]["total"] == 1

    restored = client.post(f"{PREFIX}/reviews/{review_id}/restore", headers=admin(auth))
    assert restored.status_code == 200
    assert restored.get_json()["data"]["hidden"] is False
    assert restored.get_json()["data"]["moderation"]["hiddenReason"] is None
    assert [r["id"] for r in client.get(f"{PREFIX}/plugins/{plugin}/reviews").get_json()["data"]] == [review_id]


def test_hiding_twice_and_restoring_a_visible_review_are_harmless(client, auth, review_id):
    assert client.post(f"{PREFIX}/reviews/{review_id}/restore", headers=admin(auth)).status_code == 200
    assert client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=admin(auth)).status_code == 200
    assert client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=admin(auth)).status_code == 200
    assert client.get(f"{PREFIX}/reviews/{review_id}", headers=admin(auth)).get_json()["data"]["hidden"] is True


def test_moderating_an_unknown_review_is_not_found(client, auth):
    assert client.post(f"{PREFIX}/reviews/review_nope/hide", headers=admin(auth)).status_code == 404
    assert client.post(f"{PREFIX}/reviews/review_nope/restore", headers=admin(auth)).status_code == 404
