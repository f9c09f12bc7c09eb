"""The error policy in the gateway: an account create that loses a unique-constraint race is 409, never 500."""

from marketplace_shared.testing import lose_insert_race

from ..conftest import ADMIN

API = "/api/marketplace/v1"


def test_two_creates_of_one_email_racing_give_409(client, monkeypatch):
    body = {"name": "Racer", "email": "racer@example.com", "role": "user"}
    lost = lose_insert_race(monkeypatch)
    raced = client.post(f"{API}/admin/accounts", json=body, headers=ADMIN)
    assert raced.status_code == 409 and len(lost) == 1
    assert raced.get_json()["error"]["code"] == "CONFLICT"
    assert client.post(f"{API}/admin/accounts", json=body, headers=ADMIN).status_code == 201
