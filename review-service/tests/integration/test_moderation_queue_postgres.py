"""The administrators' queue and ?mine=true on real PostgreSQL (the join, counts and orderings)."""

import pytest

from marketplace_shared.clock import utcnow
from marketplace_shared.testing import identity_headers, temporary_postgres_database
from review_service import services
from review_service.app import create_app
from review_service.config import Config
from review_service.migrate import migrate

PREFIX = "/api/marketplace/v1"


@pytest.fixture
def app():
    with temporary_postgres_database() as url:
        config = Config(DATABASE_URL=url)
        migrate(config)
        app = create_app(config)
        with app.extensions["database"].session() as session:
            for number, name in ((1, "alpha"), (2, "beta")):
                services.plugin_published(session, {"pluginId": f"plugin_{number}", "name": name,
                                                     "displayName": name.title()}, utcnow())
            session.commit()
        try:
            yield app
        finally:
            app.extensions["database"].dispose()


def as_(app, account_id, role="user"):
    return identity_headers(app.config["INTERNAL_TOKEN_SECRET"], account_id, role, name=account_id)


def test_queue_and_own_review_on_postgresql(app):
    client = app.test_client()
    ids = {}
    for plugin, author, reporters in (("plugin_1", "acct_a", 1), ("plugin_1", "acct_b", 2), ("plugin_2", "acct_a", 3),
                                      ("plugin_2", "acct_c", 0)):
        response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=as_(app, author), json={"rating": 2})
        assert response.status_code == 201, response.get_json()
        ids[(plugin, author)] = response.get_json()["data"]["id"]
        for number in range(reporters):
            assert client.post(f"{PREFIX}/reviews/{ids[(plugin, author)]}/report", headers=as_(app, f"acct_r{number}"),
                               json={"reason": "spam"}).status_code == 201
    admin = as_(app, "acct_root", "admin")
    body = client.get(f"{PREFIX}/reviews?status=reported&limit=2", headers=admin).get_json()
    assert [(item["plugin"]["name"], item["moderation"]["reports"]) for item in body["data"]] == [("beta", 3),
                                                                                                 ("alpha", 2)]
    assert body["pagination"]["total"] == 3 and body["pagination"]["hasNextPage"] is True
    by_name = client.get(f"{PREFIX}/reviews?pluginId=beta&sort=recent&order=asc", headers=admin).get_json()
    assert [item["id"] for item in by_name["data"]] == [ids[("plugin_2", "acct_a")], ids[("plugin_2", "acct_c")]]
    mine = client.get(f"{PREFIX}/plugins/beta/reviews?mine=true", headers=as_(app, "acct_c")).get_json()
    assert [item["id"] for item in mine["data"]] == [ids[("plugin_2", "acct_c")]]
