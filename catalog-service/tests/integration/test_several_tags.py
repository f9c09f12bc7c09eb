"""Several tags, or a tag with other filters, by popularity on PostgreSQL: the page is cut from the first tag's rows
(listing._tag_rows_page); every page and total is what the statements every database runs give."""

import itertools

import pytest
from catalog_testkit import API, anonymous_headers, postgres_catalog, published_plugin, write

from catalog_service import listing

TAGS = {  # name -> tags; popularity falls with the position (helm-charts and kube-ci tie: by id)
    "argo-sync": ["kubernetes", "gitops", "ci"],
    "flux-sync": ["kubernetes", "gitops"],
    "helm-charts": ["kubernetes", "ci"],
    "kube-ci": ["kubernetes", "ci", "gitops"],
    "tekton-runs": ["ci", "kubernetes"],
    "jenkins-jobs": ["ci"],
    "gitops-docs": ["gitops", "docs"],
}
POPULARITY = [50, 40, 30, 30, 20, 10, 5]
TAG_SETS = [["kubernetes"], ["kubernetes", "ci"], ["ci", "kubernetes"], ["gitops", "kubernetes", "ci"], ["docs", "ci"]]
FILTERS = [{}, {"verified": "true"}, {"category": "monitoring"}, {"minRating": "3"}]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    with postgres_catalog("catalog_several_tags", tmp_path_factory.mktemp("artifacts")) as (config, app, client,
                                                                                          publisher):
        for index, (name, tags) in enumerate(TAGS.items()):
            published_plugin(client, publisher, name=name, tags=tags,
                             category="monitoring" if index % 2 else "ci-cd")
            write(app, "UPDATE plugins SET popularity = :popularity, verified = :verified, "
                  "rating_average = :rating WHERE name = :name", popularity=POPULARITY[index],
                  verified=index % 3 == 0, rating=index % 5, name=name)
        yield config, app, client


def every_page(client, config, tags, filters, order):
    pages = []
    for page in range(1, 5):
        response = client.get(f"{API}/plugins", headers=anonymous_headers(config), query_string={
            "tags": ",".join(tags), "sort": "popularity", "order": order, "page": page, "limit": 2, **filters})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(([plugin["name"] for plugin in body["data"]], body["pagination"]["total"]))
    return [name for names, _total in pages for name in names], {total for _names, total in pages}


_UNCACHED_PAGE = listing._page.__wrapped__


def generic_page(shape, sort, order, with_total, _postgres):
    """listing._page as on SQLite: the first tag's rows walked, the other tags looked up, the total apart."""
    return _UNCACHED_PAGE(shape, sort, order, with_total, False)


def test_pages_and_totals_are_those_of_the_generic_statements(catalog, monkeypatch):
    config, _app, client = catalog
    checked = 0
    for tags, filters, order in itertools.product(TAG_SETS, FILTERS, ("desc", "asc")):
        listing._page.cache_clear()
        cut_from_tag_rows = every_page(client, config, tags, filters, order)
        with monkeypatch.context() as patched:
            patched.setattr(listing, "_page", generic_page)
            generic = every_page(client, config, tags, filters, order)
        assert cut_from_tag_rows == generic, (tags, filters, order)
        names, totals = cut_from_tag_rows
        assert totals == {len(names)}, (tags, filters, order)  # exact on every page, past the end too
        checked += len(names)
    listing._page.cache_clear()
    assert checked  # some combinations match plugins
