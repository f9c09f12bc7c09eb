"""The catalog on real PostgreSQL (tsvector + GIN, pg_trgm) and RabbitMQ (events in, outbox out)."""

import threading

import pika
import pytest
from catalog_testkit import API, anonymous_headers, headers_for, published_plugin
from sqlalchemy import text

from catalog_service.app import create_app
from catalog_service.config import Config
from catalog_service.migrate import migrate
from catalog_service.worker import build_worker
from marketplace_shared.broker import EventPublisher
from marketplace_shared.contracts import contract_event, violations
from marketplace_shared.testing import (
    AMQP_URL,
    delete_broker_objects,
    temporary_postgres_database,
    unique_name,
    wait_for,
)


@pytest.fixture(scope="module")
def pg_url():
    with temporary_postgres_database("catalog_itest") as url:
        migrate(Config(DATABASE_URL=url))
        yield url


@pytest.fixture(scope="module")
def pg_app(pg_url, tmp_path_factory):
    config = Config(DATABASE_URL=pg_url, ARTIFACT_ROOT=str(tmp_path_factory.mktemp("artifacts")))
    app = create_app(config)
    client = app.test_client()
    publisher = headers_for(config)
    published_plugin(client, publisher, name="kubernetes", displayName="Kubernetes", tags=["k8s"],
                     description="Kubernetes workloads", compatibility={"backstage": "^1.35.0", "node": ">=18"})
    published_plugin(client, publisher, name="kubernetes-argocd", displayName="Argo CD for Kubernetes",
                     tags=["kubernetes", "gitops"], description="Argo CD syncs kubernetes kubernetes",
                     compatibility={"backstage": ">=1.20.0 <1.30.0", "node": ">=20"})
    published_plugin(client, publisher, name="cost-insights", displayName="Cost Insights", tags=["cost"],
                     description="Cloud costs, also for kubernetes clusters", category="monitoring",
                     compatibility={"backstage": "^1.36.0", "node": ">=18"})
    published_plugin(client, publisher, name="techdocs", displayName="TechDocs", tags=["docs"],
                     description="Documentation as code", category="documentation")
    yield config, app, client
    app.extensions["database"].dispose()


def search(client, config, body):
    response = client.post(f"{API}/plugins/search", json=body, headers=anonymous_headers(config))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_search_ranks_exact_name_first_then_name_over_description(pg_app):
    config, _app, client = pg_app
    body = search(client, config, {"query": "kubernetes"})
    assert [p["name"] for p in body["data"]] == ["kubernetes", "kubernetes-argocd", "cost-insights"]
    assert body["pagination"]["total"] == 3


def test_search_tolerates_typos_and_prefixes(pg_app):
    config, _app, client = pg_app
    assert [p["name"] for p in search(client, config, {"query": "kubernets"})["data"]][0] == "kubernetes"
    assert [p["name"] for p in search(client, config, {"query": "techdoc"})["data"]] == ["techdocs"]
    assert search(client, config, {"query": "qqqzzz"})["data"] == []


def test_a_name_the_query_parser_splits_is_still_found(pg_app):
    # PostgreSQL's parser reads '425e31c0de' alone as '425e31' <-> 'c0de', but keeps it whole inside the name.
    config, _app, client = pg_app
    plugin = published_plugin(client, headers_for(config), name="sdk-425e31c0de", description="Hex named")
    for query in ("sdk-425e31c0de", "425e31c0de", "sdk 425e31"):
        assert [p["id"] for p in search(client, config, {"query": query})["data"]] == [plugin["id"]], query
    listed = client.get(f"{API}/plugins?search=sdk-425e31c0de&category=backend").get_json()
    assert [p["id"] for p in listed["data"]] == [plugin["id"]]
    assert client.post(f"{API}/plugins/{plugin['id']}/unpublish", headers=headers_for(config)).status_code == 200


