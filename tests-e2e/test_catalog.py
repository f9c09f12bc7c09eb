"""The catalog through the gateway (issue 4): every query parameter of GET /plugins with its default, bounds and
errors; pagination and links as the spec writes them; each sort in both orders with a stable tie-break; every
filter, including Backstage compatibility with npm semver ranges; plugin details by id and by name with every
field and link of the spec; versions, categories and tags; POST /plugins/search with filters, range
intersection, sorts, pagination and errors; relevance (exact name first, typos); statistics that move after
installs, downloads and telemetry.

The catalog is shared with the other test files of the session: every test works in categories, tags and names
of its own."""

import json
import string
import uuid

import pytest

from api_client import PREFIX, expect, expect_error
from factories import new_account, wait_for_installation, wait_until_installable, wait_until_reviewable
from marketplace_shared.testing import unique_name, wait_for
from seed import npm_package

EMPTY_DISTRIBUTION = {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}


def slug(prefix: str) -> str:
    return unique_name(prefix).replace("_", "-")


def word(prefix: str = "k") -> str:
    """A unique word of the letters a-p only (digits inside a word change how full-text parsers split it)."""
    return prefix + unique_name("").strip("_").translate(str.maketrans(string.digits, "ghijklmnop"))


def unlike(prefix: str) -> str:
    """A unique name sharing no trigram with any word(): letters q-z and digits only."""
    assert not set(prefix) & set("abcdefghijklmnop")
    return f"{prefix}-{uuid.uuid4().int % 10 ** 12}"


def create(client, name: str, category: str, tags=(), **fields) -> dict:
    body = {"name": name, "displayName": name.replace("-", " ").title(), "description": f"The {name} plugin",
            "category": category, "tags": list(tags), "license": "Apache-2.0", **fields}
    return expect(client.post("/plugins", json=body), 201)["data"]


def release(client, plugin_id: str, version: str, backstage: str = "^1.30.0", node: str = ">=18.0.0",
            **metadata) -> dict:
    body = {"version": version, "changelog": f"Release {version}",
            "compatibility": {"backstage": backstage, "node": node}, **metadata}
    return expect(client.post(f"/plugins/{plugin_id}/versions", data={"metadata": json.dumps(body)},
                              files={"package": (f"p-{version}.tgz", npm_package(plugin_id, version),
                                                 "application/gzip")}), 201)["data"]


def listing(client, **params) -> dict:
    return expect(client.get("/plugins", params=params), 200)


def names(body: dict) -> list[str]:
    return [plugin["name"] for plugin in body["data"]]


def search(client, body) -> dict:
    return expect(client.post("/plugins/search", json=body), 200)


def flat_fields(errors: dict, prefix: str = "") -> set[str]:
    """{'pagination': {'limit': [...]}} -> {'pagination.limit'}."""
    named = set()
    for key, value in errors.items():
        if isinstance(value, dict):
            named |= flat_fields(value, f"{prefix}{key}.")
        else:
            named.add(f"{prefix}{key}")
    return named


def bad_fields(response) -> set[str]:
    body = expect_error(response, 400, "VALIDATION_ERROR")
    return flat_fields(body["error"]["details"]["fields"])


def detail(client, ref: str) -> dict:
    return expect(client.get(f"/plugins/{ref}"), 200)


def stats_of(client, plugin_id: str) -> dict:
    return expect(client.get(f"/plugins/{plugin_id}/stats"), 200)["data"]


def download(client, plugin_id: str, version: str) -> bytes:
    response = client.get(f"/plugins/{plugin_id}/versions/{version}/package")
    assert response.status_code == 200, response.text[:500]
    return response.content


# --- a shelf of five plugins in a category of their own ------------------------------------------------
#
#   name     backstage                      node            tags          downloads  rating  flags
#   alpha    ^1.35.0                        >=18.0.0        T, S          3          4       -
#   bravo    >=1.20.0 <1.30.0               >=20.0.0        T             1          5       (touched last)
#   charlie  1.30.0 - 1.40.0 || ^2.0.0      ^18 || ^20      T, S          2          2       paid 50 USD
#   delta    ~1.36.0                        >=18.0.0        T             0          -       verified, featured
#   echo     >=1.37.0-next.0 <1.38.0        >=22.0.0        T             0          -       featured
#
# plus a draft (no version) in the same category that must never show.

SHELF = {
    "alpha": ("^1.35.0", ">=18.0.0"),
    "bravo": (">=1.20.0 <1.30.0", ">=20.0.0"),
    "charlie": ("1.30.0 - 1.40.0 || ^2.0.0", "^18 || ^20"),
    "delta": ("~1.36.0", ">=18.0.0"),
    "echo": (">=1.37.0-next.0 <1.38.0", ">=22.0.0"),
}


@pytest.fixture(scope="module")
def owner(admin):
    return new_account(admin, "publisher")


