"""Catalog and install events in; review.rating_changed out (outbox rows in the same transaction)."""

import pytest
from sqlalchemy import select

from marketplace_shared.contracts import violations
from marketplace_shared.events import new_event
from marketplace_shared.identity import Identity
from review_service import services
from review_service.models import Plugin

PREFIX = "/api/marketplace/v1"


def published(plugin_id="plugin_new", name="new-plugin"):
    return {"pluginId": plugin_id, "name": name, "displayName": "New", "ownerId": "acct_owner",
            "version": "1.0.0", "category": "tools"}


def known(database, plugin_id):
    with database.session() as session:
        return session.get(Plugin, plugin_id)


@pytest.fixture
def write(client, auth, plugin):
    def write(account="acct_ann", rating=5, **body):
        response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(account),
                               json={"rating": rating, **body})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]["id"]
    return write


# -- plugins ----------------------------------------------------------------
def test_published_plugin_becomes_reviewable_by_id_and_name(client, auth, deliver):
    assert client.post(f"{PREFIX}/plugins/plugin_new/reviews", headers=auth(), json={"rating": 4}).status_code == 404
    deliver("plugin.published", published())
    assert client.post(f"{PREFIX}/plugins/new-plugin/reviews", headers=auth(), json={"rating": 4}).status_code == 201


def test_unpublished_then_late_published_stays_unpublished(database, deliver):
    deliver("plugin.unpublished", {"pluginId": "plugin_new", "ownerId": "acct_owner"}, time="2026-01-01T10:00:01.000Z")
    deliver("plugin.published", published(), time="2026-01-01T10:00:00.000Z")
    plugin = known(database, "plugin_new")
    assert plugin.published is False
    assert plugin.name == "new-plugin"  # still learned from the older event


def test_republished_after_unpublished(database, deliver):
    deliver("plugin.published", published(), time="2026-01-01T10:00:00.000Z")
    deliver("plugin.unpublished", {"pluginId": "plugin_new", "ownerId": "acct_owner"}, time="2026-01-01T11:00:00.000Z")
    assert known(database, "plugin_new").published is False
    deliver("plugin.published", published(name="renamed"), time="2026-01-01T12:00:00.000Z")
    plugin = known(database, "plugin_new")
    assert plugin.published is True and plugin.name == "renamed"


def test_the_same_event_twice_is_handled_once(worker, deliver, database):
    event = deliver("plugin.published", published())
    assert worker.handle(event) is False
    assert known(database, "plugin_new").published is True


# -- installs -----------------------------------------------------------------
def installed(account="acct_ann", plugin_id="plugin_abc"):
    return {"pluginId": plugin_id, "version": "1.0.0", "installationId": "install_1", "environment": "production",
            "namespace": "default", "accountId": account}


def test_install_marks_existing_reviews_verified(client, deliver, write):
    review_id = write()
    other = write("acct_bob")
    deliver("plugin.installed", installed())
    assert client.get(f"{PREFIX}/reviews/{review_id}").get_json()["data"]["verifiedInstall"] is True
    assert client.get(f"{PREFIX}/reviews/{other}").get_json()["data"]["verifiedInstall"] is False


def test_install_before_review_marks_the_new_review(client, deliver, write):
    deliver("plugin.installed", installed())
    deliver("plugin.installed", installed())  # a second installation changes nothing
    assert client.get(f"{PREFIX}/reviews/{write()}").get_json()["data"]["verifiedInstall"] is True


def test_install_of_another_plugin_does_not_verify(client, deliver, write):
    deliver("plugin.installed", installed(plugin_id="plugin_other"))
    assert client.get(f"{PREFIX}/reviews/{write()}").get_json()["data"]["verifiedInstall"] is False


def test_install_without_an_account_is_ignored(worker, database):
    data = installed()
    del data["accountId"]
    # Off the contract on purpose: a malformed event is acked (no exception), not retried forever.
    event = new_event("plugin.installed", "install-service", data, data["pluginId"])
    assert violations(event) == ["data: 'accountId' is a required property"]
    assert worker.handle(event) is True
    from review_service.models import Installation

    with database.session() as session:
        assert session.scalars(select(Installation)).all() == []


# -- review.rating_changed ---------------------------------------------------
def test_every_aggregate_change_writes_a_sequenced_summary(client, auth, write, rating_events):
    first = write(rating=5, title="Top", review="Loved it")
    write("acct_bob", rating=4)
    write("acct_cy", rating=4)
    events = rating_events()
    assert [event["sequence"] for event in events] == [1, 2, 3]
    last = events[-1]
    assert last["pluginId"] == "plugin_abc"
    assert last["count"] == 3
    assert last["average"] == 4.33
    assert last["distribution"] == {"5": 1, "4": 2, "3": 0, "2": 0, "1": 0}
    assert list(last["distribution"]) == ["5", "4", "3", "2", "1"]
    top = last["topReviews"][-1]
    assert set(top) == {"id", "rating", "title", "review", "user", "createdAt", "helpful"}
    assert top["id"] == first and top["title"] == "Top" and top["review"] == "Loved it"
    assert set(top["user"]) == {"id", "name", "avatar"}


