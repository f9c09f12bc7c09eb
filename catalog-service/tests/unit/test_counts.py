"""The counting shortcuts (catalog_counts, public tag rows) agree with counting the plugins themselves."""

from catalog_testkit import API, create_plugin, published_plugin, upload_version
from sqlalchemy import func, select

from catalog_service import counts
from catalog_service.models import CatalogCount, Plugin, PluginTag


def totals(client, query: str) -> int:
    response = client.get(f"{API}/plugins?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["pagination"]["total"]


def slow_total(app, **filters) -> int:
    """The same filters counted over the plugins table, bypassing every shortcut."""
    with app.extensions["database"].session() as session:
        conditions = [Plugin.is_public.is_(True)]
        if "tag" in filters:
            conditions.append(Plugin.id.in_(select(PluginTag.plugin_id).where(PluginTag.tag == filters["tag"])))
        if "backstage" in filters:
            conditions.append(Plugin.compat_backstage.in_(filters["backstage"]))
        if "category" in filters:
            conditions.append(Plugin.category == filters["category"])
        return session.scalar(select(func.count()).select_from(Plugin).where(*conditions))


def test_counts_follow_publish_yank_unpublish_and_tag_edits(app, client, publisher):
    first = published_plugin(client, publisher, name="alpha", tags=["k8s", "ops"],
                             compatibility={"backstage": "^1.35.0", "node": ">=18"})
    published_plugin(client, publisher, name="beta", tags=["k8s"], compatibility={"backstage": "~1.20.0"})
    draft = create_plugin(client, publisher, name="gamma", tags=["k8s"])  # no version: not public
    assert totals(client, "") == 2 == slow_total(app)
    assert totals(client, "tags=k8s") == 2
    assert totals(client, "tags=k8s,ops") == 1
    assert totals(client, "compatibility=1.36.0") == 1 == slow_total(app, backstage=["^1.35.0"])
    # Later pages count on their own; pages past the end are empty with the exact total.
    for query, rows, total in (("page=2&limit=1", 1, 2), ("page=5", 0, 2), ("tags=k8s&page=3", 0, 2),
                               ("compatibility=1.36.0&page=2&limit=1", 0, 1), ("search=alpha&page=2", 0, 1)):
        body = client.get(f"{API}/plugins?{query}").get_json()
        assert (len(body["data"]), body["pagination"]["total"]) == (rows, total), query

    # A new version changes the declared range: the old range's count goes down, the new one's up.
    assert upload_version(client, publisher, first["id"], version="2.0.0",
                          compatibility={"backstage": "~1.20.0"}).status_code == 201
    assert totals(client, "compatibility=1.36.0") == 0
    assert totals(client, "compatibility=1.20.5") == 2 == slow_total(app, backstage=["~1.20.0"])

    # Yanking the only version takes beta out of every count, tags included.
    client.post(f"{API}/plugins/beta/versions/1.0.0/yank", json={"reason": "bad"}, headers=publisher)
    assert totals(client, "") == 1 == slow_total(app)
    assert totals(client, "tags=k8s") == 1 == slow_total(app, tag="k8s")

    # The draft becomes public with its tags; unpublishing alpha removes it again.
    assert upload_version(client, publisher, draft["id"]).status_code == 201
    assert totals(client, "tags=k8s") == 2 == slow_total(app, tag="k8s")
    client.post(f"{API}/plugins/alpha/unpublish", headers=publisher)
    assert totals(client, "") == 1 == slow_total(app)
    assert totals(client, "tags=ops") == 0
    client.patch(f"{API}/plugins/gamma", json={"tags": ["ops", "k8s"]}, headers=publisher)
    assert totals(client, "tags=ops") == 1 == slow_total(app, tag="ops")

    # Categories: a plugin moved to another one leaves the first count for the second.
    assert totals(client, "category=backend") == 1 == slow_total(app, category="backend")
    client.patch(f"{API}/plugins/gamma", json={"category": "monitoring"}, headers=publisher)
    assert totals(client, "category=backend") == 0 == slow_total(app, category="backend")
    assert totals(client, "category=monitoring") == 1 == slow_total(app, category="monitoring")

    # rebuild_counts (after bulk loads) gives the same rows as the running counts.
    with app.extensions["database"].session() as session:
        running = {(c.dimension, c.value): c.count for c in session.scalars(select(CatalogCount)) if c.count}
        counts.rebuild_counts(session)
        rebuilt = {(c.dimension, c.value): c.count for c in session.scalars(select(CatalogCount)) if c.count}
        session.rollback()
    assert running == rebuilt
