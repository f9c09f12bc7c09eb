"""Every page, signed in and out, through the real SDK against a fake of the public API."""

import pytest

from ..conftest import csrf_from, sign_in
from ..fake_gateway import XSS


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_shelves_and_categories(client, fake):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    for heading in ("Featured", "Most installed", "Recently updated", "Categories"):
        assert heading in page
    assert "Metrics-Board" in page and 'href="/plugins?category=monitoring"' in page
    # A few API calls per page, never one per plugin shown.
    api_calls = [r for r in fake.requests if r["path"].startswith("/api/")]
    assert len(api_calls) == 4


def test_every_page_has_landmarks_a_csp_and_no_inline_script(client):
    for path in ("/", "/plugins", "/plugins/metrics-board", "/sign-in", "/docs"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = text(response)
        assert '<main id="main"' in page and '<nav aria-label="Main">' in page and "<header" in page
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert "<script>" not in page and "onerror=" not in page
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_list_has_cards_facets_chips_total_and_sort(client, fake):
    response = client.get("/plugins?category=monitoring&verified=true&sort=rating")
    assert response.status_code == 200
    page = text(response)
    assert "3 plugins" in page
    assert 'class="card"' in page and "Verified" in page
    assert "Category: monitoring" in page and "Verified: true" in page and "Clear all filters" in page
    assert '<option value="rating" selected>' in page
    assert 'class="count">3<' in page  # facet counts from the API's facets member
    call = next(r for r in fake.requests if r["path"] == "/api/marketplace/v1/plugins")
    assert call["args"]["facets"] == "true" and call["args"]["category"] == "monitoring"
    assert call["args"]["sort"] == "rating" and call["args"]["verified"] == "true"


def test_removing_a_chip_keeps_the_other_filters(client):
    page = text(client.get("/plugins?category=monitoring&search=metrics"))
    assert 'href="?search=metrics"' in page  # the category chip's link
    assert 'href="?category=monitoring"' in page  # the search chip's link


def test_empty_result_says_so_and_offers_to_clear(client):
    page = text(client.get("/plugins?search=nothing-matches"))
    assert "No plugin matches" in page and "Clear the filters" in page


def test_live_search_gets_only_the_results_fragment(client):
    response = client.get("/plugins?search=metrics", headers={"X-Portal-Fragment": "results"})
    page = text(response)
    assert response.status_code == 200 and "<html" not in page and 'class="results-layout"' in page
    assert "X-Portal-Fragment" in response.headers["Vary"]


def test_bad_filter_shows_the_api_message_not_a_crash(client):
    response = client.get("/plugins?minRating=bad")
    assert response.status_code == 400
    assert "Invalid request parameters: minRating" in text(response)
    assert "req_fake_123" in text(response)


def test_detail_shows_everything_the_api_returns(client):
    page = text(client.get("/plugins/metrics-board"))
    assert "<h1 id=\"plugin-title\">Metrics-Board" in page
    assert "<strong>bold</strong>" in page  # markdown rendered
    assert "Leaks memory" in page and "Yanked" in page  # the yanked version with its reason
    assert "catalog-backend" in page and "catalog.read" in page  # dependencies, permissions
    assert "Rating distribution" in page and "<svg" in page  # charts drawn on the server
    assert "Response times in milliseconds" in page
    assert "Most helpful" in page and "3 found this helpful" in page
    assert "help@example.com" in page and 'href="https://example.com/repo"' in page
    assert "Configuration schema" in page and "refreshSeconds" in page


def test_deprecated_plugin_has_a_banner_with_its_replacement(client):
    page = text(client.get("/plugins/old-thing"))
    assert "Deprecated." in page and "Unmaintained" in page and 'href="/plugins/metrics-board"' in page


def test_unknown_plugin_is_a_readable_404_with_the_request_id(client):
    response = client.get("/plugins/no-such-plugin")
    assert response.status_code == 404
    page = text(response)
    assert "Plugin &#39;no-such-plugin&#39; not found" in page and "req_fake_123" in page
    assert "Traceback" not in page


def test_markup_in_every_user_supplied_string_is_inert(client):
    for path in ("/plugins/evil-plugin", "/plugins", "/"):
        page = text(client.get(path))
        assert XSS not in page, path
        assert 'href="javascript:' not in page and 'src="javascript:' not in page, path
        assert "<img src=x" not in page, path
    page = text(client.get("/plugins/evil-plugin"))
    assert "&lt;script&gt;" in page  # shown as text


def test_sign_in_keeps_the_key_on_the_server(client, app):
    response = sign_in(client, "mkp_user")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "mkp_user" not in cookie
    page = text(client.get("/"))
    assert "Uma User" in page and "Sign out" in page


def test_session_cookie_is_secure_behind_https(client):
    token = csrf_from(text(client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})))
    response = client.post("/sign-in", data={"csrf_token": token, "api_key": "mkp_user"},
                           headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["Set-Cookie"]


def test_sign_in_gets_a_new_session_id(client):
    client.get("/sign-in")
    before = client.get_cookie("mkp_session").value
    sign_in(client)
    assert client.get_cookie("mkp_session").value != before


def test_a_wrong_key_is_refused_with_a_message(client):
    token = csrf_from(text(client.get("/sign-in")))
    response = client.post("/sign-in", data={"csrf_token": token, "api_key": "mkp_wrong"})
    assert response.status_code == 400 and "was not accepted" in text(response)


def test_every_form_needs_its_csrf_token(user_client):
    for path, data in (("/sign-in", {"api_key": "mkp_user"}), ("/sign-out", {}),
                       ("/plugins/metrics-board/install", {"environment": "prod"}),
                       ("/installations/install_1/cancel", {})):
        for token in (None, "forged"):
            sent = dict(data, **({"csrf_token": token} if token else {}))
            response = user_client.post(path, data=sent)
            assert response.status_code == 400, path
            assert "did not come from this site" in text(response)


def test_sign_out_ends_the_session(user_client):
    token = csrf_from(text(user_client.get("/")))
    response = user_client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Sign in" in text(user_client.get("/"))
    assert user_client.get("/installations").status_code == 302


def test_pages_that_need_an_account_send_you_to_sign_in(client):
    for path in ("/installations", "/plugins/metrics-board/install", "/installations/install_1"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")


def test_sign_in_redirects_only_within_the_site(client):
    token = csrf_from(text(client.get("/sign-in")))
    response = client.post("/sign-in", data={"csrf_token": token, "api_key": "mkp_user",
                                             "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_revoked_key_signs_the_person_out(user_client, fake):
    fake.requests.clear()
    from ..fake_gateway import KEYS
    KEYS.pop("mkp_user")
    try:
        response = user_client.get("/installations")
        assert response.status_code == 401
        assert "Sign in" in text(user_client.get("/sign-in"))
    finally:
        KEYS["mkp_user"] = {"id": "acct_user", "name": "Uma User", "email": "uma@example.com", "role": "user"}


def test_the_portal_forwards_the_key_and_the_visitors_address(user_client, fake):
    fake.requests.clear()
    user_client.get("/plugins", headers={"X-Forwarded-For": "203.0.113.9"},
                    environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
    call = next(r for r in fake.requests if r["path"] == "/api/marketplace/v1/plugins")
    assert call["headers"]["Authorization"] == "Bearer mkp_user"
    assert call["headers"]["X-Forwarded-For"] == "203.0.113.9"  # the gateway's chain, passed on as it came
    fake.requests.clear()
    user_client.get("/plugins", environ_overrides={"REMOTE_ADDR": "198.51.100.4"})
    call = next(r for r in fake.requests if r["path"] == "/api/marketplace/v1/plugins")
    assert call["headers"]["X-Forwarded-For"] == "198.51.100.4"  # no chain: the peer is the visitor


@pytest.mark.parametrize("token", ["portal-secret-0123", None])
def test_the_portal_proves_itself_with_its_token_on_every_call(app, fake, token):
    """PORTAL_TOKEN goes with every API call (the gateway then believes the forwarded address); unset, none."""
    app.extensions["web_clients"].config.PORTAL_TOKEN = token
    fake.requests.clear()
    client = app.test_client()
    assert client.get("/").status_code == 200
    sign_in(client)
    assert client.get("/installations").status_code == 200
    assert len(fake.requests) >= 3
    assert {r["headers"].get("X-Marketplace-Portal-Token") for r in fake.requests} == {token}


def test_static_files_have_hashed_names_and_a_long_cache(client):
    page = text(client.get("/"))
    import re
    css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page).group(1)
    response = client.get(css)
    assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert client.get(css, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get("/static/css/portal.css").status_code == 404


def test_api_docs_work_offline(client):
    page = text(client.get("/docs"))
    assert "/static/vendor/swagger-ui/swagger-ui-bundle." in page and "cdn" not in page.lower()
    script = page.split('/static/vendor/swagger-ui/swagger-ui-bundle.')[1].split('"')[0]
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle." + script).status_code == 200
    assert client.get("/api/marketplace/v1/docs").status_code == 200


def test_probes(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"
    assert b"http_requests_total" in client.get("/metrics").data
