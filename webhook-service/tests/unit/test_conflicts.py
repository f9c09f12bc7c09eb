"""The error policy in the webhook service: a lost unique-constraint race is 409, never a 500."""

from marketplace_shared.testing import lose_insert_race

PREFIX = "/api/marketplace/v1"


def test_a_registration_losing_a_race_gives_409(client, auth, monkeypatch):
    body = {"url": "https://hooks.example.com/hook", "events": ["plugin.installed"]}
    lost = lose_insert_race(monkeypatch)
    raced = client.post(f"{PREFIX}/webhooks", json=body, headers=auth())
    assert raced.status_code == 409 and len(lost) == 1
    error = raced.get_json()["error"]
    assert error["code"] == "CONFLICT" and "winners" not in error["message"]
    assert client.post(f"{PREFIX}/webhooks", json=body, headers=auth()).status_code == 201
