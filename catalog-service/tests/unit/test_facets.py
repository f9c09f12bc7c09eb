"""Facets on the plugin list and search: exact counts that follow the other active filters."""

import pytest
from catalog_testkit import API, create_plugin, published_plugin

from catalog_service import facets as catalog_facets


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


@pytest.fixture
def facets(app, catalog):
    def compute(**filters):
        with app.extensions["database"].session() as session:
            return catalog_facets.facet_counts(session, **filters)
    return compute


def test_facets_count_public_plugins(facets):
    found = facets()
    assert counts(found["category"]) == {"monitoring": 2, "deployment": 1, "documentation": 1}
    assert counts(found["tags"])["metrics"] == 3  # the draft is not public
    assert counts(found["verified"]) == {"true": 2, "false": 2}
    assert counts(found["featured"]) == {"true": 1, "false": 3}
    assert found["category"][0] == {"value": "monitoring", "count": 2}  # most frequent first


def test_a_facet_ignores_its_own_filter_and_follows_the_others(facets):
    found = facets(categories=["monitoring"], verified=True)
    # Categories under verified=true: what choosing each instead of monitoring would give.
    assert counts(found["category"]) == {"monitoring": 1, "deployment": 1}
    # Verified under category=monitoring.
    assert counts(found["verified"]) == {"true": 1, "false": 1}
    # Tags under both filters, each count what adding it would give.
    assert counts(found["tags"]) == {"metrics": 1, "alerts": 1}


def test_chosen_tags_narrow_every_facet(facets):
    found = facets(tags=["metrics"])
    assert counts(found["category"]) == {"monitoring": 2, "documentation": 1}
    assert counts(found["tags"]) == {"metrics": 3, "grafana": 1, "docs": 1, "alerts": 1}


def test_words_narrow_every_facet(facets):
    assert counts(facets(query="kubernetes")["category"]) == {"deployment": 1}
    found = facets(query="metrics", categories=["monitoring"])
    assert counts(found["category"]) == {"monitoring": 2, "documentation": 1}
    assert counts(found["verified"]) == {"true": 1, "false": 1}
    assert facets(query="!!!") == {"category": [], "tags": [], "verified": [], "featured": []}
