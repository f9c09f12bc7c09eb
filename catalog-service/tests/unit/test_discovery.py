from urllib.parse import parse_qs, urlparse

import pytest
from catalog_testkit import API, anonymous_headers, create_plugin, published_plugin, upload_version

from catalog_service.handlers import on_rating_changed
from marketplace_shared.contracts import contract_event


def rate(app, plugin_id, average, count, sequence=1):
    with app.extensions["database"].session() as session, session.begin():
        on_rating_changed(session, contract_event("review.rating_changed", {
            "pluginId": plugin_id, "sequence": sequence, "average": average, "count": count,
            "distribution": {"5": count, "4": 0, "3": 0, "2": 0, "1": 0}, "topReviews": []}, plugin_id,
            time="2026-01-01T00:00:00.000Z"))


def names(response):
    assert response.status_code == 200, response.get_json()
    return [p["name"] for p in response.get_json()["data"]]


@pytest.fixture
def catalog(app, client, publisher, admin):
    a = published_plugin(client, publisher, name="alpha-metrics", category="monitoring", tags=["metrics", "grafana"],
                         compatibility={"backstage": "^1.35.0", "node": ">=18.0.0"})
    b = published_plugin(client, publisher, name="beta-kubernetes", category="deployment",
                         tags=["kubernetes", "k8s"], displayName="Kubernetes",
                         description="Show Kubernetes workloads next to your services",
                         compatibility={"backstage": ">=1.20.0 <1.30.0", "node": ">=20"})
    c = published_plugin(client, publisher, name="gamma-docs", category="documentation", tags=["docs", "metrics"],
                         compatibility={"backstage": "1.30.0 - 1.40.0 || ^2.0.0", "node": "^18 || ^20"})
    client.patch(f"{API}/plugins/{b['id']}", json={"verified": True, "featured": True}, headers=admin)
    client.patch(f"{API}/plugins/{c['id']}", json={"pricing": {"model": "paid", "price": 50, "currency": "USD"}},
                 headers=publisher)
    rate(app, a["id"], 4.5, 10)
    rate(app, b["id"], 3.0, 4)
    rate(app, c["id"], 4.5, 20)
    for _ in range(3):
        client.get(f"{API}/plugins/{b['id']}/versions/1.0.0/package")
    client.get(f"{API}/plugins/{c['id']}/versions/1.0.0/package")
    create_plugin(client, publisher, name="draft-no-version")
    return {"a": a, "b": b, "c": c}


def test_default_sort_is_popularity_desc(client, catalog):
    assert names(client.get(f"{API}/plugins")) == ["beta-kubernetes", "gamma-docs", "alpha-metrics"]


@pytest.mark.parametrize("query, expected", [
    ("sort=name&order=asc", ["alpha-metrics", "beta-kubernetes", "gamma-docs"]),
    ("sort=name", ["gamma-docs", "beta-kubernetes", "alpha-metrics"]),
    ("sort=popularity&order=asc", ["alpha-metrics", "gamma-docs", "beta-kubernetes"]),
    ("sort=rating", ["gamma-docs", "alpha-metrics", "beta-kubernetes"]),
    ("sort=rating&order=asc", ["beta-kubernetes", "alpha-metrics", "gamma-docs"]),
    ("category=monitoring", ["alpha-metrics"]),
    ("tags=metrics&sort=name&order=asc", ["alpha-metrics", "gamma-docs"]),
    ("tags=metrics,docs", ["gamma-docs"]),
    # A tag's pages by popularity come from plugin_tags.popularity, which follows every download.
    ("tags=metrics", ["gamma-docs", "alpha-metrics"]),
    ("tags=metrics&order=asc", ["alpha-metrics", "gamma-docs"]),
    ("tags=metrics&minRating=4.5", ["gamma-docs", "alpha-metrics"]),
    ("tags=metrics,grafana", ["alpha-metrics"]),
    ("category=monitoring&sort=rating", ["alpha-metrics"]),
    ("verified=true", ["beta-kubernetes"]),
    ("verified=false&sort=name&order=asc", ["alpha-metrics", "gamma-docs"]),
    ("featured=true", ["beta-kubernetes"]),
    ("minRating=4&sort=name&order=asc", ["alpha-metrics", "gamma-docs"]),
    ("minRating=4.6", []),
    ("compatibility=1.36.0&sort=name&order=asc", ["alpha-metrics", "gamma-docs"]),
    ("compatibility=1.25.0", ["beta-kubernetes"]),
    ("compatibility=2.1.0", ["gamma-docs"]),
    ("compatibility=1.36.0-next.1", []),
    ("search=kubernetes", ["beta-kubernetes"]),
    ("search=metrics&sort=name&order=asc", ["alpha-metrics", "gamma-docs"]),
])
def test_list_filters_and_sorts(client, catalog, query, expected):
    assert names(client.get(f"{API}/plugins?{query}")) == expected