def test_edit_delete_hide_restore_each_write_a_summary(client, auth, write, rating_events):
    review_id = write(rating=5)
    write("acct_bob", rating=2)
    admin = auth("acct_root", role="admin")
    client.patch(f"{PREFIX}/reviews/{review_id}", headers=auth(), json={"rating": 3})
    assert rating_events()[-1]["average"] == 2.5
    client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=admin)
    hidden = rating_events()[-1]
    assert (hidden["count"], hidden["average"], hidden["distribution"]["3"]) == (1, 2.0, 0)
    assert review_id not in [review["id"] for review in hidden["topReviews"]]
    client.post(f"{PREFIX}/reviews/{review_id}/restore", headers=admin)
    assert rating_events()[-1]["count"] == 2
    client.delete(f"{PREFIX}/reviews/{review_id}", headers=auth())
    deleted = rating_events()[-1]
    assert (deleted["count"], deleted["average"]) == (1, 2.0)
    assert [event["sequence"] for event in rating_events()] == [1, 2, 3, 4, 5, 6]


def test_deleting_the_last_review_sends_an_empty_summary(client, auth, write, rating_events):
    client.delete(f"{PREFIX}/reviews/{write()}", headers=auth())
    last = rating_events()[-1]
    assert (last["count"], last["average"], last["topReviews"]) == (0, 0.0, [])
    assert last["distribution"] == {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}


def test_nothing_is_sent_when_the_summary_does_not_change(client, auth, write, rating_events):
    review_id = write(rating=5, title="Same")
    client.patch(f"{PREFIX}/reviews/{review_id}", headers=auth(), json={"title": "Same"})
    client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=auth("acct_root", role="admin"))
    client.post(f"{PREFIX}/reviews/{review_id}/hide", headers=auth("acct_root", role="admin"))
    client.post(f"{PREFIX}/reviews/{review_id}/report", headers=auth("acct_bob"), json={"reason": "spam"})
    assert [event["sequence"] for event in rating_events()] == [1, 2]


def test_helpful_votes_reorder_the_top_three(client, auth, write, rating_events):
    ids = [write(f"acct_{n}", rating=5) for n in "abcd"]  # a is the oldest
    assert [review["id"] for review in rating_events()[-1]["topReviews"]] == [ids[3], ids[2], ids[1]]
    client.post(f"{PREFIX}/reviews/{ids[0]}/helpful", headers=auth("acct_x"))
    client.post(f"{PREFIX}/reviews/{ids[0]}/helpful", headers=auth("acct_y"))
    top = rating_events()[-1]["topReviews"]
    assert [review["id"] for review in top] == [ids[0], ids[3], ids[2]]
    assert top[0]["helpful"] == 2
    assert len(rating_events()) == 6


def test_the_event_is_an_envelope_with_the_plugin_as_subject(database, write):
    write()
    from review_service.models import OutboxEvent

    with database.session() as session:
        row = session.scalars(select(OutboxEvent)).one()
    assert row.event_type == "review.rating_changed"
    assert row.payload["type"] == "review.rating_changed"
    assert row.payload["source"] == "review-service"
    assert row.payload["subject"] == "plugin_abc"
    assert row.payload["requestid"].startswith("req_")


def test_a_failed_request_writes_no_event(client, auth, write, rating_events):
    write()
    assert client.post(f"{PREFIX}/plugins/plugin_abc/reviews", headers=auth(), json={"rating": 1}).status_code == 409
    assert len(rating_events()) == 1


# -- pieces -------------------------------------------------------------------
@pytest.mark.parametrize("ratings, average", [([5, 4, 4], 4.33), ([5, 5, 4], 4.67), ([1, 2], 1.5),
                                               ([5, 5, 4, 4, 4, 4, 4, 3], 4.13)])
def test_average_is_rounded_half_up_to_two_decimals(database, deliver, ratings, average):
    deliver("plugin.published", published())
    with database.session() as session, session.begin():
        for n, rating in enumerate(ratings):
            services.create_review(session, Identity(id=f"acct_{n}", role="user"), "plugin_new", {"rating": rating})
        assert services.rating_summary(session, "plugin_new")["average"] == average


def test_avatar_without_an_email_uses_the_account_id():
    assert services.avatar_url("", "acct_1") == services.avatar_url("", "acct_1")
    assert services.avatar_url("", "acct_1") != services.avatar_url("", "acct_2")
    assert services.avatar_url("A@B.C", "acct_1") == services.avatar_url("a@b.c", "acct_2")
