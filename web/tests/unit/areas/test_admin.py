"""Administration pages: verify and feature plugins, accounts and their keys (new key shown once), moderation
queue; admins only (signed out, user, publisher refused); CSRF; XSS."""

import pytest

from ...conftest import csrf_from, sign_in
from ...fake_gateway import XSS
from .fake_areas import text

NEW_KEY = "mkp_" + "n3wk3y" * 6
PAGES = ("/admin", "/admin/plugins", "/admin/accounts", "/admin/accounts/acct_user", "/admin/reviews",
         "/admin/reviews?plugin=metrics-board")




def test_signed_out_goes_to_sign_in(client):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next="), path


@pytest.mark.parametrize("key", ["mkp_user", "mkp_publisher"])
def test_other_roles_are_refused(client, fake, key):
    sign_in(client, key)
    fake.requests.clear()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403 and "for administrators" in text(response), path
    assert not fake.requests  # refused before any API call
    assert 'href="/admin"' not in text(client.get("/"))


def test_every_admin_page_renders_for_an_admin(admin_client):
    for path in PAGES:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert '<main id="main"' in text(response)
    assert 'href="/admin"' in text(admin_client.get("/"))


def test_verify_and_feature_a_plugin(admin_client, fake):
    page = text(admin_client.get("/admin/plugins"))
    assert "Feature<span" in page and "Metrics-Board" in page
    token = csrf_from(page)
    response = admin_client.post("/admin/plugins/metrics-board/flags",
                                 data={"csrf_token": token, "flag": "featured", "value": "true"})
    assert response.status_code == 303 and fake.plugins["metrics-board"]["featured"] is True
    response = admin_client.post("/admin/plugins/metrics-board/flags",
                                 data={"csrf_token": token, "flag": "verified", "value": "false"})
    assert response.status_code == 303 and fake.plugins["metrics-board"]["verified"] is False
    patches = [r["json"] for r in fake.requests if r["method"] == "PATCH"]
    assert patches == [{"featured": True}, {"verified": False}]
    assert "verified is off" in text(admin_client.get("/admin/plugins"))
    response = admin_client.post("/admin/plugins/metrics-board/flags",
                                 data={"csrf_token": token, "flag": "status", "value": "true"})
    assert response.status_code == 400


