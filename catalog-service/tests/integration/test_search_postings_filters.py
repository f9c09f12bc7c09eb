"""A one-word search with filters, by popularity or rating, comes from search_postings on PostgreSQL (migration
0007: the postings carry the filter columns): the same pages and exact totals as the plugins' tsvector, before
and after the filter columns of a plugin change (through the triggers). So does the total of a tag with other
filters, counted from plugin_tags (migration 0008)."""

import itertools

import pytest
from catalog_testkit import API, anonymous_headers, postgres_catalog, published_plugin, upload_version, write
from sqlalchemy import text

from catalog_service import fts_postgres

PLUGINS = {  # name -> (category, backstage range, description)
    "grafana-alerts": ("monitoring", "^1.35.0", "Alerts from dashboards"),
    "grafana-boards": ("observability", "~1.20.0", "Boards for teams"),
    "grafanalytics": ("monitoring", "^1.35.0", "Analytics"),  # `grafana` is a prefix of its name
    "loki-logs": ("observability", "^1.35.0", "Logs next to grafana panels"),
    "vault-secrets": ("security", "^1.35.0", "Secrets"),
    "loki": ("security", "^1.35.0", "Queries"),  # named as a word: first by relevance
}
FILTERS = [
    {},
    {"categories": ["monitoring"]},
    {"categories": ["monitoring", "observability"], "minRating": 3},
    {"compatibility": {"backstage": "1.36.0"}},
    {"compatibility": {"backstage": "^1.35.0", "node": ">=18.0.0"}},
    {"verified": True},
    {"featured": False, "maxPrice": 0},
    {"tags": ["dashboards"]},
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("artifacts")
    with postgres_catalog("catalog_postings_filters", artifacts) as (config, app, client, publisher):
        plugins = {}
        for name, (category, backstage, description) in PLUGINS.items():
            plugins[name] = published_plugin(client, publisher, name=name, category=category, description=description,
                                             tags=["dashboards"] if "board" in description.lower() else [],
                                             compatibility={"backstage": backstage, "node": ">=18.0.0"})
        for index, name in enumerate(PLUGINS):  # distinct ratings and popularities, ties broken by id
            write(app, "UPDATE plugins SET rating_average = :rating, rating_count = :count, popularity = :popularity "
                  "WHERE name = :name", rating=[4.5, 3.0, 4.5, 2.0, 5.0, 1.0][index], count=index,
                  popularity=[10, 30, 20, 30, 5, 1][index], name=name)
        yield config, app, client, publisher, plugins


def search(client, config, query, filters, sort, order, page=1, limit=2):
    response = client.post(f"{API}/plugins/search", headers=anonymous_headers(config),
                           json={"query": query, "filters": filters, "sort": {"field": sort, "order": order},
                                 "pagination": {"page": page, "limit": limit}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [p["name"] for p in body["data"]], body["pagination"]["total"]


def every_page(client, config, query, filters, sort, order):
    pages = [search(client, config, query, filters, sort, order, page) for page in range(1, 5)]
    return [name for names, _total in pages for name in names], {total for _names, total in pages}


def assert_same_as_the_tsvector(monkeypatch, client, config, queries=("grafana", "graf", "logs", "zzzqqq")):
    for query, filters, sort, order in itertools.product(queries, FILTERS, fts_postgres.POSTED_SORTS,
                                                         ("asc", "desc")):
        from_postings = every_page(client, config, query, filters, sort, order)
        with monkeypatch.context() as patched:  # the tsvector path, as for every other sort
            patched.setattr(fts_postgres, "POSTED_SORTS", ())
            from_tsvector = every_page(client, config, query, filters, sort, order)
        assert from_postings == from_tsvector, (query, filters, sort, order)
        names, totals = from_postings
        assert totals == {len(names)}  # every page gives the exact total, past the end too


def test_filtered_words_find_what_the_tsvector_finds(catalog, monkeypatch):
    config, _app, client, _publisher, _plugins = catalog
    assert_same_as_the_tsvector(monkeypatch, client, config)
    filters = {"compatibility": {"backstage": "^1.35.0", "node": ">=18.0.0"}}
    assert search(client, config, "grafana", filters, "rating", "desc", limit=10) == (
        ["grafanalytics", "grafana-alerts", "loki-logs"], 3)  # equal ratings: more reviews first
    # A typo matches nothing: the near misses, filtered, as on the tsvector path.
    assert search(client, config, "grafanna", {"categories": ["monitoring"]}, "popularity", "desc",
                  limit=10) == (["grafanalytics", "grafana-alerts"], 2)


def test_a_word_has_its_postings_in_each_sort_order(catalog):
    """Migration 0011: a word's public postings in popularity and in rating order, each index with every filter
    and sort column, so that a one-word page stops after its page (the total counts the same range)."""
    _config, app, _client, _publisher, _plugins = catalog
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            definitions = dict(session.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_postings'")).all())
        finally:
            session.close()
    carried = "category, verified, featured, price, compat_backstage, compat_node) WHERE is_public"
    assert definitions["ix_search_postings_popularity"].endswith(
        f"(term, popularity, plugin_id) INCLUDE (rating_average, rating_count, {carried}")
    assert definitions["ix_search_postings_rating"].endswith(
        f"(term, rating_average, rating_count, plugin_id) INCLUDE (popularity, {carried}")
    assert "ix_search_postings_filters" not in definitions  # 0007's index, which both replace


def test_filter_columns_follow_the_plugins(catalog, monkeypatch):
    config, app, client, publisher, plugins = catalog
    write(app, "UPDATE plugins SET rating_average = 1.0, category = 'security', verified = true, featured = true, "
          "price = 5 WHERE name = 'grafana-alerts'")
    write(app, "UPDATE plugins SET popularity = 1000 WHERE name = 'loki-logs'")
    response = upload_version(client, publisher, plugins["grafana-boards"]["id"], version="2.0.0",
                              compatibility={"backstage": "^1.35.0", "node": ">=18.0.0"})
    assert response.status_code == 201, response.get_json()
    assert search(client, config, "grafana", {"verified": True}, "rating", "desc") == (["grafana-alerts"], 1)
    assert search(client, config, "grafana", {"categories": ["security"]}, "popularity", "desc") == (
        ["grafana-alerts"], 1)
    assert search(client, config, "grafana", {"compatibility": {"backstage": "1.36.0"}}, "popularity", "desc",
                  limit=10)[1] == 4
    assert_same_as_the_tsvector(monkeypatch, client, config, queries=("grafana",))
    # Unpublished, then published again.
    plugin_id = plugins["grafanalytics"]["id"]
    assert client.post(f"{API}/plugins/{plugin_id}/unpublish", headers=publisher).status_code == 200
    assert "grafanalytics" not in search(client, config, "graf", {"categories": ["monitoring"]}, "rating", "desc",
                                         limit=10)[0]
    assert client.post(f"{API}/plugins/{plugin_id}/publish", headers=publisher).status_code == 200
    assert_same_as_the_tsvector(monkeypatch, client, config, queries=("graf",))


def tag_totals(app, client, config) -> list[tuple]:
    """(total from the API, the plugins counted one by one) for a tag with each other filter."""
    found = []
    for filters in FILTERS[1:-1]:
        body = {"filters": {**filters, "tags": ["dashboards"]}, "sort": {"field": "popularity"}}
        response = client.post(f"{API}/plugins/search", headers=anonymous_headers(config), json=body)
        assert response.status_code == 200, response.get_json()
        names = [p["name"] for p in client.post(f"{API}/plugins/search", headers=anonymous_headers(config), json={
            **body, "filters": {key: value for key, value in body["filters"].items() if key != "tags"},
            "pagination": {"limit": 100}}).get_json()["data"]]
        with app.app_context():
            session = app.extensions["database"].read_session()
            try:
                tagged = session.scalar(text("SELECT count(*) FROM plugin_tags t JOIN plugins p ON p.id = t.plugin_id "
                                             "WHERE t.tag = 'dashboards' AND p.is_public AND p.name = ANY(:names)"),
                                        {"names": names})
            finally:
                session.close()
        found.append((response.get_json()["pagination"]["total"], tagged))
    return found


def test_a_tag_with_filters_is_counted_from_its_rows(catalog):
    config, app, client, _publisher, _plugins = catalog
    before = tag_totals(app, client, config)
    assert all(api == counted for api, counted in before), before
    assert any(counted for _api, counted in before)
    # The filter columns of the tag rows follow the plugins.
    write(app, "UPDATE plugins SET verified = NOT verified, category = 'monitoring', rating_average = 4.9, "
          "compat_node = '>=20' WHERE name = 'grafana-boards'")
    after = tag_totals(app, client, config)
    assert all(api == counted for api, counted in after), after
    assert after != before


def test_the_plugin_named_as_the_word_comes_first_on_every_page(catalog):
    config, _app, client, _publisher, _plugins = catalog
    pages = [search(client, config, "loki", {}, "relevance", "desc", page=page, limit=1) for page in (1, 2, 3)]
    assert pages == [(["loki"], 2), (["loki-logs"], 2), ([], 2)]
