"""Facets on the plugin list and search: exact counts that follow the other active filters."""

import pytest
from catalog_testkit import API, anonymous_headers, create_plugin, published_plugin


@pytest.fixture
def catalog(client, publisher, admin):
    a = published_plugin(client, publisher, name="alpha-metrics", category="monitoring", tags=["metrics", "grafana"],
                         description="Dashboards of metrics")
    b = published_plugin(client, publisher, name="beta-kubernetes", category="deployment", tags=["kubernetes", "k8s"],
                         description="Kubernetes workloads")
    c = published_plugin(client, publisher, name="gamma-docs", category="documentation", tags=["docs", "metrics"],
                         description="Docs with metrics")
    d = published_plugin(client, publisher, name="delta-alerts", category="monitoring", tags=["metrics", "alerts"],
                         description="Alerts")
    client.patch(f"{API}/plugins/{b['id']}", json={"verified": True, "featured": True}, headers=admin)
    client.patch(f"{API}/plugins/{d['id']}", json={"verified": True}, headers=admin)
    create_plugin(client, publisher, name="draft-no-version", category="monitoring", tags=["metrics"])
    return {"a": a, "b": b, "c": c, "d": d}


def counts(facet):
    return {item["value"]: item["count"] for item in facet}


def facets_of(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()["facets"]


def search(client, config, body):
    return client.post(f"{API}/plugins/search", json=body, headers=anonymous_headers(config))


def test_no_facets_unless_asked(client, config, catalog):
    assert "facets" not in client.get(f"{API}/plugins").get_json()
    assert "facets" not in search(client, config, {"query": "metrics"}).get_json()


def test_list_facets_count_public_plugins(client, catalog):
    facets = facets_of(client.get(f"{API}/plugins?facets=true"))
    assert counts(facets["category"]) == {"monitoring": 2, "deployment": 1, "documentation": 1}
    assert counts(facets["tags"])["metrics"] == 3  # the draft is not public
    assert counts(facets["verified"]) == {"true": 2, "false": 2}
    assert counts(facets["featured"]) == {"true": 1, "false": 3}
    assert facets["category"][0] == {"value": "monitoring", "count": 2}  # most frequent first


def test_a_facet_ignores_its_own_filter_and_follows_the_others(client, catalog):
    facets = facets_of(client.get(f"{API}/plugins?facets=true&category=monitoring&verified=true"))
    # Categories under verified=true: what choosing each instead of monitoring would give.
    assert counts(facets["category"]) == {"monitoring": 1, "deployment": 1}
    # Verified under category=monitoring.
    assert counts(facets["verified"]) == {"true": 1, "false": 1}
    # Tags under both filters, each count what adding it would give.
    assert counts(facets["tags"]) == {"metrics": 1, "alerts": 1}
    body = client.get(f"{API}/plugins?category=monitoring&verified=true&tags=alerts").get_json()
    assert body["pagination"]["total"] == 1


def test_chosen_tags_narrow_every_facet(client, catalog):
    facets = facets_of(client.get(f"{API}/plugins?facets=true&tags=metrics"))
    assert counts(facets["category"]) == {"monitoring": 2, "documentation": 1}
    assert counts(facets["tags"]) == {"metrics": 3, "grafana": 1, "docs": 1, "alerts": 1}


def test_search_facets_follow_the_words(client, config, catalog):
    facets = facets_of(search(client, config, {"query": "metrics", "facets": True}))
    total = search(client, config, {"query": "metrics"}).get_json()["pagination"]["total"]
    assert total == 3 and sum(counts(facets["category"]).values()) == total
    facets = facets_of(search(client, config, {"query": "metrics", "facets": True,
                                               "filters": {"categories": ["monitoring"]}}))
    assert counts(facets["category"]) == {"monitoring": 2, "documentation": 1}
    assert counts(facets["verified"]) == {"true": 1, "false": 1}
    facets = facets_of(client.get(f"{API}/plugins?facets=true&search=kubernetes"))
    assert counts(facets["category"]) == {"deployment": 1}


def test_facets_flag_is_validated(client, catalog):
    response = client.get(f"{API}/plugins?facets=maybe")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
