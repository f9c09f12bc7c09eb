"""Reviews on the plugin page: write, edit, delete one's own, vote helpful, report; signed in and out; CSRF; XSS."""

import re

from flask import request

from ...conftest import csrf_from, sign_in
from ...fake_gateway import XSS
from .fake_areas import text

PAGE = "/plugins/metrics-board"




def post_from(client, page_path, action, data):
    token = csrf_from(text(client.get(page_path)))
    return client.post(action, data={"csrf_token": token, **data})


def test_signed_out_sees_reviews_and_an_invitation_to_sign_in(client):
    page = text(client.get(PAGE))
    assert "3 found this helpful" in page and "Sign in</a> to write a review" in page
    assert "Write a review" not in page and "/helpful" not in page


def test_write_a_review_and_see_it_on_the_page(user_client, fake):
    response = post_from(user_client, PAGE, f"{PAGE}/reviews",
                         {"plugin": "metrics-board", "rating": "5", "title": "Great", "review": "Works well"})
    assert response.status_code == 303 and response.headers["Location"].startswith(f"{PAGE}#review-review_")
    sent = next(r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/reviews"))
    assert sent["json"] == {"rating": 5, "title": "Great", "review": "Works well"}
    assert sent["headers"]["Authorization"] == "Bearer mkp_user"
    page = text(user_client.get(PAGE))
    assert "Thank you: your review is published." in page
    assert "Works well" in page and "Edit your review" in page and "Delete your review" in page
    assert "Write a review" not in page  # one review per person
    assert "Thank you: your review is published." not in text(user_client.get(PAGE))  # the notice shows once


def test_a_review_without_rating_comes_back_with_the_message_next_to_the_field(user_client, fake):
    response = post_from(user_client, PAGE, f"{PAGE}/reviews", {"title": "No stars", "review": "Hmm"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="rating-error">Choose a rating from 1 to 5 stars.' in page and 'value="No stars"' in page
    assert not [r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/reviews")]


def test_the_apis_field_errors_show_next_to_the_fields(user_client):
    response = post_from(user_client, PAGE, f"{PAGE}/reviews", {"rating": "3", "title": "refused by the api"})
    assert response.status_code == 400 and 'id="title-error">Not allowed.' in text(response)


def test_a_second_review_is_refused_with_a_readable_notice(user_client):
    for _ in range(2):
        response = post_from(user_client, PAGE, f"{PAGE}/reviews", {"rating": "4"})
    assert response.status_code == 303
    assert "You have already reviewed this plugin" in text(user_client.get(PAGE))


def test_edit_and_delete_ones_own_review(user_client, fake):
    post_from(user_client, PAGE, f"{PAGE}/reviews", {"rating": "2", "title": "Meh"})
    mine = next(r for r in fake.reviews.values() if r["user"]["id"] == "acct_user")
    form = text(user_client.get(f"/reviews/{mine['id']}/edit"))
    assert 'value="Meh"' in form and 'value="2" required checked' in form
    response = user_client.post(f"/reviews/{mine['id']}/edit",
                                data={"csrf_token": csrf_from(form), "rating": "4", "title": "Better now"})
    assert response.status_code == 303 and fake.reviews[mine["id"]]["rating"] == 4
    assert "Better now" in text(user_client.get(PAGE))
    response = post_from(user_client, PAGE, f"/reviews/{mine['id']}/delete", {"plugin": "metrics-board"})
    assert response.status_code == 303 and mine["id"] not in fake.reviews
    assert "Your review is deleted." in text(user_client.get(PAGE))


def test_someone_elses_review_cannot_be_edited(user_client):
    response = user_client.get("/reviews/review_1/edit")
    assert response.status_code == 303
    assert "Only the author may edit a review." in text(user_client.get(PAGE))


def test_vote_helpful(user_client, fake):
    response = post_from(user_client, PAGE, "/reviews/review_1/helpful", {"plugin": "metrics-board"})
    assert response.status_code == 303 and response.headers["Location"] == f"{PAGE}#review-review_1"
    assert fake.reviews["review_1"]["helpful"] == 4
    assert "4 found this helpful" in text(user_client.get(PAGE))


def test_a_refused_vote_is_a_notice_not_an_error_page(user_client, fake):
    fake.reviews["review_1"]["user"]["id"] = "acct_user"
    post_from(user_client, PAGE, "/reviews/review_1/helpful", {"plugin": "metrics-board"})
    assert "You cannot vote for your own review" in text(user_client.get(PAGE))


def test_report_a_review_with_a_reason(user_client, fake):
    form = text(user_client.get("/reviews/review_1/report"))
    assert "Why should the moderators look at it?" in form and XSS not in form
    response = user_client.post("/reviews/review_1/report", data={"csrf_token": csrf_from(form), "reason": "bogus"})
    assert response.status_code == 400 and "Choose why you report this review." in text(response)
    response = user_client.post("/reviews/review_1/report",
                                data={"csrf_token": csrf_from(form), "reason": "spam", "details": "ads"})
    assert response.status_code == 303 and fake.last_report == {"reason": "spam: ads"}
    assert fake.reviews["review_1"]["reports"] == 1


def test_every_review_form_needs_a_signed_in_person(client):
    for path in (f"{PAGE}/reviews", "/reviews/review_1/helpful", "/reviews/review_1/delete"):
        token = csrf_from(text(client.get("/sign-in")))
        response = client.post(path, data={"csrf_token": token, "rating": "5"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")
    assert client.get("/reviews/review_1/report").status_code == 302


def test_every_review_form_needs_its_csrf_token(user_client, fake):
    for path in (f"{PAGE}/reviews", "/reviews/review_1/helpful", "/reviews/review_1/delete",
                 "/reviews/review_1/report", "/reviews/review_1/edit"):
        for token in (None, "forged"):
            response = user_client.post(path, data={"rating": "5", "reason": "spam",
                                                    **({"csrf_token": token} if token else {})})
            assert response.status_code == 400, path
            assert "did not come from this site" in text(response)
    assert not [r for r in fake.requests if r["method"] != "GET" and "/reviews" in r["path"]]


def test_markup_in_reviews_is_inert(user_client, fake):
    post_from(user_client, PAGE, f"{PAGE}/reviews", {"rating": "1", "title": XSS, "review": f"<b>x</b>{XSS}"})
    for path in (PAGE, "/reviews/review_1/report"):
        page = text(user_client.get(path))
        assert XSS not in page and "<b>x</b>" not in page and "&lt;script&gt;" in page, path
    mine = next(r for r in fake.reviews.values() if r["user"]["id"] == "acct_user")
    assert XSS not in text(user_client.get(f"/reviews/{mine['id']}/edit"))


def test_an_admin_sees_hidden_reviews_marked(client, fake):
    fake.reviews["review_1"]["hidden"] = True
    assert "Hidden</span>" not in text(client.get(PAGE))
    sign_in(client, "mkp_admin")
    assert "Hidden</span>" in text(client.get(PAGE))


def test_the_write_form_has_labels_for_every_field(user_client):
    page = text(user_client.get(PAGE))
    form = page.split('class="review-form"')[1].split("</form>")[0]
    for name in ("review-title", "review-text"):
        assert re.search(rf'<label for="{name}">', form)
    assert "<legend>Rating" in form


def test_ones_own_review_is_found_with_one_call_wherever_it_ranks(user_client, fake):
    # The page lists a plugin's first ten reviews; the fake lists every review but the person's own.
    fake.reviews["review_9"] = dict(fake.reviews["review_1"], id="review_9", title="Mine, far down", reports=0,
                                    hidden=True, user={"id": "acct_user", "name": "Me"})
    original = fake.app.view_functions["reviews"]

    def without_mine(plugin_id):
        body = original(plugin_id)
        if request.args.get("mine") != "true":
            body["data"] = [r for r in body["data"] if r["id"] != "review_9"]
        return body

    fake.app.view_functions["reviews"] = without_mine
    fake.requests.clear()
    page = text(user_client.get(PAGE))
    mine_calls = [r for r in fake.requests if r["path"].endswith("/reviews") and r["args"].get("mine") == "true"]
    assert len(mine_calls) == 1 and mine_calls[0]["args"]["limit"] == "1"
    assert mine_calls[0]["path"] == "/api/marketplace/v1/plugins/plugin_metrics-board/reviews"
    yours = page.split('id="your-review"')[1].split("</ul>")[0]
    assert 'id="review-review_9"' in yours and "Mine, far down" in yours and "Hidden</span>" in yours
    assert "Edit your review" in yours and "Delete your review" in yours
    assert page.count('id="review-review_9"') == 1 and 'id="review-review_1"' in page
    assert "Write a review" not in page


def test_nobody_signed_out_asks_for_their_own_review(client, fake):
    fake.requests.clear()
    assert "Your review" not in text(client.get(PAGE))
    assert not [r for r in fake.requests if r["args"].get("mine")]


def test_ones_own_review_is_not_listed_twice(user_client, fake):
    post_from(user_client, PAGE, f"{PAGE}/reviews", {"rating": "5", "title": "Top"})
    mine = next(r for r in fake.reviews.values() if r["user"]["id"] == "acct_user")
    page = text(user_client.get(PAGE))
    assert page.count(f'id="review-{mine["id"]}"') == 1
    assert page.index('id="your-review"') < page.index(f'id="review-{mine["id"]}"') < page.index('id="review-review_1"')
