"""One-word searches on PostgreSQL come from search_postings (migration 0004): the same matches and exact
totals as the tsvector path, pages that cover every match once, and postings that follow every change of the
plugins (publish, unpublish, edits, popularity, deletion) through the triggers; so do a tag's pages by
popularity (plugin_tags.popularity, migration 0005)."""

import pytest
from catalog_testkit import API, anonymous_headers, postgres_catalog, published_plugin, write
from sqlalchemy import text

from catalog_service import fts_postgres


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    with postgres_catalog("catalog_postings", tmp_path_factory.mktemp("artifacts")) as (config, app, client, publisher):
        plugins = {}
        for name, fields in {
            "kubecost": {"displayName": "Kubecost", "tags": ["kubernetes", "cost"], "description": "Cluster costs"},
            "kubernetes-dashboard": {"displayName": "Kubernetes Dashboard", "description": "Workloads at a glance"},
            "kubectl-runner": {"displayName": "Runner", "description": "Runs kubectl in pipelines"},
            "cost-insights": {"displayName": "Cost Insights", "tags": ["cost"],
                              "description": "Costs of kubernetes clusters"},
            "techdocs": {"displayName": "TechDocs", "tags": ["docs"], "description": "Documentation as code"},
        }.items():
            plugins[name] = published_plugin(client, publisher, name=name, **fields)
        yield config, app, client, publisher, plugins


def search(client, config, query, page=1, limit=20):
    response = client.post(f"{API}/plugins/search", headers=anonymous_headers(config),
                           json={"query": query, "pagination": {"page": page, "limit": limit}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [p["name"] for p in body["data"]], body["pagination"]["total"]


def tsvector_path(app, query):
    """The same search through the tsvector of plugin_search (what multi-word searches use)."""
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            words = fts_postgres._postgres_tsquery(session, query, fuzzy=False)
            rows, total = fts_postgres._narrow_relevance_page(session, words, 1, 100)
            return {row.name for row in rows}, total
        finally:
            session.close()


def counts_match_postings(app) -> list:
    """Words whose search_terms.plugins differs from their public postings (none when the triggers agree)."""
    with app.app_context():
        session = app.extensions["database"].session()
        try:
            return session.execute(text(
                "SELECT t.term, t.plugins, count(p.plugin_id) FROM search_terms t "
                "LEFT JOIN search_postings p ON p.term = t.term AND p.is_public "
                "GROUP BY t.term, t.plugins HAVING t.plugins <> count(p.plugin_id)")).all()
        finally:
            session.close()


def set_popularity(app, name: str, popularity: int) -> None:
    write(app, "UPDATE plugins SET popularity = :popularity WHERE name = :name", name=name, popularity=popularity)


def test_one_word_searches_find_what_the_tsvector_finds(catalog):
    config, app, client, _publisher, _plugins = catalog
    for query in ("kubernetes", "kube", "cost", "costs", "docu", "runs", "dashboard"):
        names, total = search(client, config, query)
        assert (set(names), total) == tsvector_path(app, query), query
        assert len(names) == total
    # kubecost holds both "kubecost" and "kubernetes": one match of "kube", counted once.
    names, total = search(client, config, "kube")
    assert total == 4 and sorted(names) == ["cost-insights", "kubecost", "kubectl-runner", "kubernetes-dashboard"]
    assert search(client, config, "zzzqqq") == ([], 0)


def test_a_prefix_counts_each_plugin_once_by_probes_and_by_hashing(catalog, monkeypatch):
    """A prefix's words (`kube`: kubernetes, kubecost, kubectl) are counted once per plugin whichever way the rarer
    words' postings are checked against the commoner ones."""
    _config, app, _client, _publisher, _plugins = catalog
    with app.app_context():
        session = app.extensions["database"].read_session()
        try:
            words = {}
            for prefix in ("kube", "cost", "doc"):
                prefixed = session.execute(fts_postgres._PREFIXED_WORDS, {"prefix": prefix + "%"})
                words[prefix] = counts = dict(prefixed.all())
                distinct = session.scalar(text("SELECT count(DISTINCT plugin_id) FROM search_postings "
                                               "WHERE term = ANY(:words) AND is_public"), {"words": list(counts)})
                for probe_cost in (0, 10**6):  # every time by probes, every time by hashing
                    monkeypatch.setattr(fts_postgres, "PROBE_COST_IN_HASHED_POSTINGS", probe_cost)
                    assert next(iter(counts.values())) + fts_postgres._rarer_words_counted_once(
                        session, counts) == distinct, (prefix, probe_cost)
        finally:
            session.close()
    assert list(words["kube"]) == ["kubernetes", "kubecost", "kubectl"]  # the most common first


def test_relevance_puts_the_exact_name_first_then_names_before_descriptions(catalog):
    config, _app, client, _publisher, _plugins = catalog
    names, _total = search(client, config, "kubecost")
    assert names == ["kubecost"]
    names, total = search(client, config, "kubernetes")
    assert total == 3
    assert names.index("kubernetes-dashboard") < names.index("cost-insights")  # name > description
    assert names.index("kubecost") < names.index("cost-insights")  # tags > description
    # A typo: the closest words (kubecost, kubectl), and the plugin named after the closest one first.
    names, total = search(client, config, "kubecots")
    assert names[0] == "kubecost" and sorted(names) == ["kubecost", "kubectl-runner"] and total == 2


def test_pages_cover_every_match_once_in_order(catalog):
    config, _app, client, _publisher, _plugins = catalog
    everything, total = search(client, config, "kube")
    paged = []
    for page in range(1, 4):
        names, page_total = search(client, config, "kube", page=page, limit=2)
        assert page_total == total
        paged += names
    assert paged == everything
    assert search(client, config, "kube", page=3, limit=2) == ([], total)


def test_postings_follow_every_change_of_the_plugins(catalog):
    config, app, client, publisher, plugins = catalog
    runner = plugins["kubectl-runner"]["id"]

    assert client.post(f"{API}/plugins/{runner}/unpublish", headers=publisher).status_code == 200
    assert search(client, config, "pipelines") == ([], 0)
    assert client.post(f"{API}/plugins/{runner}/publish", headers=publisher).status_code == 200
    assert search(client, config, "pipelines") == (["kubectl-runner"], 1)

    # An edit: the old words no longer find it, the new ones do.
    response = client.patch(f"{API}/plugins/{runner}", headers=publisher,
                            json={"description": "Deploys with helm charts"})
    assert response.status_code == 200, response.get_json()
    assert search(client, config, "pipelines") == ([], 0)
    assert search(client, config, "helm") == (["kubectl-runner"], 1)

    # Popularity decides between equal ranks, as the read models change it.
    # (A tag's pages by popularity follow too: plugin_tags.popularity, kept by its own trigger.)
    for name in ("alpha-widget", "beta-widget"):
        published_plugin(client, publisher, name=name, displayName=name.title(), description="A widget",
                         tags=["widgets"])
    for popular, other in (("beta-widget", "alpha-widget"), ("alpha-widget", "beta-widget")):
        set_popularity(app, popular, 1000)
        set_popularity(app, other, 10)
        assert search(client, config, "widget") == ([popular, other], 2)
        listed = client.get(f"{API}/plugins?tags=widgets", headers=anonymous_headers(config)).get_json()
        assert [p["name"] for p in listed["data"]] == [popular, other]
    assert counts_match_postings(app) == []

    # Deleted with its plugin (the rows cascade from plugins).
    write(app, "DELETE FROM plugins WHERE name = 'techdocs'")
    assert search(client, config, "docu") == ([], 0)
    assert counts_match_postings(app) == []
