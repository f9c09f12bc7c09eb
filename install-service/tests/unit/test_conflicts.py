"""The error policy in the install service: a lost unique-constraint race is 409, never a 500."""

import install_testkit as factories

from marketplace_shared.testing import lose_insert_race

PREFIX = "/api/marketplace/v1"


def test_two_creates_of_one_environment_racing_give_409(client, config, monkeypatch):
    admin = factories.headers(config, "acct_admin", "admin")
    body = {"name": "racing", "backstageVersion": "1.35.0", "nodeVersion": "20.11.0"}
    lost = lose_insert_race(monkeypatch)
    raced = client.post(f"{PREFIX}/environments", json=body, headers=admin)
    assert raced.status_code == 409 and len(lost) == 1
    assert raced.get_json()["error"]["code"] in ("CONFLICT", "ENVIRONMENT_EXISTS")
    assert client.post(f"{PREFIX}/environments", json=body, headers=admin).status_code == 201


def test_an_install_losing_a_race_gives_409(client, config, catalog, monkeypatch):
    plugin = catalog.publish("racer")
    admin = factories.headers(config, "acct_admin", "admin")
    assert client.post(f"{PREFIX}/environments", json={"name": "dev", "backstageVersion": "1.35.0",
                                                       "nodeVersion": "20.11.0"}, headers=admin).status_code == 201
    lost = lose_insert_race(monkeypatch)  # the installation's insert is the one that loses
    raced = client.post(f"{PREFIX}/plugins/{plugin}/install", json={"environment": "dev"},
                        headers={**factories.headers(config), "Idempotency-Key": "race-1"})
    assert raced.status_code == 409 and len(lost) == 1, raced.get_json()
    assert raced.get_json()["error"]["code"] in ("CONFLICT", "ALREADY_INSTALLED", "IDEMPOTENCY_KEY_REUSED")
