"""Reviews through the gateway (issue 7): a review moves the plugin's rating, distribution and position under
sort=rating within seconds; one review per account; helpful votes once and never on one's own; reports; admin
moderation moves the aggregate and visibility; bad input is a VALIDATION_ERROR naming the field; markup is plain
text; verifiedInstall appears after the reviewer installs the plugin."""

import pytest

from api_client import expect, expect_error
from factories import new_account, publish_plugin, wait_for_installation, wait_until_installable, wait_until_reviewable
from marketplace_shared.testing import unique_name, wait_for

EMPTY = {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}


def distribution(**counts) -> dict:
    return EMPTY | {key.lstrip("r"): value for key, value in counts.items()}


def rating_of(client, plugin_id) -> dict:
    return expect(client.get(f"/plugins/{plugin_id}"), 200)["data"]["rating"]


def wait_for_rating(client, plugin_id, average, count, dist=None, timeout=20) -> dict:
    """GET /plugins/{id} shows this average and count (and distribution) within seconds."""
    def shown():
        rating = rating_of(client, plugin_id)
        if rating["average"] == average and rating["count"] == count and (dist is None or
                                                                          rating["distribution"] == dist):
            return rating
        return None

    try:
        return wait_for(shown, timeout=timeout, interval=0.1, message=f"rating {average}/{count} of {plugin_id}")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; last seen {rating_of(client, plugin_id)}") from exc


def listed_ids(client, **params) -> list[str]:
    return [plugin["id"] for plugin in expect(client.get("/plugins", params=params), 200)["data"]]


def wait_for_listing(client, expected: list[str], timeout=20, **params) -> list[str]:
    try:
        return wait_for(lambda: listed_ids(client, **params) == expected, timeout=timeout, interval=0.1,
                        message=f"GET /plugins?{params} == {expected}")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; last seen {listed_ids(client, **params)}") from exc


def field_errors(response, *fields) -> dict:
    body = expect_error(response, 400, "VALIDATION_ERROR")
    named = body["error"].get("details", {}).get("fields", {})
    for field in fields:
        assert field in named, body
    return named


@pytest.fixture
def plugin(publisher) -> dict:
    return publish_plugin(publisher)