@pytest.fixture(scope="module")
def shelf(admin, owner, anonymous):
    base, category, tag, shared_tag = word("shelf-"), slug("cat"), slug("tag"), slug("tag")
    plugins = {}
    for key, (backstage, node) in SHELF.items():
        tags = [tag, shared_tag] if key in ("alpha", "charlie") else [tag]
        plugin = create(owner, f"{base}-{key}", category, tags)
        release(owner, plugin["id"], "1.0.0", backstage, node)
        plugins[key] = plugin
    draft = create(owner, f"{base}-draft", category, [tag, shared_tag])
    expect(owner.patch(f"/plugins/{plugins['charlie']['id']}",
                       json={"pricing": {"model": "paid", "price": 50, "currency": "USD"}}), 200)
    expect(admin.patch(f"/plugins/{plugins['delta']['id']}", json={"verified": True, "featured": True}), 200)
    expect(admin.patch(f"/plugins/{plugins['echo']['id']}", json={"featured": True}), 200)
    for key, count in (("alpha", 3), ("charlie", 2), ("bravo", 1)):
        for _ in range(count):
            download(anonymous, plugins[key]["id"], "1.0.0")
    reviewer = new_account(admin, "user")
    for key, rating in (("alpha", 4), ("bravo", 5), ("charlie", 2)):
        wait_until_reviewable(reviewer, plugins[key]["id"], rating=rating)

    def rated():
        shown = {p["name"]: p["rating"]["average"] for p in listing(anonymous, category=category, limit=100)["data"]}
        return shown == {f"{base}-alpha": 4.0, f"{base}-bravo": 5.0, f"{base}-charlie": 2.0, f"{base}-delta": 0.0,
                         f"{base}-echo": 0.0}

    wait_for(rated, timeout=30, interval=0.2, message="ratings of the shelf in the catalog")
    # Touched last: first under sort=updated desc.
    expect(owner.patch(f"/plugins/{plugins['bravo']['id']}", json={"description": "Touched last"}), 200)
    by_key = {key: detail(anonymous, plugin["id"])["data"] for key, plugin in plugins.items()}
    ids = {key: plugin["id"] for key, plugin in by_key.items()}
    return {"base": base, "category": category, "tag": tag, "shared_tag": shared_tag, "plugins": by_key,
            "ids": ids, "draft": draft}


def keys(shelf, body) -> list[str]:
    """The shelf keys (alpha, bravo, ...) of a list response, in order."""
    prefix = shelf["base"] + "-"
    return [name.removeprefix(prefix) for name in names(body)]


def by_id(shelf, *members) -> list[str]:
    """Members that tie on the sort key come in ascending id order."""
    return sorted(members, key=lambda key: shelf["ids"][key])


# --- GET /plugins: defaults, sorts, filters ------------------------------------------------------------

def test_defaults_are_page_1_limit_20_sorted_by_popularity_descending(anonymous, shelf):
    body = listing(anonymous, category=shelf["category"])
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 5, "totalPages": 1, "hasNextPage": False,
                                  "hasPrevPage": False}
    assert keys(shelf, body) == ["alpha", "charlie", "bravo"] + by_id(shelf, "delta", "echo")
    assert names(body) == names(listing(anonymous, category=shelf["category"], sort="popularity", order="desc"))
    assert set(body["metadata"]) == {"version", "timestamp", "requestId", "responseTime"}
    assert body["metadata"]["version"] == "v1" and isinstance(body["metadata"]["responseTime"], int)
    # The draft without a version is not in the catalog.
    assert shelf["draft"]["name"] not in names(listing(anonymous, category=shelf["category"], limit=100))


def test_list_items_have_every_field_of_the_spec(anonymous, shelf, owner):
    body = listing(anonymous, category=shelf["category"], sort="name", order="asc", limit=1, page=3)
    item = body["data"][0]
    assert item["id"] == shelf["ids"]["charlie"] and item["name"] == f"{shelf['base']}-charlie"
    assert item["displayName"] == f"{shelf['base']}-charlie".replace("-", " ").title()
    assert item["description"] == f"The {shelf['base']}-charlie plugin"
    assert item["version"] == "1.0.0"
    assert item["author"] == {"name": owner.account["name"], "email": owner.account["email"], "url": None}
    assert item["category"] == shelf["category"] and item["tags"] == [shelf["tag"], shelf["shared_tag"]]
    assert item["icon"] is None and item["verified"] is False and item["featured"] is False
    assert item["rating"] == {"average": 2.0, "count": 1}
    assert item["downloads"] == 2
    assert item["compatibility"] == {"backstage": "1.30.0 - 1.40.0 || ^2.0.0", "node": "^18 || ^20",
                                     "platform": []}
    assert item["pricing"] == {"model": "paid", "price": 50.0, "currency": "USD"}
    alpha = listing(anonymous, category=shelf["category"], sort="name", order="asc", limit=1)["data"][0]
    assert alpha["pricing"] == {"model": "free"}


@pytest.mark.parametrize("sort, descending", [
    ("name", ["echo", "delta", "charlie", "bravo", "alpha"]),
    ("popularity", ["alpha", "charlie", "bravo", "delta|echo"]),
    ("rating", ["bravo", "alpha", "charlie", "delta|echo"]),
    ("updated", None),
])
def test_each_sort_in_both_orders_with_ties_broken_by_id(anonymous, shelf, sort, descending):
    desc = keys(shelf, listing(anonymous, category=shelf["category"], sort=sort, order="desc"))
    asc = keys(shelf, listing(anonymous, category=shelf["category"], sort=sort, order="asc"))
    if descending is None:  # updated: the plugin touched last first, the rest by their update times
        times = {key: shelf["plugins"][key]["updatedAt"] for key in SHELF}
        assert desc[0] == "bravo" and asc[-1] == "bravo"
        assert desc == sorted(SHELF, key=lambda key: times[key], reverse=True)
        assert asc == sorted(SHELF, key=lambda key: times[key])
        return

    def expand(entries):
        result = []
        for entry in entries:
            result += by_id(shelf, *entry.split("|"))  # ties: ascending id in either order
        return result

    assert desc == expand(descending)
    assert asc == expand(list(reversed(descending)))
    # The same order page by page: nothing repeated, nothing skipped.
    paged = []
    for page in range(1, 6):
        body = listing(anonymous, category=shelf["category"], sort=sort, order="asc", limit=1, page=page)
        paged += keys(shelf, body)
    assert paged == asc