def test_a_new_tag_ranks_by_the_plugins_popularity(client, catalog, publisher):
    client.patch(f"{API}/plugins/beta-kubernetes", json={"tags": ["kubernetes", "metrics"]}, headers=publisher)
    assert names(client.get(f"{API}/plugins?tags=metrics")) == ["beta-kubernetes", "gamma-docs", "alpha-metrics"]
    client.get(f"{API}/plugins/alpha-metrics/versions/1.0.0/package")  # 1 download, as gamma; the id decides
    ties = sorted([catalog["a"], catalog["c"]], key=lambda plugin: plugin["id"])
    assert names(client.get(f"{API}/plugins?tags=metrics"))[1:] == [plugin["name"] for plugin in ties]


def test_updated_sort(client, catalog, publisher):
    client.patch(f"{API}/plugins/{catalog['a']['id']}", json={"description": "touched"}, headers=publisher)
    assert names(client.get(f"{API}/plugins?sort=updated"))[0] == "alpha-metrics"
    assert names(client.get(f"{API}/plugins?sort=updated&order=asc"))[-1] == "alpha-metrics"


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=x", "page"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("sort=stars", "sort"), ("order=up", "order"), ("verified=maybe", "verified"), ("featured=2x", "featured"),
    ("minRating=6", "minRating"), ("minRating=-1", "minRating"), ("compatibility=banana", "compatibility"),
    ("category=Not%20A%20Category", "category"), ("tags=ok,BAD%20TAG", "tags"), ("search=" + "x" * 201, "search"),
])
def test_list_bad_parameters(client, query, field):
    response = client.get(f"{API}/plugins?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "VALIDATION_ERROR" and field in body["error"]["details"]["fields"]


def test_several_bad_parameters_are_all_named(client):
    fields = client.get(f"{API}/plugins?limit=0&sort=x&minRating=9").get_json()["error"]["details"]["fields"]
    assert {"limit", "sort", "minRating"} <= set(fields)


def test_pagination_and_links(client, catalog):
    body = client.get(f"{API}/plugins?limit=1&page=2&category=&sort=name&order=asc").get_json()
    assert [p["name"] for p in body["data"]] == ["beta-kubernetes"]
    assert body["pagination"] == {"page": 2, "limit": 1, "total": 3, "totalPages": 3, "hasNextPage": True,
                                  "hasPrevPage": True}
    links = body["links"]
    assert set(links) == {"self", "first", "prev", "next", "last"}
    for name, page in (("self", "2"), ("first", "1"), ("prev", "1"), ("next", "3"), ("last", "3")):
        query = parse_qs(urlparse(links[name]).query)
        assert urlparse(links[name]).path == f"{API}/plugins"
        assert query["page"] == [page] and query["limit"] == ["1"] and query["sort"] == ["name"]
    body = client.get(f"{API}/plugins?limit=1&page=9").get_json()
    assert body["data"] == [] and body["pagination"]["hasNextPage"] is False and "next" not in body["links"]
    assert set(body["metadata"]) == {"version", "timestamp", "requestId", "responseTime"}


def test_list_item_shape(client, catalog):
    item = client.get(f"{API}/plugins?search=gamma").get_json()["data"][0]
    for key in ("id", "name", "displayName", "description", "version", "author", "category", "tags", "icon",
                "verified", "featured", "rating", "downloads", "compatibility", "pricing"):
        assert key in item
    assert item["downloads"] == 1 and item["rating"] == {"average": 4.5, "count": 20}
    assert item["pricing"] == {"model": "paid", "price": 50.0, "currency": "USD"}
    assert item["compatibility"]["node"] == "^18 || ^20"


def test_detail_by_id_or_name_and_not_found(client, catalog):
    by_id = client.get(f"{API}/plugins/{catalog['a']['id']}").get_json()
    by_name = client.get(f"{API}/plugins/alpha-metrics").get_json()
    assert by_id["data"]["id"] == by_name["data"]["id"]
    assert by_id["links"]["self"] == f"{API}/plugins/{catalog['a']['id']}"
    assert set(by_id["links"]) >= {"self", "install", "reviews", "versions"}
    response = client.get(f"{API}/plugins/xyz")
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "PLUGIN_NOT_FOUND", "message": "Plugin with ID 'xyz' not found",
                                            "details": {}}
    assert client.get(f"{API}/plugins/draft-no-version").status_code == 404
    assert client.get(f"{API}/plugins/xyz/versions").status_code == 404


def test_categories_and_tags_count_public_plugins(client, catalog):
    categories = client.get(f"{API}/categories").get_json()["data"]
    assert {c["name"]: c["count"] for c in categories} == {"monitoring": 1, "deployment": 1, "documentation": 1}
    tags = {t["name"]: t["count"] for t in client.get(f"{API}/tags").get_json()["data"]}
    assert tags["metrics"] == 2 and tags["k8s"] == 1


