"""The error policy in the review service: a lost unique-constraint race is 409, never a 500."""

from marketplace_shared.testing import lose_insert_race

PREFIX = "/api/marketplace/v1"


def test_two_reviews_by_one_account_racing_give_409(client, auth, plugin, monkeypatch):
    body = {"rating": 4, "title": "Fine", "review": "Works"}
    lost = lose_insert_race(monkeypatch)  # the same account's other request inserted its review first
    raced = client.post(f"{PREFIX}/plugins/{plugin}/reviews", json=body, headers=auth())
    assert raced.status_code == 409 and len(lost) == 1
    assert raced.get_json()["error"]["code"] == "CONFLICT"
    assert client.post(f"{PREFIX}/plugins/{plugin}/reviews", json=body, headers=auth()).status_code == 201


def test_a_vote_racing_another_gives_409(client, auth, plugin, monkeypatch):
    created = client.post(f"{PREFIX}/plugins/{plugin}/reviews", json={"rating": 5, "title": "A", "review": "B"},
                          headers=auth("acct_author"))
    review_id = created.get_json()["data"]["id"]
    lose_insert_race(monkeypatch)
    raced = client.post(f"{PREFIX}/reviews/{review_id}/helpful", headers=auth("acct_voter"))
    assert raced.status_code == 409 and raced.get_json()["error"]["code"] == "CONFLICT"