def test_a_review_moves_the_rating_distribution_and_reviews_of_the_plugin(admin, anonymous, plugin):
    first_user, second_user = new_account(admin, "user"), new_account(admin, "user")
    assert rating_of(anonymous, plugin["id"]) | {"reviews": []} == {"average": 0.0, "count": 0,
                                                                      "distribution": EMPTY, "reviews": []}

    first = wait_until_reviewable(first_user, plugin["id"], rating=4, title="Solid", review="Does the job")
    assert first["id"].startswith("review_")
    assert first["pluginId"] == plugin["id"] and first["rating"] == 4 and first["helpful"] == 0
    assert first["title"] == "Solid" and first["review"] == "Does the job"
    assert first["user"]["id"] == first_user.account["id"]
    assert first["user"]["name"] == first_user.account["name"]
    assert first["user"]["avatar"].startswith("https://")
    assert first["verifiedInstall"] is False and first["createdAt"].endswith("Z")

    rating = wait_for_rating(anonymous, plugin["id"], 4.0, 1, distribution(r4=1))
    assert [review["id"] for review in rating["reviews"]] == [first["id"]]
    shown = rating["reviews"][0]
    assert {key: shown[key] for key in ("rating", "title", "review", "helpful", "createdAt")} == \
        {"rating": 4, "title": "Solid", "review": "Does the job", "helpful": 0, "createdAt": first["createdAt"]}
    assert shown["user"] == first["user"]
    summary = expect(anonymous.get("/plugins", params={"search": plugin["name"]}), 200)["data"]
    assert {"average": 4.0, "count": 1} in [p["rating"] for p in summary if p["id"] == plugin["id"]]

    second = expect(second_user.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 1, "title": "Broke"}), 201)
    second = second["data"]
    wait_for_rating(anonymous, plugin["id"], 2.5, 2, distribution(r4=1, r1=1))

    # One review per account and plugin: a second one is a conflict, the aggregate does not move.
    duplicate = expect_error(first_user.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 1}), 409, "CONFLICT")
    assert duplicate["error"]["details"].get("reviewId") == first["id"], duplicate
    listed = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews"), 200)
    assert listed["pagination"]["total"] == 2
    assert sorted(review["id"] for review in listed["data"]) == sorted([first["id"], second["id"]])
    assert {review["user"]["id"] for review in listed["data"]} == {first_user.account["id"], second_user.account["id"]}

    # Edit with PATCH moves the aggregate; only the author may edit.
    expect_error(second_user.patch(f"/reviews/{first['id']}", json={"rating": 1}), 403, "FORBIDDEN")
    edited = expect(first_user.patch(f"/reviews/{first['id']}", json={"rating": 5, "title": "Great now"}), 200)["data"]
    assert edited["rating"] == 5 and edited["title"] == "Great now" and edited["review"] == "Does the job"
    rating = wait_for_rating(anonymous, plugin["id"], 3.0, 2, distribution(r5=1, r1=1))
    assert {review["id"]: review["rating"] for review in rating["reviews"]} == {first["id"]: 5, second["id"]: 1}

    # Filters and sorts of the plugin's review list.
    only_fives = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews", params={"rating": 5}), 200)
    assert [review["id"] for review in only_fives["data"]] == [first["id"]]
    by_rating = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews", params={"sort": "rating", "order": "asc"}),
                       200)
    assert [review["id"] for review in by_rating["data"]] == [second["id"], first["id"]]

    # Delete: only the author (or an administrator); the aggregate follows.
    expect_error(first_user.delete(f"/reviews/{second['id']}"), 403, "FORBIDDEN")
    expect(second_user.delete(f"/reviews/{second['id']}"), 204)
    expect_error(anonymous.get(f"/reviews/{second['id']}"), 404, "REVIEW_NOT_FOUND")
    rating = wait_for_rating(anonymous, plugin["id"], 5.0, 1, distribution(r5=1))
    assert [review["id"] for review in rating["reviews"]] == [first["id"]]
    # After deleting, the account may review again.
    again = expect(second_user.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 3}), 201)["data"]
    wait_for_rating(anonymous, plugin["id"], 4.0, 2, distribution(r5=1, r3=1))
    expect(admin.delete(f"/reviews/{again['id']}"), 204)
    wait_for_rating(anonymous, plugin["id"], 5.0, 1, distribution(r5=1))


def test_reviews_move_the_position_under_sort_rating_and_min_rating(admin, anonymous, publisher):
    tag = unique_name("rated").replace("_", "-")
    a, b, c = (publish_plugin(publisher, tags=[tag])["id"] for _ in range(3))
    first_user, second_user = new_account(admin, "user"), new_account(admin, "user")
    by_rating = {"tags": tag, "sort": "rating", "order": "desc"}

    a_first = wait_until_reviewable(first_user, a, rating=3)
    wait_until_reviewable(first_user, b, rating=4)
    wait_for_listing(anonymous, [b, a, c], **by_rating)
    wait_for_listing(anonymous, [b], tags=tag, minRating=3.5)

    # A new review lifts the unrated plugin to the top.
    wait_until_reviewable(second_user, c, rating=5)
    wait_for_listing(anonymous, [c, b, a], **by_rating)
    wait_for_listing(anonymous, [a, b, c], **(by_rating | {"order": "asc"}))
    wait_for_listing(anonymous, [c, b], tags=tag, minRating=3.5, sort="rating")

    # A second review and an edit move A (3 -> (4 + 5) / 2 = 4.5) above B (4).
    expect(second_user.post(f"/plugins/{a}/reviews", json={"rating": 5}), 201)
    expect(first_user.patch(f"/reviews/{a_first['id']}", json={"rating": 4}), 200)
    wait_for_listing(anonymous, [c, a, b], **by_rating)
    wait_for_listing(anonymous, [c, a], tags=tag, minRating=4.5, sort="rating")
    ratings = {p["id"]: p["rating"] for p in expect(anonymous.get("/plugins", params=by_rating), 200)["data"]}
    assert ratings == {c: {"average": 5.0, "count": 1}, a: {"average": 4.5, "count": 2},
                       b: {"average": 4.0, "count": 1}}


