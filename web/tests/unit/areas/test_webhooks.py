"""Webhook pages: create (secret shown once), list, edit, ping, delivery log with attempts, redeliver; CSRF; XSS."""


from ...conftest import csrf_from, sign_in
from ...fake_gateway import XSS
from .fake_areas import text

SECRET = "whsec_" + "s3cr3t" * 6




def create(client, **changes):
    form = text(client.get("/webhooks/new"))
    data = {"csrf_token": csrf_from(form), "url": "http://127.0.0.1:9999/hook", "events": ["plugin.installed"],
            "description": "CI"}
    data.update(changes)
    return client.post("/webhooks/new", data=data)


def test_signed_out_goes_to_sign_in(client):
    for path in ("/webhooks", "/webhooks/new", "/webhooks/wh_1", "/webhooks/wh_1/edit"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")


def test_an_empty_list_offers_to_create_one(user_client):
    page = text(user_client.get("/webhooks"))
    assert "No webhook yet" in page and 'href="/webhooks/new"' in page


def test_create_shows_the_secret_once(user_client, fake):
    form = text(user_client.get("/webhooks/new"))
    assert '<label for="f-url">' in form and "<legend>Events</legend>" in form and "plugin.version_published" in form
    response = create(user_client)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert SECRET in page and "shown only this once" in page
    sent = next(r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/webhooks"))
    assert sent["json"] == {"url": "http://127.0.0.1:9999/hook", "events": ["plugin.installed"], "description": "CI"}
    hook_id = next(iter(fake.webhooks))
    for path in ("/webhooks", f"/webhooks/{hook_id}", f"/webhooks/{hook_id}/edit"):
        assert SECRET not in text(user_client.get(path)), path
    assert "http://127.0.0.1:9999/hook" in text(user_client.get("/webhooks"))


def test_create_errors_show_next_to_the_fields(user_client):
    response = create(user_client, url="ftp://x", events=[])
    assert response.status_code == 400
    page = text(response)
    assert 'id="e-url">An http:// or https:// URL.' in page and 'id="e-events">Choose at least one' in page
    response = create(user_client, url="https://example.invalid/x")
    assert response.status_code == 400 and 'id="e-url">The host resolves to an address that is not allowed.' in text(
        response)
    assert create(user_client, events=["not.an.event"]).status_code == 400


def test_edit_a_webhook(user_client, fake):
    create(user_client)
    hook_id = next(iter(fake.webhooks))
    form = text(user_client.get(f"/webhooks/{hook_id}/edit"))
    assert 'value="http://127.0.0.1:9999/hook"' in form and 'value="plugin.installed" checked' in form
    response = user_client.post(f"/webhooks/{hook_id}/edit", data={
        "csrf_token": csrf_from(form), "url": "http://127.0.0.1:9999/other", "events": ["plugin.*"]})
    assert response.status_code == 303
    assert fake.webhooks[hook_id]["url"] == "http://127.0.0.1:9999/other"
    assert fake.webhooks[hook_id]["events"] == ["plugin.*"] and fake.webhooks[hook_id]["active"] is False
    assert "The webhook is saved." in text(user_client.get(f"/webhooks/{hook_id}"))


def test_ping_then_see_the_delivery_with_each_attempt_and_redeliver(user_client, fake):
    create(user_client)
    hook_id = next(iter(fake.webhooks))
    token = csrf_from(text(user_client.get(f"/webhooks/{hook_id}")))
    response = user_client.post(f"/webhooks/{hook_id}/ping", data={"csrf_token": token})
    assert response.status_code == 303
    page = text(user_client.get(f"/webhooks/{hook_id}"))
    assert "A test delivery (webhook.ping) is on its way" in page
    assert "<code>webhook.ping</code>" in page and "2 attempts" in page
    assert "HTTP 500" in page and "HTTP 200" in page and "12 ms" in page
    assert XSS not in page and "&lt;script&gt;" in page  # response bodies and payloads are inert
    delivery_id = next(iter(fake.deliveries))
    response = user_client.post(f"/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#delivery-{delivery_id}")
    page = text(user_client.get(f"/webhooks/{hook_id}"))
    assert "3 attempts" in page and "HTTP 204" in page


def test_delivery_log_filters_by_status(user_client, fake):
    create(user_client)
    hook_id = next(iter(fake.webhooks))
    user_client.post(f"/webhooks/{hook_id}/ping", data={"csrf_token": csrf_from(text(user_client.get("/webhooks")))})
    assert "No delivery yet with status failed" in text(user_client.get(f"/webhooks/{hook_id}?status=failed"))
    call = [r for r in fake.requests if r["path"].endswith("/deliveries")][-1]
    assert call["args"]["status"] == "failed"
    assert "webhook.ping" in text(user_client.get(f"/webhooks/{hook_id}?status=bogus"))


def test_someone_elses_webhook_is_a_readable_404(client, fake):
    sign_in(client, "mkp_admin")
    create(client)
    hook_id = next(iter(fake.webhooks))
    client.post("/sign-out", data={"csrf_token": csrf_from(text(client.get("/")))})
    sign_in(client, "mkp_user")
    response = client.get(f"/webhooks/{hook_id}")
    assert response.status_code == 404 and "not found" in text(response) and "req_fake_123" in text(response)


def test_delete_a_webhook(user_client, fake):
    create(user_client)
    hook_id = next(iter(fake.webhooks))
    token = csrf_from(text(user_client.get(f"/webhooks/{hook_id}")))
    response = user_client.post(f"/webhooks/{hook_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and not fake.webhooks


def test_every_webhook_form_needs_its_csrf_token(user_client, fake):
    create(user_client)
    hook_id = next(iter(fake.webhooks))
    fake.requests.clear()
    for path in ("/webhooks/new", f"/webhooks/{hook_id}/edit", f"/webhooks/{hook_id}/ping",
                 f"/webhooks/{hook_id}/delete", f"/webhooks/{hook_id}/deliveries/dlv_1/redeliver"):
        for token in (None, "forged"):
            response = user_client.post(path, data={"url": "http://127.0.0.1/x", "events": ["plugin.*"],
                                                    **({"csrf_token": token} if token else {})})
            assert response.status_code == 400 and "did not come from this site" in text(response), path
    assert not fake.requests


def test_markup_in_a_webhook_is_inert(user_client, fake):
    create(user_client, description=XSS, url=f"http://127.0.0.1/{XSS}")
    hook_id = next(iter(fake.webhooks))
    for path in ("/webhooks", f"/webhooks/{hook_id}", f"/webhooks/{hook_id}/edit"):
        assert XSS not in text(user_client.get(path)), path
