import hashlib

from sqlalchemy import select

from gateway import services
from gateway.models import ApiKey
from marketplace_shared.db import Database

from ..conftest import ADMIN, make_account


def test_a_new_key_has_the_prefix_and_a_valid_checksum():
    key = services.generate_api_key()
    assert key.startswith("mkp_") and len(key) == services.KEY_LENGTH
    assert services.is_well_formed_key(key)
    assert services.generate_api_key() != key


def test_the_checksum_catches_a_single_changed_character():
    key = services.generate_api_key()
    for position in (4, 20, len(key) - 1):
        replacement = "a" if key[position] != "a" else "b"
        assert not services.is_well_formed_key(key[:position] + replacement + key[position + 1:])
    assert not services.is_well_formed_key(key[:-1])
    assert not services.is_well_formed_key("xyz_" + key[4:])
    assert not services.is_well_formed_key(key[:10] + "-" + key[11:])


def test_hashing_is_sha256_and_deterministic():
    key = services.generate_api_key()
    assert services.hash_key(key) == hashlib.sha256(key.encode()).hexdigest() == services.hash_key(key)
    assert key not in services.hash_key(key)


def test_the_key_is_shown_once_and_only_its_hash_is_stored(client, config):
    account, headers = make_account(client)
    plaintext = headers["X-API-Key"]
    database = Database(config.DATABASE_URL)
    with database.session() as session:
        rows = session.scalars(select(ApiKey).where(ApiKey.account_id == account["id"])).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.key_hash == services.hash_key(plaintext)
        assert all(plaintext not in str(value) for value in vars(row).values())
        assert plaintext.startswith(row.prefix) and len(row.prefix) < 16
    listed = client.get(f"/api/marketplace/v1/admin/accounts/{account['id']}/api-keys", headers=ADMIN).get_json()
    assert [key["id"] for key in listed["data"]] == [row.id]
    assert "key" not in listed["data"][0] and listed["data"][0]["status"] == "active"
    database.dispose()


def test_touch_key_writes_at_most_once_per_interval(app, config):
    from datetime import timedelta

    from gateway.models import utcnow

    client = app.test_client()
    _account, headers = make_account(client)
    database = Database(config.DATABASE_URL)
    with database.session() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == services.hash_key(headers["X-API-Key"])))
    now = utcnow() + timedelta(hours=1)
    for offset, written in ((0, True), (30, False), (61, True)):
        with database.session() as session, session.begin():
            assert services.touch_key(session, key_id, now + timedelta(seconds=offset), 60) is written
    database.dispose()