def test_helpful_once_per_account_never_on_ones_own_and_reports(admin, anonymous, plugin):
    author, voter, other = (new_account(admin, "user") for _ in range(3))
    review = wait_until_reviewable(author, plugin["id"], rating=4)
    plain = expect(other.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 2}), 201)["data"]

    own = expect_error(author.post(f"/reviews/{review['id']}/helpful"), 403, "FORBIDDEN")
    assert own["error"]["details"].get("reason") == "OWN_REVIEW", own
    expect_error(anonymous.post(f"/reviews/{review['id']}/helpful"), 401, "UNAUTHORIZED")
    assert expect(voter.post(f"/reviews/{review['id']}/helpful"), 200)["data"]["helpful"] == 1
    expect_error(voter.post(f"/reviews/{review['id']}/helpful"), 409, "CONFLICT")
    assert expect(other.post(f"/reviews/{review['id']}/helpful"), 200)["data"]["helpful"] == 2
    assert expect(anonymous.get(f"/reviews/{review['id']}"), 200)["data"]["helpful"] == 2
    expect_error(voter.post("/reviews/review_doesnotexist0000/helpful"), 404, "REVIEW_NOT_FOUND")

    # The most helpful review comes first, here and in the plugin's details.
    helpful = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews", params={"sort": "helpful"}), 200)["data"]
    assert [(r["id"], r["helpful"]) for r in helpful] == [(review["id"], 2), (plain["id"], 0)]

    def details_show_the_votes():
        reviews = rating_of(anonymous, plugin["id"])["reviews"]
        return [(r["id"], r["helpful"]) for r in reviews] == [(review["id"], 2), (plain["id"], 0)]

    wait_for(details_show_the_votes, timeout=20, interval=0.1, message="helpful votes in the plugin's details")

    # Reports: once per account, not one's own, a reason is required; administrators see the count.
    reported = expect(voter.post(f"/reviews/{review['id']}/report", json={"reason": "Spam link"}), 201)["data"]
    assert reported["reviewId"] == review["id"] and reported["reason"] == "Spam link"
    expect_error(voter.post(f"/reviews/{review['id']}/report", json={"reason": "Again"}), 409, "CONFLICT")
    expect_error(author.post(f"/reviews/{review['id']}/report", json={"reason": "Mine"}), 403, "FORBIDDEN")
    expect_error(anonymous.post(f"/reviews/{review['id']}/report", json={"reason": "x"}), 401, "UNAUTHORIZED")
    field_errors(other.post(f"/reviews/{review['id']}/report", json={}), "reason")
    assert expect(admin.get(f"/reviews/{review['id']}"), 200)["data"]["moderation"]["reports"] == 1
    assert "moderation" not in expect(voter.get(f"/reviews/{review['id']}"), 200)["data"]