def test_search_and_list_filters_on_postgres(pg_app):
    config, _app, client = pg_app
    body = search(client, config, {"query": "kubernetes", "filters": {"compatibility": {"backstage": "1.36.0"}},
                                   "sort": {"field": "name", "order": "asc"}})
    assert [p["name"] for p in body["data"]] == ["cost-insights", "kubernetes"]
    listed = client.get(f"{API}/plugins?search=kubernetes&category=monitoring").get_json()
    assert [p["name"] for p in listed["data"]] == ["cost-insights"] and listed["pagination"]["total"] == 1
    # Past the last page: no rows, the exact total all the same; a typo with a filter finds its plugin.
    listed = client.get(f"{API}/plugins?search=kubernetes&category=monitoring&page=5").get_json()
    assert listed["data"] == [] and listed["pagination"]["total"] == 1
    listed = client.get(f"{API}/plugins?search=kubernets&category=monitoring").get_json()
    assert [p["name"] for p in listed["data"]] == ["cost-insights"] and listed["pagination"]["total"] == 1
    listed = client.get(f"{API}/plugins?compatibility=1.25.0&sort=name&order=asc").get_json()
    assert [p["name"] for p in listed["data"]] == ["kubernetes-argocd"]
    listed = client.get(f"{API}/plugins?tags=k8s").get_json()
    assert [p["name"] for p in listed["data"]] == ["kubernetes"]
    counts = {c["name"]: c["count"] for c in client.get(f"{API}/categories").get_json()["data"]}
    assert counts == {"backend": 2, "monitoring": 1, "documentation": 1}


def test_facets_of_words_and_of_their_typos_on_postgres(pg_app):
    """Facets filter by the words' tsquery (built once per number of words, its values bound per request), and
    by the words' near misses when the words themselves match nothing."""
    config, _app, client = pg_app
    for query in ("kubernetes", "kubernets", "kubernetes workloads"):
        body = search(client, config, {"query": query, "facets": True, "pagination": {"limit": 100}})
        categories = {item["value"]: item["count"] for item in body["facets"]["category"]}
        found = [plugin["category"] for plugin in body["data"]]
        assert categories == {category: found.count(category) for category in set(found)}, query
        assert sum(categories.values()) == body["pagination"]["total"] > 0, query
    nothing = search(client, config, {"query": "zzzqqq", "facets": True})
    assert nothing["pagination"]["total"] == 0 and nothing["facets"]["category"] == []


def test_words_matched_exactly_find_what_their_prefixes_find(pg_app, monkeypatch):
    """Several words are matched by the catalog's words each one is a prefix of (GIN intersects exact entries
    cheaply): the same plugins, order, totals and facets as by their prefixes, with and without filters, for typos, for
    words with digits, for a prefix standing for too many words, and for a word no plugin holds."""
    from catalog_service import fts_postgres

    config, app, client = pg_app
    queries = ["kube work", "kubernetes clust", "argo sync", "cost kube", "kubernets workloads", "zzzq kube",
               "k8s kube", "cloud costs", "docu code"]
    bodies = [{"query": query, **extra} for query in queries for extra in (
        {}, {"filters": {"categories": ["backend", "monitoring"]}}, {"sort": {"field": "name", "order": "asc"}})]

    def found(body):
        result = search(client, config, {**body, "facets": True, "pagination": {"limit": 100}})
        return [plugin["name"] for plugin in result["data"]], result["pagination"]["total"], result["facets"]

    exactly = [found(body) for body in bodies]
    with monkeypatch.context() as patched:
        patched.setattr(fts_postgres, "_words_of_prefixes", lambda _session, _words: {})  # prefixes alone
        by_prefixes = [found(body) for body in bodies]
    with monkeypatch.context() as patched:
        patched.setattr(fts_postgres, "EXACT_WORDS", 0)  # every prefix of the catalog stands for too many words
        too_many = [found(body) for body in bodies]
    assert exactly == by_prefixes == too_many
    assert exactly[0][:2] == (["kubernetes"], 1)  # "kube work", no filter
    assert sum(total for _names, total, _facets in exactly) > 10
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            words = fts_postgres._postgres_tsquery(session, "kube zzzq k8s", fuzzy=False)
        finally:
            session.close()
    assert words.exact == (True, True, False) and not words.matchable  # no word of the catalog starts with zzzq
    assert words.params["exact_0"] == "'kubernetes'"