def test_create_an_account_then_give_it_a_key_shown_once(admin_client, fake):
    page = text(admin_client.get("/admin/accounts"))
    assert "Uma User" in page and '<label for="f-email">' in page
    response = admin_client.post("/admin/accounts", data={"csrf_token": csrf_from(page), "name": "Nia",
                                                          "email": "nia@example.com", "role": "publisher",
                                                          "tier": "enterprise"})
    assert response.status_code == 303
    account_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert fake.accounts[account_id]["role"] == "publisher" and fake.accounts[account_id]["tier"] == "enterprise"
    page = text(admin_client.get(f"/admin/accounts/{account_id}"))
    assert "Account Nia created" in page and "No key yet." in page
    response = admin_client.post(f"/admin/accounts/{account_id}/keys", data={"csrf_token": csrf_from(page),
                                                                             "name": "ci"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    assert NEW_KEY in text(response) and "shown only this once" in text(response)
    page = text(admin_client.get(f"/admin/accounts/{account_id}"))
    assert NEW_KEY not in page and "mkp_abcd…" in page and "Revoke" in page


def test_account_errors_show_next_to_the_fields(admin_client):
    token = csrf_from(text(admin_client.get("/admin/accounts")))
    response = admin_client.post("/admin/accounts", data={"csrf_token": token, "name": "", "email": "nope"})
    assert response.status_code == 400
    assert 'id="e-name">Required.' in text(response) and 'id="e-email">An email address.' in text(response)
    response = admin_client.post("/admin/accounts", data={"csrf_token": token, "name": "Dup",
                                                          "email": "uma@example.com", "role": "user",
                                                          "tier": "authenticated"})
    assert response.status_code == 400 and 'id="e-email">An account with this email exists' in text(response)


def test_change_role_and_revoke_a_key(admin_client, fake):
    page = text(admin_client.get("/admin/accounts/acct_user"))
    token = csrf_from(page)
    response = admin_client.post("/admin/accounts/acct_user", data={"csrf_token": token, "role": "publisher",
                                                                    "tier": "authenticated"})
    assert response.status_code == 303 and fake.accounts["acct_user"]["role"] == "publisher"
    assert admin_client.post("/admin/accounts/acct_user", data={"csrf_token": token, "role": "root"}).status_code == 400
    admin_client.post("/admin/accounts/acct_user/keys", data={"csrf_token": token})
    key_id = next(iter(fake.keys))
    response = admin_client.post(f"/admin/accounts/acct_user/keys/{key_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 303 and fake.keys[key_id]["status"] == "revoked"
    assert "The key is revoked" in text(admin_client.get("/admin/accounts/acct_user"))


def queue_of_three(fake):
    """metrics-board: review_1 twice reported, review_2 calm; old-thing: review_3 once reported; review_4 hidden."""
    fake.reviews["review_1"]["reports"] = 2
    fake.reviews["review_2"] = dict(fake.reviews["review_1"], id="review_2", title="Calm", reports=0)
    fake.reviews["review_3"] = dict(fake.reviews["review_1"], id="review_3", title="Elsewhere", reports=1,
                                    pluginId="plugin_old-thing")
    fake.reviews["review_4"] = dict(fake.reviews["review_1"], id="review_4", title="Gone", reports=0, hidden=True,
                                    hiddenReason="rude", pluginId="plugin_old-thing")


def test_the_queue_lists_reported_reviews_across_plugins_then_hidden_ones(admin_client, fake):
    queue_of_three(fake)
    page = text(admin_client.get("/admin/reviews"))
    order = [page.index(f'id="review-{ident}"') for ident in ("review_1", "review_3", "review_4")]
    assert order == sorted(order)  # most reported first, then the hidden one
    assert page.index('id="reported"') < order[0] and page.index('id="hidden"') < order[2]
    assert 'id="review-review_2"' not in page  # nobody reported it
    assert "2 reports" in page and "1 report<" in page and "Hidden</span> (rude)" in page
    assert 'href="/plugins/old-thing#reviews">Old-Thing</a>' in page and XSS not in page
    sent = [r["args"] for r in fake.requests if r["path"] == "/api/marketplace/v1/reviews"]
    assert sent == [{"status": "reported", "sort": "reports", "page": "1", "limit": "25"},
                    {"status": "hidden", "sort": "recent", "page": "1", "limit": "25"}]


def test_the_queue_narrowed_to_one_plugin_also_lists_its_unreported_reviews(admin_client, fake):
    queue_of_three(fake)
    page = text(admin_client.get("/admin/reviews?plugin=metrics-board"))
    assert 'id="review-review_1"' in page and 'id="review-review_3"' not in page and 'id="review-review_4"' not in page
    assert page.index('id="review-review_1"') < page.index('id="unreported"') < page.index('id="review-review_2"')
    assert page.count('id="review-review_1"') == 1  # reported: not listed again among the others
    assert '<option value="metrics-board" selected>' in page
    sent = [r["args"] for r in fake.requests if r["path"] == "/api/marketplace/v1/reviews"]
    assert {args["pluginId"] for args in sent} == {"metrics-board"}
    assert [args["status"] for args in sent] == ["reported", "hidden", "visible"]


def test_the_queue_pages_each_section(admin_client, fake):
    for number in range(30):
        fake.reviews[f"review_r{number}"] = dict(fake.reviews["review_1"], id=f"review_r{number}", reports=1)
    page = text(admin_client.get("/admin/reviews"))
    assert "Reported: 30 reviews" in page and "Page 1 of 2" in page
    assert 'href="/admin/reviews?page=2"' in page
    second = text(admin_client.get("/admin/reviews?page=2"))
    assert second.count('class="review" id=') == 5


def test_moderation_hides_and_restores(admin_client, fake):
    fake.reviews["review_1"]["reports"] = 2
    page = text(admin_client.get("/admin/reviews?plugin=metrics-board"))
    token = csrf_from(page)
    response = admin_client.post("/admin/reviews/review_1/hide", data={"csrf_token": token, "reason": "spam",
                                                                      "plugin": "metrics-board"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/reviews?plugin=metrics-board"
    assert fake.reviews["review_1"]["hidden"] is True
    page = text(admin_client.get("/admin/reviews?plugin=metrics-board"))
    assert page.index('id="hidden"') < page.index('id="review-review_1"')
    assert "Hidden</span> (spam)" in page and "Restore<span" in page
    response = admin_client.post("/admin/reviews/review_1/restore", data={"csrf_token": token, "plugin": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/reviews"
    assert fake.reviews["review_1"]["hidden"] is False
    assert admin_client.post("/admin/reviews/review_1/explode", data={"csrf_token": token}).status_code == 404


def test_the_moderation_queue_takes_a_few_api_calls(admin_client, fake):
    for number in range(40):
        fake.reviews[f"review_r{number}"] = dict(fake.reviews["review_1"], id=f"review_r{number}", reports=1)
    for path, calls in (("/admin/reviews", 3), ("/admin/reviews?plugin=metrics-board", 4)):
        fake.requests.clear()
        admin_client.get(path)
        assert len([r for r in fake.requests if r["path"].startswith("/api/")]) == calls, path


def test_every_admin_form_needs_its_csrf_token(admin_client, fake):
    fake.requests.clear()
    for path in ("/admin/plugins/metrics-board/flags", "/admin/accounts", "/admin/accounts/acct_user",
                 "/admin/accounts/acct_user/keys", "/admin/accounts/acct_user/keys/key_1/revoke",
                 "/admin/reviews/review_1/hide", "/admin/reviews/review_1/restore"):
        for token in (None, "forged"):
            response = admin_client.post(path, data={"flag": "featured", "value": "true", "name": "x",
                                                     **({"csrf_token": token} if token else {})})
            assert response.status_code == 400 and "did not come from this site" in text(response), path
    assert not fake.requests


def test_markup_on_admin_pages_is_inert(admin_client, fake):
    fake.accounts["acct_user"]["name"] = XSS
    for path in PAGES:
        page = text(admin_client.get(path))
        assert XSS not in page and 'href="javascript:' not in page, path