def test_admin_hide_and_restore_change_the_aggregate_and_visibility(admin, anonymous, publisher, plugin):
    author, fan = new_account(admin, "user"), new_account(admin, "user")
    bad = wait_until_reviewable(author, plugin["id"], rating=1, title="Rant")
    good = expect(fan.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 5}), 201)["data"]
    wait_for_rating(anonymous, plugin["id"], 3.0, 2, distribution(r5=1, r1=1))

    # Only administrators moderate: not the author, another user, nor the plugin's publisher.
    for client in (author, fan, publisher):
        expect_error(client.post(f"/reviews/{bad['id']}/hide", json={"reason": "no"}), 403, "FORBIDDEN")
    expect_error(anonymous.post(f"/reviews/{bad['id']}/hide", json={}), 401, "UNAUTHORIZED")

    hidden = expect(admin.post(f"/reviews/{bad['id']}/hide", json={"reason": "Abusive"}), 200)["data"]
    assert hidden["hidden"] is True and hidden["moderation"]["hiddenReason"] == "Abusive"
    rating = wait_for_rating(anonymous, plugin["id"], 5.0, 1, distribution(r5=1))
    assert [review["id"] for review in rating["reviews"]] == [good["id"]]
    public = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews"), 200)
    assert [review["id"] for review in public["data"]] == [good["id"]] and public["pagination"]["total"] == 1
    expect_error(anonymous.get(f"/reviews/{bad['id']}"), 404, "REVIEW_NOT_FOUND")
    expect_error(fan.get(f"/reviews/{bad['id']}"), 404, "REVIEW_NOT_FOUND")
    expect_error(fan.post(f"/reviews/{bad['id']}/helpful"), 404, "REVIEW_NOT_FOUND")
    assert expect(author.get(f"/reviews/{bad['id']}"), 200)["data"]["hidden"] is True
    moderated = expect(admin.get(f"/plugins/{plugin['id']}/reviews"), 200)["data"]
    assert {review["id"]: review["hidden"] for review in moderated} == {bad["id"]: True, good["id"]: False}

    for client in (author, fan, publisher):
        expect_error(client.post(f"/reviews/{bad['id']}/restore"), 403, "FORBIDDEN")
    restored = expect(admin.post(f"/reviews/{bad['id']}/restore"), 200)["data"]
    assert restored["hidden"] is False
    rating = wait_for_rating(anonymous, plugin["id"], 3.0, 2, distribution(r5=1, r1=1))
    assert {review["id"] for review in rating["reviews"]} == {bad["id"], good["id"]}
    assert expect(anonymous.get(f"/reviews/{bad['id']}"), 200)["data"]["hidden"] is False


def test_bad_input_is_a_validation_error_naming_the_field(admin, anonymous, plugin):
    author = new_account(admin, "user")
    path = f"/plugins/{plugin['id']}/reviews"
    review = wait_until_reviewable(author, plugin["id"], rating=3)
    reviewer = new_account(admin, "user")

    for rating in (0, 6, -1, 4.5, "5", True, None):
        field_errors(reviewer.post(path, json={"rating": rating, "title": "t"}), "rating")
        field_errors(author.patch(f"/reviews/{review['id']}", json={"rating": rating}), "rating")
    field_errors(reviewer.post(path, json={"title": "no rating"}), "rating")
    field_errors(reviewer.post(path, json={"rating": 4, "title": "x" * 121}), "title")
    field_errors(reviewer.post(path, json={"rating": 4, "review": "x" * 5001}), "review")
    field_errors(reviewer.post(path, json={"rating": 4, "title": 7}), "title")
    field_errors(reviewer.post(path, json={"rating": 4, "stars": 5}), "stars")
    field_errors(author.patch(f"/reviews/{review['id']}", json={"title": "x" * 121}), "title")
    field_errors(author.patch(f"/reviews/{review['id']}", json={"verifiedInstall": True}), "verifiedInstall")
    field_errors(anonymous.get(path, params={"sort": "stars"}), "sort")
    field_errors(anonymous.get(path, params={"rating": 9}), "rating")
    not_json = reviewer.post(path, data="rating=5", headers={"Content-Type": "text/plain"})
    assert not_json.status_code in (400, 415) and not_json.json()["error"]["code"] in ("VALIDATION_ERROR",
                                                                                          "UNSUPPORTED_MEDIA_TYPE")

    # Nothing was stored, nothing moved; the limits themselves are accepted.
    assert expect(anonymous.get(path), 200)["pagination"]["total"] == 1
    assert expect(anonymous.get(f"/reviews/{review['id']}"), 200)["data"]["rating"] == 3
    longest = expect(reviewer.post(path, json={"rating": 1, "title": "t" * 120, "review": "r" * 5000}), 201)["data"]
    assert len(longest["title"]) == 120 and len(longest["review"]) == 5000
    wait_for_rating(anonymous, plugin["id"], 2.0, 2, distribution(r3=1, r1=1))