def test_list_pages_are_planned_once_per_connection(pg_app):
    """The page statement carries its LIMIT/OFFSET as literals, so PostgreSQL runs the prepared statement with
    its generic plan instead of planning it again on every request (a parameter LIMIT made every generic plan
    look dearer than a custom one)."""
    from catalog_service import listing

    _config, app, _client = pg_app
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            for _ in range(14):  # psycopg prepares after 5 runs; PostgreSQL plans the first 5 of those anew
                rows, total = listing.query_plugins(session, categories=["monitoring"], sort="rating", order="desc")
                assert total == 1 and [row.name for row in rows] == ["cost-insights"]
            plans = session.execute(text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%FROM plugins%LIMIT 20%'")).all()
        finally:
            session.close()
    assert plans and all(generic > 0 for generic, _custom in plans), plans


def test_the_sort_indexes_carry_the_filter_columns(pg_app):
    """Migration 0009: a filtered page's ids (a tag's rows' too) can come from its sort index alone (an index-only
    scan tests the plugins the sort walks past in the index), and every sort still gives the right page."""
    from catalog_service import listing
    from catalog_service.catalog_sql import SORTS, Shape

    _config, app, client = pg_app
    filters = {"category", "verified", "featured", "rating_average", "price", "compat_backstage", "compat_node"}
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            definitions = dict(session.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ('ix_plugins_public_popularity', "
                "'ix_plugins_public_rating', 'ix_plugins_public_updated', 'ix_plugins_public_name', "
                "'ix_plugin_tags_popularity')")).all())
            shape = Shape(categories=False, tags=0, verified=True, featured=False, min_rating=True, max_price=False,
                          backstage=False, node=False)
            pages = {sort: [row.name for row in session.execute(listing._page(shape, sort, "asc", True, True), {
                "verified": False, "min_rating": 0.0, "offset": 0, "limit": 20})] for sort in SORTS}
        finally:
            session.close()
    assert len(definitions) == 5
    for definition in definitions.values():
        carried = set(definition.partition(" (")[2].replace(") INCLUDE (", ", ").partition(")")[0].split(", "))
        assert filters <= carried and ({"id", "plugin_id"} & carried), definition
    listed = {sort: [plugin["name"] for plugin in client.get(f"{API}/plugins", query_string={
        "verified": "false", "minRating": "0", "sort": sort, "order": "asc"}).get_json()["data"]] for sort in SORTS}
    assert pages == listed and pages["name"] == sorted(pages["name"]) and len(pages["name"]) == 4


def test_a_tag_with_verified_has_its_own_index_range(pg_app):
    """Migration 0010: a tag's verified (or unverified) plugins are one range of ix_plugin_tags_verified, in
    popularity order with the other filters in the entries, so that a page and its exact total read only them
    (at 100,000 plugins PostgreSQL takes it: `kubernetes` + verified reads 1,731 entries instead of 16,460)."""
    _config, app, client = pg_app
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            definition = session.scalar(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_plugin_tags_verified'"))
        finally:
            session.close()
    assert "plugin_tags USING btree (tag, verified, popularity, plugin_id) INCLUDE (category, featured, " \
           "rating_average, price, compat_backstage, compat_node) WHERE public" in definition, definition
    for verified, names in (("true", []), ("false", ["kubernetes-argocd"])):
        listed = client.get(f"{API}/plugins?tags=kubernetes&verified={verified}&sort=popularity").get_json()
        assert [p["name"] for p in listed["data"]] == names and listed["pagination"]["total"] == len(names)


def test_rating_event_through_the_broker_moves_the_rating(pg_app):
    config, app, client = pg_app
    prefix = unique_name("catalog_itest") + "."
    worker_config = Config(DATABASE_URL=config.DATABASE_URL, EVENT_PREFIX=prefix,
                           EVENT_EXCHANGE=prefix + "marketplace.events", CONSUMER_RETRY_DELAY_MS=100)
    worker = build_worker(worker_config)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        wait_for(lambda: worker.ready, message="worker connected")
        plugin = client.get(f"{API}/plugins/techdocs").get_json()["data"]
        event = contract_event("review.rating_changed", {
            "pluginId": plugin["id"], "sequence": 1, "average": 4.5, "count": 2,
            "distribution": {"5": 1, "4": 1, "3": 0, "2": 0, "1": 0}, "topReviews": []}, plugin["id"])
        EventPublisher(connection, worker_config.EVENT_EXCHANGE).publish(event)

        def rated():
            data = client.get(f"{API}/plugins/techdocs").get_json()["data"]["rating"]
            return data if data["count"] == 2 else None

        rating = wait_for(rated, message="rating applied")
        assert rating["average"] == 4.5 and rating["distribution"]["4"] == 1
        listed = client.get(f"{API}/plugins?minRating=4").get_json()
        assert [p["name"] for p in listed["data"]] == ["techdocs"]
    finally:
        worker.stopping = True
        thread.join(timeout=10)
        connection.close()
        worker.database.dispose()
        delete_broker_objects(prefix, [worker_config.queue_name], worker_config.EVENT_EXCHANGE)


def test_outbox_rows_read_back_from_postgresql_match_the_contract(pg_app):
    config, app, _client = pg_app
    from sqlalchemy import select

    from catalog_service.models import OutboxEvent

    with app.extensions["database"].session() as session:
        payloads = [row.payload for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert {"plugin.published", "plugin.version_published"} <= {payload["type"] for payload in payloads}
    for payload in payloads:
        assert violations(payload) == [], payload
