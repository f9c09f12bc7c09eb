"""The facets member of GET /plugins and POST /plugins/search, when asked for."""

from catalog_testkit import API, anonymous_headers, published_plugin


def search(client, config, body):
    return client.post(f"{API}/plugins/search", json=body, headers=anonymous_headers(config))


def counts(facet):
    return {item["value"]: item["count"] for item in facet}


def test_facets_only_when_asked_and_they_follow_the_filters(client, config, publisher):
    published_plugin(client, publisher, name="alpha-metrics", category="monitoring", tags=["metrics"])
    published_plugin(client, publisher, name="beta-docs", category="documentation", tags=["docs", "metrics"])
    assert "facets" not in client.get(f"{API}/plugins").get_json()
    assert "facets" not in search(client, config, {"query": "metrics"}).get_json()
    body = client.get(f"{API}/plugins?facets=true&tags=docs").get_json()
    assert body["pagination"]["total"] == 1
    assert counts(body["facets"]["category"]) == {"documentation": 1}
    assert set(body["facets"]) == {"category", "tags", "verified", "featured"}
    body = search(client, config, {"query": "metrics", "facets": True,
                                   "filters": {"categories": ["monitoring"]}}).get_json()
    assert body["pagination"]["total"] == 1
    assert counts(body["facets"]["category"]) == {"monitoring": 1, "documentation": 1}


def test_facets_flag_is_validated(client, config):
    response = client.get(f"{API}/plugins?facets=maybe")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    response = search(client, config, {"facets": "maybe"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