@pytest.mark.parametrize("params, expected", [
    ({"verified": "true"}, ["delta"]),
    ({"verified": "false"}, ["alpha", "bravo", "charlie", "echo"]),
    ({"featured": "true"}, ["delta", "echo"]),
    ({"featured": "false"}, ["alpha", "bravo", "charlie"]),
    ({"verified": "false", "featured": "true"}, ["echo"]),
    ({"minRating": "4"}, ["alpha", "bravo"]),
    ({"minRating": "4.5"}, ["bravo"]),
    ({"minRating": "2"}, ["alpha", "bravo", "charlie"]),
    ({"minRating": "0"}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ({"minRating": "5"}, ["bravo"]),
    ({"tags": "{shared}"}, ["alpha", "charlie"]),
    ({"tags": "{tag},{shared}"}, ["alpha", "charlie"]),
    ({"tags": "{tag}"}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ({"tags": "{tag},nope-never-used-tag"}, []),
    # Backstage compatibility, npm semver semantics.
    ({"compatibility": "1.36.0"}, ["alpha", "charlie", "delta"]),  # ^, hyphen, ~
    ({"compatibility": "1.25.0"}, ["bravo"]),  # >= <
    ({"compatibility": "1.37.5"}, ["alpha", "charlie", "echo"]),  # ~1.36.0 no longer
    ({"compatibility": "1.41.0"}, ["alpha"]),  # beyond the hyphen range
    ({"compatibility": "2.1.0"}, ["charlie"]),  # the || branch
    ({"compatibility": "1.30.0"}, ["charlie"]),  # hyphen bounds are inclusive, <1.30.0 excludes
    ({"compatibility": "1.37.0-next.1"}, ["echo"]),  # pre-releases only where the range names that tuple
    ({"compatibility": "0.9.0"}, []),
])
def test_filters(anonymous, shelf, params, expected):
    params = {key: value.format(tag=shelf["tag"], shared=shelf["shared_tag"]) for key, value in params.items()}
    body = listing(anonymous, category=shelf["category"], sort="name", order="asc", **params)
    assert keys(shelf, body) == expected, params
    assert body["pagination"]["total"] == len(expected)


def test_category_and_tag_filters_alone(anonymous, shelf):
    assert keys(shelf, listing(anonymous, category=shelf["category"], sort="name", order="asc")) == list(SHELF)
    body = listing(anonymous, tags=shelf["shared_tag"], sort="name", order="asc")
    assert keys(shelf, body) == ["alpha", "charlie"]
    assert listing(anonymous, category=slug("nothing-here"))["data"] == []
    # Empty values from a form mean "no filter".
    assert listing(anonymous, category="", tags=shelf["shared_tag"], search="")["pagination"]["total"] == 2


def test_search_parameter_of_the_list(anonymous, shelf):
    body = listing(anonymous, search=shelf["base"], sort="name", order="asc")
    assert keys(shelf, body) == list(SHELF)
    body = listing(anonymous, search=f"{shelf['base']} charlie")
    assert keys(shelf, body) == ["charlie"]


# --- pagination and links --------------------------------------------------------------------------------

def test_pagination_and_links_exactly_as_the_spec(anonymous, shelf):
    category = shelf["category"]
    path = f"{PREFIX}/plugins"

    def link(page):
        return f"{path}?page={page}&limit=2&category={category}&sort=name&order=asc"

    def page_of(page):
        return anonymous.get("/plugins", params={"category": category, "sort": "name", "order": "asc",
                                                 "limit": 2, "page": page})

    first = expect(page_of(1), 200)
    assert keys(shelf, first) == ["alpha", "bravo"]
    assert first["pagination"] == {"page": 1, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": True,
                                   "hasPrevPage": False}
    assert first["links"] == {"self": link(1), "first": link(1), "next": link(2), "last": link(3)}

    second = expect(anonymous.get(first["links"]["next"]), 200)  # the links work through the gateway
    assert keys(shelf, second) == ["charlie", "delta"]
    assert second["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": True,
                                    "hasPrevPage": True}
    assert second["links"] == {"self": link(2), "first": link(1), "prev": link(1), "next": link(3),
                               "last": link(3)}

    last = expect(anonymous.get(second["links"]["last"]), 200)
    assert keys(shelf, last) == ["echo"]
    assert last["pagination"] == {"page": 3, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": False,
                                  "hasPrevPage": True}
    assert last["links"] == {"self": link(3), "first": link(1), "prev": link(2), "last": link(3)}

    beyond = expect(page_of(7), 200)
    assert beyond["data"] == []
    assert beyond["pagination"] == {"page": 7, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": False,
                                    "hasPrevPage": True}
    assert beyond["links"] == {"self": link(7), "first": link(1), "prev": link(3), "last": link(3)}

    nothing = listing(anonymous, category=slug("empty"))
    assert nothing["pagination"] == {"page": 1, "limit": 20, "total": 0, "totalPages": 0, "hasNextPage": False,
                                     "hasPrevPage": False}
    assert set(nothing["links"]) == {"self", "first", "last"}


def test_limit_bounds(anonymous, shelf):
    assert len(listing(anonymous, category=shelf["category"], limit=1)["data"]) == 1
    body = listing(anonymous, category=shelf["category"], limit=100)
    assert len(body["data"]) == 5 and body["pagination"]["limit"] == 100
    assert listing(anonymous, limit=100)["pagination"]["total"] >= 5


@pytest.mark.parametrize("params, fields", [
    ({"page": "0"}, {"page"}),
    ({"page": "-3"}, {"page"}),
    ({"page": "two"}, {"page"}),
    ({"limit": "0"}, {"limit"}),
    ({"limit": "101"}, {"limit"}),
    ({"limit": "ten"}, {"limit"}),
    ({"sort": "downloads"}, {"sort"}),
    ({"order": "up"}, {"order"}),
    ({"verified": "maybe"}, {"verified"}),
    ({"featured": "2x"}, {"featured"}),
    ({"minRating": "-0.1"}, {"minRating"}),
    ({"minRating": "5.1"}, {"minRating"}),
    ({"minRating": "high"}, {"minRating"}),
    ({"compatibility": "banana"}, {"compatibility"}),
    ({"category": "Not A Category"}, {"category"}),
    ({"tags": "ok,BAD TAG"}, {"tags"}),
    ({"search": "x" * 201}, {"search"}),
    ({"limit": "0", "page": "0", "sort": "stars", "order": "sideways", "minRating": "9", "verified": "perhaps",
      "compatibility": "banana"},
     {"limit", "page", "sort", "order", "minRating", "verified", "compatibility"}),
])
def test_bad_query_parameters_are_named(anonymous, params, fields):
    response = anonymous.get("/plugins", params=params)
    assert bad_fields(response) == fields


# --- details, versions, categories, tags ------------------------------------------------------------------

def test_details_by_id_and_by_name_with_every_field_and_link(anonymous, admin, owner):
    name = slug("detail")
    plugin = create(owner, name, slug("cat"), ["detail", "e2e"], longDescription="# Title\n\nSome *markdown*.",
                    repository="https://github.com/example/detail", documentation="https://docs.example.com/d",
                    changelog="https://github.com/example/detail/releases", videos=["https://youtube.com/watch?v=x"],
                    features=["Automatic entity discovery", "Custom processors"],
                    support={"email": "support@example.com", "documentation": "https://docs.example.com/d",
                             "issues": "https://github.com/example/detail/issues"},
                    stats={"stars": 25, "forks": 5, "issues": 3, "contributors": 4,
                           "lastCommit": "2024-08-07T09:00:00Z"},
                    pricing={"model": "freemium", "price": 9.5, "currency": "EUR"}, author={"url": "https://example.com"})
    schema = {"type": "object", "properties": {"apiUrl": {"type": "string"}}, "required": ["apiUrl"]}
    release(owner, plugin["id"], "1.2.3", "^1.35.0", ">=18.0.0", changelog="Bug fixes and improvements",
            compatibility={"backstage": "^1.35.0", "node": ">=18.0.0", "platform": ["linux", "darwin", "win32"]},
            dependencies=[{"name": "@backstage/core-plugin-api", "version": "^1.9.0"}],
            configuration={"schema": schema, "defaults": {"apiUrl": "https://a.example.com"},
                           "examples": [{"apiUrl": "https://b.example.com"}]},
            permissions=["catalog.read", "catalog.write"])
    expect(admin.patch(f"/plugins/{plugin['id']}", json={"verified": True}), 200)

    body = detail(anonymous, plugin["id"])
    by_name = detail(anonymous, name)
    assert by_name["data"] == body["data"] and by_name["links"] == body["links"]
    base = f"{PREFIX}/plugins/{plugin['id']}"
    assert body["links"]["self"] == base and body["links"]["install"] == f"{base}/install"
    assert body["links"]["reviews"] == f"{base}/reviews" and body["links"]["versions"] == f"{base}/versions"

    data = body["data"]
    assert data["id"] == plugin["id"] and data["id"].startswith("plugin_")
    assert data["name"] == name and data["displayName"] == name.replace("-", " ").title()
    assert data["description"] == f"The {name} plugin"
    assert data["longDescription"] == "# Title\n\nSome *markdown*."
    assert data["version"] == "1.2.3"
    assert data["author"] == {"id": owner.account["id"], "name": owner.account["name"],
                              "email": owner.account["email"], "url": "https://example.com", "verified": True}
    assert data["tags"] == ["detail", "e2e"]
    assert data["screenshots"] == [] and data["videos"] == ["https://youtube.com/watch?v=x"]
    assert data["repository"] == "https://github.com/example/detail"
    assert data["documentation"] == "https://docs.example.com/d"
    assert data["changelog"] == "https://github.com/example/detail/releases"
    assert data["license"] == "Apache-2.0" and data["verified"] is True and data["featured"] is False
    assert data["rating"] == {"average": 0.0, "count": 0, "distribution": EMPTY_DISTRIBUTION, "reviews": []}
    assert data["downloads"] == {"total": 0, "monthly": 0, "weekly": 0, "daily": 0}
    [version] = data["versions"]
    assert version["version"] == "1.2.3" and version["changelog"] == "Bug fixes and improvements"
    assert version["releaseDate"].endswith("Z")
    assert version["compatibility"] == {"backstage": "^1.35.0", "node": ">=18.0.0",
                                        "platform": ["linux", "darwin", "win32"]}
    assert data["dependencies"] == [{"name": "@backstage/core-plugin-api", "version": "^1.9.0"}]
    assert data["configuration"] == {"schema": schema, "defaults": {"apiUrl": "https://a.example.com"},
                                     "examples": [{"apiUrl": "https://b.example.com"}]}
    assert data["permissions"] == ["catalog.read", "catalog.write"]
    assert data["features"] == ["Automatic entity discovery", "Custom processors"]
    assert data["support"] == {"email": "support@example.com", "documentation": "https://docs.example.com/d",
                               "issues": "https://github.com/example/detail/issues"}
    assert data["stats"] == {"stars": 25, "forks": 5, "issues": 3, "contributors": 4,
                             "lastCommit": "2024-08-07T09:00:00.000Z"}
    assert data["compatibility"] == {"backstage": "^1.35.0", "node": ">=18.0.0",
                                     "platform": ["linux", "darwin", "win32"]}
    assert data["pricing"] == {"model": "freemium", "price": 9.5, "currency": "EUR"}


def test_a_new_plugin_shows_zeros_and_empty_lists(anonymous, owner):
    plugin = create(owner, slug("bare"), slug("cat"))
    release(owner, plugin["id"], "0.1.0")
    data = detail(anonymous, plugin["id"])["data"]
    assert data["rating"] == {"average": 0.0, "count": 0, "distribution": EMPTY_DISTRIBUTION, "reviews": []}
    assert data["downloads"] == {"total": 0, "monthly": 0, "weekly": 0, "daily": 0}
    assert data["stats"] == {"stars": 0, "forks": 0, "issues": 0, "contributors": 0, "lastCommit": None}
    assert data["screenshots"] == [] and data["videos"] == [] and data["features"] == [] and data["tags"] == []
    assert data["dependencies"] == [] and data["permissions"] == []
    assert data["icon"] is None and data["verified"] is False and data["featured"] is False


@pytest.mark.parametrize("ref", ["xyz", "plugin_0000000000000000", "no-such-plugin-at-all"])
def test_unknown_plugin_is_404_plugin_not_found_with_the_spec_message(anonymous, ref):
    for path in (f"/plugins/{ref}", f"/plugins/{ref}/versions", f"/plugins/{ref}/stats"):
        body = expect_error(anonymous.get(path), 404, "PLUGIN_NOT_FOUND")
        assert body["error"]["message"] == f"Plugin with ID '{ref}' not found"
        assert body["timestamp"].endswith("Z") and body["requestId"].startswith("req_")


def test_a_draft_is_visible_to_its_owner_only(anonymous, owner, shelf):
    draft = shelf["draft"]
    expect_error(anonymous.get(f"/plugins/{draft['id']}"), 404, "PLUGIN_NOT_FOUND")
    expect_error(anonymous.get(f"/plugins/{draft['name']}"), 404, "PLUGIN_NOT_FOUND")
    data = detail(owner, draft["id"])["data"]
    assert data["version"] is None and data["versions"] == []


def test_versions_are_paginated_newest_first(anonymous, owner):
    plugin = create(owner, slug("versions"), slug("cat"))
    for version in ("1.2.0", "1.10.0", "1.9.1"):
        release(owner, plugin["id"], version)
    assert detail(anonymous, plugin["id"])["data"]["version"] == "1.10.0"
    path = f"{PREFIX}/plugins/{plugin['id']}/versions"

    first = expect(anonymous.get(f"/plugins/{plugin['id']}/versions", params={"limit": 2}), 200)
    assert [v["version"] for v in first["data"]] == ["1.10.0", "1.9.1"]
    assert first["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2, "hasNextPage": True,
                                   "hasPrevPage": False}
    assert first["links"] == {"self": f"{path}?page=1&limit=2", "first": f"{path}?page=1&limit=2",
                              "next": f"{path}?page=2&limit=2", "last": f"{path}?page=2&limit=2"}
    second = expect(anonymous.get(first["links"]["next"]), 200)
    assert [v["version"] for v in second["data"]] == ["1.2.0"]
    assert second["pagination"]["hasPrevPage"] is True and second["pagination"]["hasNextPage"] is False
    version = second["data"][0]
    assert version["changelog"] == "Release 1.2.0" and version["yanked"] is False
    assert version["compatibility"] == {"backstage": "^1.30.0", "node": ">=18.0.0", "platform": []}
    assert version["package"]["url"] == f"{path}/1.2.0/package"
    everything = expect(anonymous.get(f"/plugins/{plugin['id']}/versions"), 200)
    assert everything["pagination"]["limit"] == 20 and len(everything["data"]) == 3
    assert bad_fields(anonymous.get(f"/plugins/{plugin['id']}/versions", params={"limit": 101, "page": 0})) == \
        {"limit", "page"}


def test_categories_and_tags_with_counts_of_public_plugins(anonymous, shelf):
    categories = expect(anonymous.get("/categories"), 200)["data"]
    assert {"name": shelf["category"], "count": 5} in categories  # the draft does not count
    assert categories == sorted(categories, key=lambda c: (-c["count"], c["name"]))
    tags = expect(anonymous.get("/tags"), 200)["data"]
    counts = {t["name"]: t["count"] for t in tags}
    assert counts[shelf["tag"]] == 5 and counts[shelf["shared_tag"]] == 2
    assert tags == sorted(tags, key=lambda t: (-t["count"], t["name"]))


# --- POST /plugins/search --------------------------------------------------------------------------------

def in_shelf(shelf, **body) -> dict:
    filters = {"categories": [shelf["category"]], **body.pop("filters", {})}
    return {"filters": filters, "sort": {"field": "name", "order": "asc"}, **body}


@pytest.mark.parametrize("filters, expected", [
    ({}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ({"tags": ["{shared}"]}, ["alpha", "charlie"]),
    ({"minRating": 4}, ["alpha", "bravo"]),
    ({"maxPrice": 10}, ["alpha", "bravo", "delta", "echo"]),
    ({"maxPrice": 50}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ({"verified": True}, ["delta"]),
    ({"featured": True, "verified": False}, ["echo"]),
    # Ranges intersect the declared ranges.
    ({"compatibility": {"backstage": "^1.38.0"}}, ["alpha", "charlie"]),
    ({"compatibility": {"backstage": ">=1.20.0 <1.25.0"}}, ["bravo"]),
    ({"compatibility": {"backstage": "1.36.5 - 1.37.2"}}, ["alpha", "charlie", "delta", "echo"]),
    ({"compatibility": {"backstage": "~1.36.0 || ^2.0.0"}}, ["alpha", "charlie", "delta"]),
    ({"compatibility": {"backstage": "1.36.0"}}, ["alpha", "charlie", "delta"]),
    ({"compatibility": {"backstage": ">=3.0.0"}}, []),
    ({"compatibility": {"node": ">=22.0.0"}}, ["alpha", "bravo", "delta", "echo"]),
    ({"compatibility": {"node": "<19.0.0"}}, ["alpha", "charlie", "delta"]),
    ({"compatibility": {"backstage": "^1.38.0", "node": "<19.0.0"}}, ["alpha", "charlie"]),
])
def test_search_filters(anonymous, shelf, filters, expected):
    filters = json.loads(json.dumps(filters).replace("{shared}", shelf["shared_tag"]))
    body = search(anonymous, in_shelf(shelf, filters=filters))
    assert keys(shelf, body) == expected, filters
    assert body["pagination"]["total"] == len(expected)


def test_search_categories_filter_takes_several(anonymous, shelf, owner):
    other = slug("cat")
    plugin = create(owner, slug("other"), other)
    release(owner, plugin["id"], "1.0.0")
    body = search(anonymous, {"filters": {"categories": [shelf["category"], other]}})
    assert body["pagination"]["total"] == 6 and plugin["id"] in [p["id"] for p in body["data"]]


def test_search_sorts_and_pagination(anonymous, shelf):
    path = f"{PREFIX}/plugins/search"
    body = search(anonymous, in_shelf(shelf, pagination={"page": 2, "limit": 2}))
    assert keys(shelf, body) == ["charlie", "delta"]
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": True,
                                  "hasPrevPage": True}
    assert body["links"] == {"self": f"{path}?page=2&limit=2", "first": f"{path}?page=1&limit=2",
                             "prev": f"{path}?page=1&limit=2", "next": f"{path}?page=3&limit=2",
                             "last": f"{path}?page=3&limit=2"}
    # Without a query, relevance (the default) means popularity.
    default = search(anonymous, {"filters": {"categories": [shelf["category"]]}})
    assert keys(shelf, default) == ["alpha", "charlie", "bravo"] + by_id(shelf, "delta", "echo")
    assert default["pagination"]["page"] == 1 and default["pagination"]["limit"] == 20
    for field in ("name", "popularity", "rating", "updated"):
        for order in ("asc", "desc"):
            searched = search(anonymous, {"filters": {"categories": [shelf["category"]]},
                                          "sort": {"field": field, "order": order}})
            listed = listing(anonymous, category=shelf["category"], sort=field, order=order)
            assert names(searched) == names(listed), (field, order)
    # With a query, results are still filtered, sorted and paginated.
    body = search(anonymous, {"query": shelf["base"], "filters": {"featured": True},
                              "sort": {"field": "name", "order": "desc"}})
    assert keys(shelf, body) == ["echo", "delta"]


@pytest.mark.parametrize("body, fields", [
    ({"query": 5}, {"query"}),
    ({"query": "x" * 201}, {"query"}),
    ({"unknown": 1}, {"unknown"}),
    ({"filters": {"minRating": 7}}, {"filters.minRating"}),
    ({"filters": {"maxPrice": -1}}, {"filters.maxPrice"}),
    ({"filters": {"colour": "red"}}, {"filters.colour"}),
    ({"filters": {"categories": "monitoring"}}, {"filters.categories"}),
    ({"filters": {"verified": "perhaps"}}, {"filters.verified"}),
    ({"filters": {"compatibility": {"backstage": "nonsense"}}}, {"filters.compatibility.backstage"}),
    ({"filters": {"compatibility": {"node": "^banana"}}}, {"filters.compatibility.node"}),
    ({"sort": {"field": "stars"}}, {"sort.field"}),
    ({"sort": {"order": "sideways"}}, {"sort.order"}),
    ({"pagination": {"limit": 101}}, {"pagination.limit"}),
    ({"pagination": {"limit": 0, "page": 0}}, {"pagination.limit", "pagination.page"}),
    ({"sort": {"field": "x"}, "pagination": {"page": -1}, "filters": {"minRating": -1}},
     {"sort.field", "pagination.page", "filters.minRating"}),
])
def test_search_errors_name_each_bad_field(anonymous, body, fields):
    assert bad_fields(anonymous.post("/plugins/search", json=body)) == fields


def test_search_body_must_be_a_json_object(anonymous):
    expect_error(anonymous.post("/plugins/search", data="{not json", headers={"Content-Type": "application/json"}),
                 400, "VALIDATION_ERROR")
    expect_error(anonymous.post("/plugins/search", json=["a list"]), 400, "VALIDATION_ERROR")


# --- relevance -------------------------------------------------------------------------------------------

def test_an_exact_name_match_ranks_first_and_names_outweigh_descriptions(anonymous, owner):
    category, term = slug("cat"), word()
    # Names without a trigram in common with the term: only the full-text match ranks these two.
    described = create(owner, unlike("rusty"), category, description=f"Mentions {term} in passing only")
    tagged = create(owner, unlike("turvy"), category, [term], description="Nothing to see")
    loud = create(owner, f"{term}-dashboard", category, [term], displayName=f"{term.title()} Dashboard",
                  description=f"{term} {term} {term}: everything about {term}")
    exact = create(owner, term, category, description="The plain one")
    unrelated = create(owner, slug("grafana"), category, description="Dashboards")
    for plugin in (described, tagged, loud, exact, unrelated):
        release(owner, plugin["id"], "1.0.0")
    for _ in range(3):  # more popular than all the others: relevance, not popularity, decides
        download(anonymous, described["id"], "1.0.0")

    body = search(anonymous, {"query": term, "filters": {"categories": [category]}})
    ranked = [p["id"] for p in body["data"]]
    assert ranked[0] == exact["id"], body["data"]
    assert set(ranked) == {exact["id"], loud["id"], tagged["id"], described["id"]}
    assert ranked.index(loud["id"]) < ranked.index(described["id"])  # name > description
    assert ranked.index(tagged["id"]) < ranked.index(described["id"])  # tags > description
    assert body["pagination"]["total"] == 4
    # Asking for relevance explicitly gives the same order.
    explicit = search(anonymous, {"query": term, "filters": {"categories": [category]},
                                  "sort": {"field": "relevance", "order": "desc"}})
    assert [p["id"] for p in explicit["data"]] == ranked
    # Another sort with the same query keeps the matches and orders them by that field.
    by_popularity = search(anonymous, {"query": term, "filters": {"categories": [category]},
                                       "sort": {"field": "popularity", "order": "desc"}})
    assert [p["id"] for p in by_popularity["data"]][0] == described["id"]
    # Prefixes match.
    prefixed = search(anonymous, {"query": term[:-3], "filters": {"categories": [category]}})
    assert {p["id"] for p in prefixed["data"]} == set(ranked)
    # The list's search parameter finds the same plugins.
    assert {p["id"] for p in listing(anonymous, search=term, category=category)["data"]} == set(ranked)
    assert search(anonymous, {"query": word("zz"), "filters": {"categories": [category]}})["data"] == []


def test_a_typo_still_finds_the_plugin(anonymous, owner):
    category = slug("cat")
    kubernetes = create(owner, slug("kubernetes"), category, description="Workloads of your services")
    other = create(owner, slug("grafana"), category, description="Dashboards and alerts")
    for plugin in (kubernetes, other):
        release(owner, plugin["id"], "1.0.0")
    body = search(anonymous, {"query": "kubernets", "filters": {"categories": [category]}})
    assert [p["id"] for p in body["data"]] == [kubernetes["id"]]
    assert [p["id"] for p in listing(anonymous, search="kubernets", category=category)["data"]] == \
        [kubernetes["id"]]
    assert [p["id"] for p in search(anonymous, {"query": "kuber", "filters": {"categories": [category]}})[
        "data"]] == [kubernetes["id"]]


# --- statistics ------------------------------------------------------------------------------------------

ZERO_STATS = {
    "usage": {"installations": 0, "activeInstallations": 0, "dailyActiveUsers": 0,
              "apiCalls": {"daily": 0, "weekly": 0, "monthly": 0}},
    "performance": {"averageResponseTime": 0, "p95ResponseTime": 0, "p99ResponseTime": 0, "errorRate": 0,
                    "availability": 0},
    "trends": {"installationGrowth": 0.0, "usageGrowth": 0.0, "ratingTrend": 0.0},
}


def test_stats_move_after_downloads_installs_and_telemetry(anonymous, admin, owner):
    plugin = create(owner, slug("stats"), slug("cat"))
    release(owner, plugin["id"], "1.0.0")
    plugin_id = plugin["id"]
    before = stats_of(anonymous, plugin_id)
    assert {key: before[key] for key in ZERO_STATS} == ZERO_STATS
    assert before["downloads"] == {"total": 0, "monthly": 0, "weekly": 0, "daily": 0}

    # Downloads.
    for _ in range(2):
        download(anonymous, plugin_id, "1.0.0")
    assert detail(anonymous, plugin_id)["data"]["downloads"] == {"total": 2, "monthly": 2, "weekly": 2, "daily": 2}
    assert expect(anonymous.get(f"/plugins/{plugin_id}/versions/1.0.0"), 200)["data"]["downloads"] == 2
    assert stats_of(anonymous, plugin_id)["downloads"] == {"total": 2, "monthly": 2, "weekly": 2, "daily": 2}

    # An installation.
    installer = new_account(admin, "user")
    installation = wait_until_installable(installer, plugin_id)
    wait_for_installation(installer, installation["installationId"])

    def installed():
        usage = stats_of(anonymous, plugin_id)["usage"]
        return usage["installations"] == 1 and usage["activeInstallations"] == 1

    wait_for(installed, timeout=30, interval=0.2, message="the installation in the plugin's stats")
    data = stats_of(anonymous, plugin_id)
    assert data["trends"]["installationGrowth"] == 100.0
    # The install fetched the package too: the list shows the plugin's current download total.
    total = detail(anonymous, plugin_id)["data"]["downloads"]["total"]
    assert total >= 2 and listing(anonymous, category=plugin["category"])["data"][0]["downloads"] == total

    # Telemetry from two installations.
    url = f"/plugins/{plugin_id}/telemetry"
    first = {"installationId": installation["installationId"], "activeUsers": 7, "apiCalls": 1200,
             "requests": 100, "errors": 2, "responseTimesMs": [float(v) for v in range(10, 101, 10)],
             "healthy": True}
    accepted = expect(installer.post(url, json=first), 202)["data"]
    assert accepted == {"accepted": True, "pluginId": plugin_id}
    data = stats_of(anonymous, plugin_id)
    assert data["usage"]["dailyActiveUsers"] == 7
    assert data["usage"]["apiCalls"] == {"daily": 1200, "weekly": 1200, "monthly": 1200}
    assert data["performance"]["averageResponseTime"] == 55.0
    assert data["performance"]["p95ResponseTime"] == 100 and data["performance"]["p99ResponseTime"] == 100
    assert data["performance"]["errorRate"] == 0.02
    assert 0 < data["performance"]["availability"] <= 100
    assert data["trends"]["usageGrowth"] == 100.0

    second = {"installationId": "install_elsewhere", "activeUsers": 3, "apiCalls": 300, "requests": 100,
              "errors": 0, "responseTimesMs": [200.0], "healthy": False}
    expect(installer.post(url, json=second), 202)
    after = stats_of(anonymous, plugin_id)
    assert after["usage"]["dailyActiveUsers"] == 10
    assert after["usage"]["apiCalls"] == {"daily": 1500, "weekly": 1500, "monthly": 1500}
    assert after["performance"]["averageResponseTime"] == round(750 / 11, 1)
    assert after["performance"]["p95ResponseTime"] == 200 and after["performance"]["p99ResponseTime"] == 200
    assert after["performance"]["errorRate"] == 0.01
    assert 0 < after["performance"]["availability"] < 100  # one unhealthy report among healthy ones
    assert after["usage"]["installations"] == 1


@pytest.fixture(scope="module")
def reporter(admin):
    return new_account(admin, "user")


@pytest.fixture(scope="module")
def telemetry_plugin(owner):
    plugin = create(owner, slug("telemetry"), slug("cat"))
    release(owner, plugin["id"], "1.0.0")
    return plugin


@pytest.mark.parametrize("body, fields", [
    ({"activeUsers": -1}, {"activeUsers"}),
    ({"apiCalls": 10 ** 12}, {"apiCalls"}),
    ({"responseTimesMs": [1] * 1001}, {"responseTimesMs"}),
    ({"requests": 1, "errors": 2}, {"errors"}),
    ({"healthy": "perhaps"}, {"healthy"}),
    ({"cpu": 1}, {"cpu"}),
    ({"installationId": "bad id!"}, {"installationId"}),
    ({"activeUsers": "many", "cpu": 1}, {"activeUsers", "cpu"}),
])
def test_telemetry_is_bounded_and_validated(reporter, telemetry_plugin, body, fields):
    response = reporter.post(f"/plugins/{telemetry_plugin['id']}/telemetry", json=body)
    assert {field.split(".")[0].split("[")[0] for field in bad_fields(response)} == fields
    assert stats_of(reporter, telemetry_plugin["id"])["usage"]["apiCalls"]["monthly"] == 0


def test_telemetry_needs_a_signed_in_caller_and_a_known_plugin(anonymous, reporter, telemetry_plugin):
    expect_error(anonymous.post(f"/plugins/{telemetry_plugin['id']}/telemetry", json={"apiCalls": 5}),
                 401, "UNAUTHORIZED")
    expect_error(reporter.post("/plugins/no-such-plugin-xyz/telemetry", json={"apiCalls": 5}),
                 404, "PLUGIN_NOT_FOUND")
    assert stats_of(anonymous, telemetry_plugin["id"])["usage"]["apiCalls"]["monthly"] == 0