@pytest.fixture
def search(client, config):
    def run(body):
        response = client.post(f"{API}/plugins/search", json=body, headers=anonymous_headers(config))
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return run


def test_search_relevance_exact_name_first_and_typos(client, publisher, search):
    published_plugin(client, publisher, name="kubernetes-argo", description="Kubernetes kubernetes kubernetes",
                     tags=["kubernetes"])
    published_plugin(client, publisher, name="kubernetes", displayName="Kubernetes", description="Workloads")
    published_plugin(client, publisher, name="cost-insights", description="Cloud costs, including kubernetes")
    body = search({"query": "kubernetes"})
    assert [p["name"] for p in body["data"]][0] == "kubernetes"
    assert body["pagination"]["total"] == 3
    assert [p["name"] for p in search({"query": "kubernets"})["data"]][0] == "kubernetes"
    assert "kubernetes" in [p["name"] for p in search({"query": "kuber"})["data"]]
    # Name weighs more than the description.
    ranked = [p["name"] for p in search({"query": "kubernetes"})["data"]]
    assert ranked.index("cost-insights") == 2
    assert search({"query": "zzzzqqq"})["data"] == []


def test_a_typo_corrected_to_a_plugins_name_ranks_it_first(client, publisher, search):
    # The demo catalog's rows (make seed), where the text ranking alone puts kubernetes-backend first.
    for name, display_name, tags, description in (
            ("kubernetes", "Kubernetes", ["kubernetes", "k8s", "deployments"],
             "See the Kubernetes resources of your services across clusters"),
            ("kubernetes-backend", "Kubernetes Backend", ["kubernetes", "backend"],
             "Backend that talks to your Kubernetes clusters"),
            ("argocd", "Argo CD", ["argocd", "gitops", "kubernetes"], "Argo CD application sync and health status"),
            ("kubecost", "Kubecost", ["kubernetes", "cloud-cost"], "Kubernetes cost allocation from Kubecost")):
        published_plugin(client, publisher, name=name, displayName=display_name, tags=tags, description=description)
    assert [p["name"] for p in search({"query": "kubernetes"})["data"]][0] == "kubernetes"
    assert [p["name"] for p in search({"query": "kubernets"})["data"]][0] == "kubernetes"


def test_search_filters_sort_and_pagination(client, catalog, search):
    body = search({"filters": {"categories": ["monitoring", "documentation"]},
                           "sort": {"field": "name", "order": "asc"}, "pagination": {"page": 1, "limit": 1}})
    assert [p["name"] for p in body["data"]] == ["alpha-metrics"]
    assert body["pagination"]["total"] == 2 and body["pagination"]["totalPages"] == 2
    body = search({"query": "metrics", "filters": {"maxPrice": 10}})
    assert [p["name"] for p in body["data"]] == ["alpha-metrics"]
    body = search({"filters": {"compatibility": {"backstage": "^1.36.0"}},
                           "sort": {"field": "name", "order": "asc"}})
    assert [p["name"] for p in body["data"]] == ["alpha-metrics", "gamma-docs"]
    body = search({"filters": {"compatibility": {"backstage": "~1.25.0", "node": ">=20.0.0"}}})
    assert [p["name"] for p in body["data"]] == ["beta-kubernetes"]
    body = search({"filters": {"compatibility": {"node": "<18.0.0"}}})
    assert body["data"] == []
    body = search({"filters": {"minRating": 4, "verified": False, "featured": False, "tags": ["docs"]}})
    assert [p["name"] for p in body["data"]] == ["gamma-docs"]


@pytest.mark.parametrize("body, field", [
    ({"query": 5}, "query"), ({"filters": {"minRating": 7}}, "filters"), ({"filters": {"maxPrice": -1}}, "filters"),
    ({"filters": {"compatibility": {"backstage": "nonsense"}}}, "filters"), ({"sort": {"field": "stars"}}, "sort"),
    ({"sort": {"order": "sideways"}}, "sort"), ({"pagination": {"limit": 500}}, "pagination"),
    ({"pagination": {"page": 0}}, "pagination"), ({"unknown": 1}, "unknown"),
    ({"filters": {"colour": "red"}}, "filters"),
])
def test_search_bad_bodies(client, config, body, field):
    response = client.post(f"{API}/plugins/search", json=body, headers=anonymous_headers(config))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]["fields"]


def test_yanked_only_plugin_leaves_the_catalog(client, publisher):
    plugin = published_plugin(client, publisher, name="fragile")
    client.post(f"{API}/plugins/{plugin['id']}/versions/1.0.0/yank", json={"reason": "bad"}, headers=publisher)
    assert client.get(f"{API}/plugins").get_json()["pagination"]["total"] == 0
    assert upload_version(client, publisher, plugin["id"], version="1.0.1").status_code == 201
    assert names(client.get(f"{API}/plugins")) == ["fragile"]