def test_markup_is_stored_and_returned_as_plain_text(admin, anonymous, plugin, user):
    title = '<script>alert("t")</script> & <b>bold</b>'
    text = "<img src=x onerror=alert(1)> &amp; {{ 7*7 }} ${7*7} **md** <a href='javascript:x'>link</a>\nline 2 😀"
    created = wait_until_reviewable(user, plugin["id"], rating=5, title=title, review=text)
    assert (created["title"], created["review"]) == (title, text)
    response = anonymous.get(f"/reviews/{created['id']}")
    assert response.headers["Content-Type"].startswith("application/json")
    assert (expect(response, 200)["data"]["title"], response.json()["data"]["review"]) == (title, text)
    listed = expect(anonymous.get(f"/plugins/{plugin['id']}/reviews"), 200)["data"]
    assert [(r["title"], r["review"]) for r in listed] == [(title, text)]
    shown = wait_for_rating(anonymous, plugin["id"], 5.0, 1)["reviews"]
    assert [(r["title"], r["review"]) for r in shown] == [(title, text)]


def test_unknown_plugin_unknown_review_and_anonymous_callers(admin, anonymous, plugin, user):
    missing = expect_error(user.post("/plugins/plugin_doesnotexist000/reviews", json={"rating": 5}), 404,
                           "PLUGIN_NOT_FOUND")
    assert "plugin_doesnotexist000" in missing["error"]["message"]
    expect_error(anonymous.get("/plugins/plugin_doesnotexist000/reviews"), 404, "PLUGIN_NOT_FOUND")
    expect_error(anonymous.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 5}), 401, "UNAUTHORIZED")
    review = wait_until_reviewable(user, plugin["id"], rating=2)
    expect_error(anonymous.patch(f"/reviews/{review['id']}", json={"rating": 5}), 401, "UNAUTHORIZED")
    expect_error(anonymous.delete(f"/reviews/{review['id']}"), 401, "UNAUTHORIZED")
    for method in ("patch", "delete"):
        kwargs = {"json": {"rating": 5}} if method == "patch" else {}
        expect_error(getattr(user, method)("/reviews/review_doesnotexist0000", **kwargs), 404, "REVIEW_NOT_FOUND")
    expect_error(admin.post("/reviews/review_doesnotexist0000/hide", json={}), 404, "REVIEW_NOT_FOUND")
    # The anonymous attempts changed nothing.
    assert expect(anonymous.get(f"/reviews/{review['id']}"), 200)["data"]["rating"] == 2
    assert expect(anonymous.get(f"/plugins/{plugin['id']}/reviews"), 200)["pagination"]["total"] == 1


def test_verified_install_appears_after_the_reviewer_installs_the_plugin(admin, anonymous, plugin, user):
    bystander = new_account(admin, "user")
    review = wait_until_reviewable(user, plugin["id"], rating=4)
    other = expect(bystander.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 3}), 201)["data"]
    assert review["verifiedInstall"] is False and other["verifiedInstall"] is False

    installation = wait_until_installable(user, plugin["id"])
    wait_for_installation(user, installation["installationId"])
    wait_for(lambda: expect(anonymous.get(f"/reviews/{review['id']}"), 200)["data"]["verifiedInstall"] is True,
             timeout=20, interval=0.1, message="the reviewer's review to be a verified install")
    listed = {r["id"]: r["verifiedInstall"] for r in
              expect(anonymous.get(f"/plugins/{plugin['id']}/reviews"), 200)["data"]}
    assert listed == {review["id"]: True, other["id"]: False}
