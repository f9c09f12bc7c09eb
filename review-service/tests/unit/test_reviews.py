"""Writing, reading, listing, editing and deleting reviews through the HTTP API."""

import hashlib

import pytest

PREFIX = "/api/marketplace/v1"


@pytest.fixture
def post_review(client, auth, plugin):
    def post_review(account_id="acct_ann", rating=5, title="Great", review="Works well", plugin_ref=plugin, **who):
        return client.post(f"{PREFIX}/plugins/{plugin_ref}/reviews", headers=auth(account_id, **who),
                           json={"rating": rating, "title": title, "review": review})
    return post_review


def test_create_review_returns_the_spec_shape(post_review):
    response = post_review()
    assert response.status_code == 201
    review = response.get_json()["data"]
    assert review["id"].startswith("review_")
    assert review["pluginId"] == "plugin_abc"
    assert (review["rating"], review["title"], review["review"], review["helpful"]) == (5, "Great", "Works well", 0)
    email_hash = hashlib.sha256(b"ann@example.com").hexdigest()
    assert review["user"] == {"id": "acct_ann", "name": "Ann",
                              "avatar": f"https://www.gravatar.com/avatar/{email_hash}?d=identicon"}
    assert review["createdAt"].endswith("Z")
    assert review["verifiedInstall"] is False and review["hidden"] is False
    assert "moderation" not in review


def test_avatar_uses_the_lower_cased_email(post_review):
    review = post_review(email="  Ann@Example.COM ").get_json()["data"]
    assert hashlib.sha256(b"ann@example.com").hexdigest() in review["user"]["avatar"]


