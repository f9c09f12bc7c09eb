"""Publishing pages: one's plugins with status, create, upload a version (errors next to the fields), icon and
screenshots, publish/unpublish, deprecate with a replacement, yank with a reason; each role; CSRF; XSS."""

import io
import json

import pytest

from ...conftest import csrf_from, sign_in
from ...fake_gateway import XSS
from .fake_areas import text

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


@pytest.fixture
def publisher_client(client):
    sign_in(client, "mkp_publisher")
    return client




def token_of(client, path="/publisher"):
    return csrf_from(text(client.get(path)))


def test_the_dashboard_lists_ones_plugins_with_status(publisher_client, fake):
    response = publisher_client.get("/publisher")
    assert response.status_code == 200
    page = text(response)
    assert "Your plugins" in page and "draft-one" in page and "(no version yet)" in page
    assert 'class="status status-published">published' in page and 'class="status status-unpublished">' in page
    assert XSS not in page and "&lt;script&gt;" in page  # evil-plugin's display name shown as text
    call = next(r for r in fake.requests if r["path"] == "/addons/api/plugins/")
    assert call["headers"]["Authorization"] == "Bearer mkp_publisher"
    assert 'href="/publisher"' in page  # the navigation has the publishing link


def test_signed_out_goes_to_sign_in_and_a_user_is_refused(client):
    for path in ("/publisher", "/publisher/plugins/new", "/publisher/plugins/metrics-board"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")
    sign_in(client, "mkp_user")
    response = client.get("/publisher")
    assert response.status_code == 403 and "needs a publisher account" in text(response)
    assert 'href="/publisher"' not in text(client.get("/"))


def test_an_admin_may_publish_too(admin_client):
    assert admin_client.get("/publisher").status_code == 200


def test_create_a_plugin(publisher_client, fake):
    form = text(publisher_client.get("/publisher/plugins/new"))
    assert '<label for="f-name">' in form and '<label for="f-description">' in form
    response = publisher_client.post("/publisher/plugins/new", data={
        "csrf_token": csrf_from(form), "name": "new-thing", "displayName": "New Thing", "description": "Does it",
        "category": "monitoring", "tags": "a, b", "backstage": "^1.30.0"})
    assert response.status_code == 303 and response.headers["Location"] == "/publisher/plugins/new-thing"
    assert fake.created_plugin == {"name": "new-thing", "displayName": "New Thing", "description": "Does it",
                                   "category": "monitoring", "tags": ["a", "b"],
                                   "compatibility": {"backstage": "^1.30.0"}}
    page = text(publisher_client.get("/publisher/plugins/new-thing"))
    assert "Plugin new-thing created" in page and "Upload the first version" in page


def test_create_shows_errors_next_to_the_fields(publisher_client):
    token = token_of(publisher_client, "/publisher/plugins/new")
    response = publisher_client.post("/publisher/plugins/new", data={"csrf_token": token, "name": "x"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="e-description">Required.' in page and 'id="e-category">Required.' in page
    response = publisher_client.post("/publisher/plugins/new", data={
        "csrf_token": token, "name": "y", "description": "d", "category": "Bad Category"})
    assert response.status_code == 400
    assert 'id="e-category">Lower-case letters, digits and hyphens.' in text(response)
    response = publisher_client.post("/publisher/plugins/new", data={
        "csrf_token": token, "name": "metrics-board", "description": "d", "category": "monitoring"})
    assert response.status_code == 400 and "A plugin named &#39;metrics-board&#39; exists" in text(response)


def test_upload_a_version_with_its_package(publisher_client, fake):
    token = token_of(publisher_client, "/publisher/plugins/draft-one/versions/new")
    configuration = {"schema": {"type": "object"}, "defaults": {}}
    response = publisher_client.post("/publisher/plugins/draft-one/versions/new", data={
        "csrf_token": token, "version": "0.1.0", "changelog": "First", "backstage": "^1.30.0",
        "dependencies": "catalog-backend ^1.0.0", "permissions": "catalog.read",
        "configuration": json.dumps(configuration),
        "package": (io.BytesIO(b"tgz bytes"), "draft-one-0.1.0.tgz")}, content_type="multipart/form-data")
    assert response.status_code == 303, text(response)
    assert fake.uploaded_version == {
        "metadata": {"version": "0.1.0", "changelog": "First", "compatibility": {"backstage": "^1.30.0"},
                     "dependencies": [{"name": "catalog-backend", "version": "^1.0.0"}],
                     "permissions": ["catalog.read"], "configuration": configuration},
        "filename": "draft-one-0.1.0.tgz", "content": b"tgz bytes"}
    page = text(publisher_client.get("/publisher/plugins/draft-one"))
    assert "Version 0.1.0 is published." in page and "Yank 0.1.0" in page


def test_version_errors_show_next_to_their_fields(publisher_client):
    path = "/publisher/plugins/draft-one/versions/new"
    token = token_of(publisher_client, path)
    response = publisher_client.post(path, data={"csrf_token": token, "version": "", "configuration": "[1",
                                                 "dependencies": "only-a-name"}, content_type="multipart/form-data")
    assert response.status_code == 400
    page = text(response)
    assert 'id="e-version">Required.' in page and 'id="e-package">Choose the package file' in page
    assert 'id="e-configuration">Not a JSON object' in page and 'id="e-dependencies">One dependency a line' in page
    response = publisher_client.post(path, data={"csrf_token": token, "version": "not-semver", "backstage": "nope",
                                                 "package": (io.BytesIO(b"x"), "p.tgz")},
                                     content_type="multipart/form-data")
    assert response.status_code == 400
    page = text(response)
    assert 'id="e-version">Not a semantic version.' in page
    assert 'id="e-backstage">Not a semantic version or range.' in page
    assert 'value="not-semver"' in page  # what was typed stays


def test_upload_icon_and_screenshots(publisher_client, fake):
    token = token_of(publisher_client, "/publisher/plugins/metrics-board")
    response = publisher_client.post("/publisher/plugins/metrics-board/images", data={
        "csrf_token": token, "icon": (io.BytesIO(PNG), "icon.png"),
        "screenshots": [(io.BytesIO(PNG), "one.png"), (io.BytesIO(PNG), "two.png")]},
        content_type="multipart/form-data")
    assert response.status_code == 303
    assert fake.uploaded_images == {"icon": ["icon.png"], "screenshots": ["one.png", "two.png"]}
    page = text(publisher_client.get("/publisher/plugins/metrics-board"))
    assert "Images uploaded." in page and "/images/icon.png" in page and "/images/two.png" in page
    response = publisher_client.post("/publisher/plugins/metrics-board/images/two.png/delete",
                                     data={"csrf_token": token})
    assert response.status_code == 303 and not any("two.png" in s for s in fake.plugins["metrics-board"]["screenshots"])


def test_image_errors_show_next_to_the_field(publisher_client):
    token = token_of(publisher_client, "/publisher/plugins/metrics-board")
    response = publisher_client.post("/publisher/plugins/metrics-board/images", data={"csrf_token": token},
                                     content_type="multipart/form-data")
    assert response.status_code == 400 and 'id="e-icon">Choose an icon' in text(response)
    response = publisher_client.post("/publisher/plugins/metrics-board/images", data={
        "csrf_token": token, "icon": (io.BytesIO(b"GIF"), "icon.txt")}, content_type="multipart/form-data")
    assert response.status_code == 400 and 'id="e-icon">Not an image.' in text(response)


def test_unpublish_and_publish_again(publisher_client, fake):
    token = token_of(publisher_client, "/publisher/plugins/metrics-board")
    response = publisher_client.post("/publisher/plugins/metrics-board/status",
                                     data={"csrf_token": token, "action": "unpublish"})
    assert response.status_code == 303 and fake.plugins["metrics-board"]["status"] == "unpublished"
    page = text(publisher_client.get("/publisher/plugins/metrics-board"))
    assert "hidden from the public catalog" in page and "Publish again" in page
    publisher_client.post("/publisher/plugins/metrics-board/status", data={"csrf_token": token, "action": "publish"})
    assert fake.plugins["metrics-board"]["status"] == "published"


def test_deprecate_with_a_replacement(publisher_client, fake):
    token = token_of(publisher_client, "/publisher/plugins/metrics-board")
    response = publisher_client.post("/publisher/plugins/metrics-board/deprecate", data={"csrf_token": token})
    assert response.status_code == 400 and 'id="e-reason">Say why it is deprecated.' in text(response)
    response = publisher_client.post("/publisher/plugins/metrics-board/deprecate",
                                     data={"csrf_token": token, "reason": "Old", "replacement": "nothing-here"})
    assert response.status_code == 400
    assert "id=\"e-replacement\">Plugin &#39;nothing-here&#39; not found" in text(response)
    response = publisher_client.post("/publisher/plugins/metrics-board/deprecate",
                                     data={"csrf_token": token, "reason": "Old", "replacement": "old-thing"})
    assert response.status_code == 303
    assert fake.plugins["metrics-board"]["deprecation"] == {"reason": "Old", "replacement": "old-thing"}


def test_yank_a_version_with_a_reason(publisher_client, fake):
    token = token_of(publisher_client, "/publisher/plugins/metrics-board")
    response = publisher_client.post("/publisher/plugins/metrics-board/versions/1.2.0/yank", data={"csrf_token": token})
    assert response.status_code == 400 and "Say why this version is yanked." in text(response)
    response = publisher_client.post("/publisher/plugins/metrics-board/versions/1.2.0/yank",
                                     data={"csrf_token": token, "reason": "Broken build"})
    assert response.status_code == 303
    assert fake.plugins["metrics-board"]["versions"][0]["yankReason"] == "Broken build"
    assert "Broken build" in text(publisher_client.get("/publisher/plugins/metrics-board"))


def test_another_publishers_plugin_is_refused_by_the_api(client, fake):
    fake.plugins["metrics-board"]["ownerId"] = "acct_someone"
    sign_in(client, "mkp_publisher")
    token = token_of(client)
    response = client.post("/publisher/plugins/metrics-board/status", data={"csrf_token": token, "action": "unpublish"})
    assert response.status_code == 403 and "This plugin is not yours" in text(response)
    assert "req_fake_123" in text(response)


def test_every_publishing_form_needs_its_csrf_token(publisher_client, fake):
    for path in ("/publisher/plugins/new", "/publisher/plugins/metrics-board/versions/new",
                 "/publisher/plugins/metrics-board/images", "/publisher/plugins/metrics-board/status",
                 "/publisher/plugins/metrics-board/deprecate", "/publisher/plugins/metrics-board/versions/1.2.0/yank",
                 "/publisher/plugins/metrics-board/images/icon.png/delete"):
        for token in (None, "forged"):
            response = publisher_client.post(path, data={"action": "unpublish", "reason": "x", "name": "n",
                                                         **({"csrf_token": token} if token else {})})
            assert response.status_code == 400 and "did not come from this site" in text(response), path
    assert not [r for r in fake.requests if r["method"] != "GET"]


def test_markup_on_the_publishing_pages_is_inert(publisher_client):
    for path in ("/publisher", "/publisher/plugins/evil-plugin", "/publisher/plugins/evil-plugin/versions/new"):
        page = text(publisher_client.get(path))
        assert XSS not in page and 'src="javascript:' not in page, path