def test_plugin_can_be_named_instead_of_its_id(post_review, client):
    assert post_review(plugin_ref="catalog-backend").get_json()["data"]["pluginId"] == "plugin_abc"
    listed = client.get(f"{PREFIX}/plugins/catalog-backend/reviews").get_json()
    assert [review["pluginId"] for review in listed["data"]] == ["plugin_abc"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_plugin_is_plugin_not_found(client, auth, method):
    response = getattr(client, method)(f"{PREFIX}/plugins/xyz/reviews", headers=auth(), json={"rating": 4})
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error == {"code": "PLUGIN_NOT_FOUND", "message": "Plugin with ID 'xyz' not found", "details": {}}


def test_unpublished_plugin_cannot_be_reviewed(post_review, deliver):
    deliver("plugin.unpublished", {"pluginId": "plugin_abc", "ownerId": "acct_owner"})
    response = post_review()
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "PLUGIN_NOT_FOUND"


def test_second_review_of_the_same_plugin_is_a_conflict(post_review):
    first = post_review().get_json()["data"]
    response = post_review(rating=1)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "CONFLICT"
    assert error["details"] == {"reason": "REVIEW_EXISTS", "reviewId": first["id"]}


def test_writing_needs_a_signed_in_caller(client, plugin, auth):
    assert client.post(f"{PREFIX}/plugins/{plugin}/reviews", json={"rating": 5}).status_code == 401
    anonymous = client.post(f"{PREFIX}/plugins/{plugin}/reviews", json={"rating": 5},
                            headers=auth("anonymous", role="anonymous"))
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_markup_is_stored_and_returned_as_given(post_review, client):
    title, text = "<script>alert(1)</script>", "**bold** & <b>tags</b> \"quoted\""
    review = post_review(title=title, review=text).get_json()["data"]
    again = client.get(f"{PREFIX}/reviews/{review['id']}").get_json()["data"]
    assert (again["title"], again["review"]) == (title, text)
    assert "<script>alert(1)</script>" in client.get(f"{PREFIX}/reviews/{review['id']}").get_data(as_text=True)


def test_title_and_text_are_optional(client, auth, plugin):
    response = client.post(f"{PREFIX}/plugins/{plugin}/reviews", headers=auth(), json={"rating": 3})
    assert response.status_code == 201
    assert (response.get_json()["data"]["title"], response.get_json()["data"]["review"]) == ("", "")


def test_get_unknown_review_is_review_not_found(client):
    response = client.get(f"{PREFIX}/reviews/review_nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "REVIEW_NOT_FOUND"


def test_list_sorts_filters_and_paginates(post_review, client, auth):
    ids = {}
    for account, rating in (("acct_a", 3), ("acct_b", 5), ("acct_c", 1), ("acct_d", 5)):
        ids[account] = post_review(account, rating=rating).get_json()["data"]["id"]
    client.post(f"{PREFIX}/reviews/{ids['acct_c']}/helpful", headers=auth("acct_x"))
    client.post(f"{PREFIX}/reviews/{ids['acct_c']}/helpful", headers=auth("acct_y"))
    client.post(f"{PREFIX}/reviews/{ids['acct_a']}/helpful", headers=auth("acct_x"))

    def listed(query):
        body = client.get(f"{PREFIX}/plugins/plugin_abc/reviews?{query}").get_json()
        return [review["user"]["id"] for review in body["data"]], body

    assert listed("")[0] == ["acct_d", "acct_c", "acct_b", "acct_a"]
    assert listed("sort=recent&order=asc")[0] == ["acct_a", "acct_b", "acct_c", "acct_d"]
    assert listed("sort=helpful")[0] == ["acct_c", "acct_a", "acct_d", "acct_b"]
    assert listed("sort=rating")[0] == ["acct_d", "acct_b", "acct_a", "acct_c"]
    assert listed("sort=rating&order=asc")[0] == ["acct_c", "acct_a", "acct_d", "acct_b"]
    assert listed("rating=5")[0] == ["acct_d", "acct_b"]
    accounts, body = listed("limit=3&page=2")
    assert accounts == ["acct_a"]
    assert body["pagination"] == {"page": 2, "limit": 3, "total": 4, "totalPages": 2,
                                  "hasNextPage": False, "hasPrevPage": True}
    assert body["links"]["prev"].endswith("page=1&limit=3")
    assert body["metadata"]["requestId"].startswith("req_")


def test_empty_list_has_the_spec_shape(client, plugin):
    body = client.get(f"{PREFIX}/plugins/{plugin}/reviews").get_json()
    assert body["data"] == [] and body["pagination"]["total"] == 0
    assert set(body) == {"data", "pagination", "links", "metadata"}


def test_author_edits_own_review(post_review, client, auth):
    review = post_review().get_json()["data"]
    response = client.patch(f"{PREFIX}/reviews/{review['id']}", headers=auth(name="Ann B."),
                            json={"rating": 2, "review": "Broke after the upgrade"})
    assert response.status_code == 200
    edited = response.get_json()["data"]
    assert (edited["rating"], edited["title"], edited["review"]) == (2, "Great", "Broke after the upgrade")
    assert edited["user"]["name"] == "Ann B."
    assert edited["updatedAt"] >= edited["createdAt"]


@pytest.mark.parametrize("role", ["user", "admin"])
def test_others_cannot_edit_a_review(post_review, client, auth, role):
    review = post_review().get_json()["data"]
    response = client.patch(f"{PREFIX}/reviews/{review['id']}", headers=auth("acct_bob", role=role),
                            json={"rating": 1})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "FORBIDDEN"


def test_edit_of_unknown_review_is_not_found(client, auth):
    response = client.patch(f"{PREFIX}/reviews/review_nope", headers=auth(), json={"rating": 1})
    assert response.status_code == 404


def test_author_deletes_own_review_and_may_review_again(post_review, client, auth):
    review = post_review().get_json()["data"]
    response = client.delete(f"{PREFIX}/reviews/{review['id']}", headers=auth())
    assert response.status_code == 204
    assert client.get(f"{PREFIX}/reviews/{review['id']}").status_code == 404
    assert post_review().status_code == 201


def test_admin_deletes_any_review_others_cannot(post_review, client, auth):
    review = post_review().get_json()["data"]
    client.post(f"{PREFIX}/reviews/{review['id']}/helpful", headers=auth("acct_x"))
    client.post(f"{PREFIX}/reviews/{review['id']}/report", headers=auth("acct_x"), json={"reason": "spam"})
    assert client.delete(f"{PREFIX}/reviews/{review['id']}", headers=auth("acct_bob")).status_code == 403
    assert client.delete(f"{PREFIX}/reviews/{review['id']}", headers=auth("acct_root", role="admin")).status_code == 204
    assert client.get(f"{PREFIX}/reviews/{review['id']}").status_code == 404


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/api/marketplace/v1/plugins/{plugin_id}/reviews", "/api/marketplace/v1/reviews/{review_id}",
                 "/api/marketplace/v1/reviews/{review_id}/helpful", "/api/marketplace/v1/reviews/{review_id}/report",
                 "/api/marketplace/v1/reviews/{review_id}/hide", "/api/marketplace/v1/reviews/{review_id}/restore"):
        assert path in paths
