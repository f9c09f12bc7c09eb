"""The install form generated from the configuration schema, the live installation page, one's installations."""

import json

import pytest

from ..conftest import csrf_from
from ..fake_gateway import XSS


def text(response) -> str:
    return response.get_data(as_text=True)


def form(client, **fields):
    page = text(client.get("/plugins/metrics-board/install"))
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    data = {"csrf_token": csrf_from(page), "idempotency_key": key, "version": "1.2.0", "environment": "production",
            "namespace": "default", "deploymentStrategy": "rolling", "mode": "form"}
    data.update(fields)
    return client.post("/plugins/metrics-board/install", data=data)


def test_the_form_is_generated_from_the_schema(user_client):
    page = text(user_client.get("/plugins/metrics-board/install"))
    assert 'name="cfg.apiUrl"' in page and "(required)" in page and 'placeholder="https://api.example.com"' in page
    assert 'name="cfg.refreshSeconds" type="number"' in page and 'min="10"' in page and 'value="60"' in page
    assert '<select id="cfg-mode" name="cfg.mode"' in page and '<option value="safe"' in page
    assert 'type="checkbox" id="cfg-debug"' in page
    assert '<textarea id="cfg-hosts"' in page and "One value per line" in page
    assert 'name="cfg.apiToken" type="password"' in page
    assert '<textarea id="cfg-extra"' in page  # an object: its own JSON box
    assert 'name="configuration_json"' in page and "Raw JSON" in page
    # Yanked versions cannot be chosen.
    assert '<option value="1.1.0"' not in page and '<option value="1.2.0" selected>' in page


def test_the_checks_before_installing_into_an_environment_not_created_yet(user_client):
    page = text(user_client.get("/plugins/metrics-board/install?environment=brand-new"))
    assert "Backstage: needs <code>^1.30.0</code>" in page and "checked by the marketplace when you submit" in page
    assert "Dependency <code>catalog-backend</code>" in page and "resolved when the job runs" in page


@pytest.mark.parametrize("who", ["user_client", "admin_client"])
def test_everyone_signed_in_sees_what_the_environment_runs(request, who):
    page = text(request.getfixturevalue(who).get("/plugins/metrics-board/install?environment=production"))
    assert "production runs <code>1.35.0</code>" in page and "compatible" in page
    assert "production runs <code>16.0.0</code>" in page and "not compatible" in page
    assert "checked by the marketplace when you submit" not in page


def test_installing_with_the_form_sends_typed_configuration(user_client, fake):
    response = form(user_client, **{"cfg.apiUrl": "https://api.example.com", "cfg.refreshSeconds": "30",
                                    "cfg.mode": "safe", "cfg.debug": "true", "cfg.hosts": "a.example\nb.example\n",
                                    "cfg.extra": '{"x": 1}'})
    assert response.status_code == 303 and response.headers["Location"] == "/installations/install_1"
    sent = next(r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/install"))
    assert sent["json"]["configuration"] == {"apiUrl": "https://api.example.com", "refreshSeconds": 30,
                                             "mode": "safe", "debug": True, "hosts": ["a.example", "b.example"],
                                             "extra": {"x": 1}}
    assert sent["json"]["environment"] == "production" and sent["json"]["version"] == "1.2.0"
    assert len(sent["headers"]["Idempotency-Key"]) > 16  # a retried form does not install twice


def test_installing_with_raw_json(user_client, fake):
    response = form(user_client, mode="json", configuration_json=json.dumps({"apiUrl": "https://x.example"}))
    assert response.status_code == 303
    sent = next(r for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/install"))
    assert sent["json"]["configuration"] == {"apiUrl": "https://x.example"}


def test_the_form_is_validated_as_the_api_validates_it(user_client, fake):
    response = form(user_client, **{"cfg.refreshSeconds": "5"})
    page = text(response)
    assert response.status_code == 400
    assert "&#39;apiUrl&#39; is a required property" in page  # next to the field
    assert "5 is less than the minimum of 10" in page
    assert not any(r["method"] == "POST" and r["path"].endswith("/install") for r in fake.requests)
    response = form(user_client, **{"cfg.refreshSeconds": "soon", "cfg.apiUrl": "https://a.example"})
    assert response.status_code == 400 and "Not a whole number." in text(response)
    response = form(user_client, mode="json", configuration_json="{not json")
    assert response.status_code == 400 and "Not valid JSON" in text(response)
    response = form(user_client, mode="json", configuration_json='{"apiUrl": "https://a.example", "nope": 1}')
    assert response.status_code == 400 and "Additional properties are not allowed" in text(response)


def test_api_errors_show_next_to_the_fields_with_the_request_id(user_client):
    response = form(user_client, **{"cfg.apiUrl": "https://rejected.example.com"})
    page = text(response)
    assert response.status_code == 400 and "Rejected by the API." in page and "req_fake_123" in page
    response = form(user_client, environment="taken", **{"cfg.apiUrl": "https://a.example"})
    assert response.status_code == 400 and "Already installed here" in text(response)
    assert "ALREADY_INSTALLED" in text(response)


def test_the_live_page_and_its_progress_feed(user_client):
    form(user_client, **{"cfg.apiUrl": "https://api.example.com"})
    page = text(user_client.get("/installations/install_1"))
    assert 'data-progress-url="/installations/install_1/progress"' in page
    assert '<progress id="job-progress" max="100" value="30">' in page and "Downloading" in page
    assert "Cancel installation" in page
    assert XSS not in page and "Resolved &lt;script&gt;" in page  # log lines are text
    feed = user_client.get("/installations/install_1/progress?cursor=1").get_json()
    assert feed["status"] == "in_progress" and feed["final"] is False and feed["cursor"] == "2"
    assert [line["message"] for line in feed["logs"]] == ["Downloading"]


def test_cancel_then_the_outcome(user_client, fake):
    form(user_client, **{"cfg.apiUrl": "https://api.example.com"})
    token = csrf_from(text(user_client.get("/installations/install_1")))
    response = user_client.post("/installations/install_1/cancel", data={"csrf_token": token})
    assert response.status_code == 303
    page = text(user_client.get("/installations/install_1"))
    assert "cancelled" in page and "Cancel installation" not in page
    # Cancelling a finished job: the API's answer, readable.
    response = user_client.post("/installations/install_1/cancel", data={"csrf_token": token})
    assert response.status_code == 409 and "The installation has finished" in text(response)


def test_a_completed_installation_offers_upgrade_and_uninstall(user_client, fake):
    form(user_client, **{"cfg.apiUrl": "https://api.example.com"})
    fake.installations["install_1"].update(status="completed", installedVersion="1.2.0", health="healthy")
    page = text(user_client.get("/installations/install_1"))
    assert "Upgrade" in page and "Uninstall" in page and "Installed version <strong>1.2.0</strong>" in page


def test_my_installations(user_client, admin_client, fake):
    form(user_client, **{"cfg.apiUrl": "https://api.example.com"})
    page = text(user_client.get("/installations"))
    assert 'href="/installations/install_1"' in page and "in_progress" in page and "production/default" in page
    assert "No installations" in text(user_client.get("/installations?status=completed"))


def test_someone_elses_installation_is_not_found(client, fake):
    from ..conftest import sign_in
    sign_in(client, "mkp_user")
    form(client, **{"cfg.apiUrl": "https://api.example.com"})
    sign_in(client, "mkp_publisher")
    response = client.get("/installations/install_1")
    assert response.status_code == 404 and "not found" in text(response)


def test_check_again_reports_for_the_new_environment_and_installs_nothing(admin_client, fake):
    page = text(admin_client.get("/plugins/metrics-board/install"))
    response = admin_client.post("/plugins/metrics-board/install", data={
        "csrf_token": csrf_from(page), "check": "1", "version": "1.2.0", "environment": "staging",
        "namespace": "default", "deploymentStrategy": "rolling", "mode": "form", "cfg.apiToken": "s3cret",
        "cfg.apiUrl": "https://kept.example"})
    page = text(response)
    assert response.status_code == 200 and "staging runs <code>1.35.0</code>" in page
    assert 'value="https://kept.example"' in page  # what was typed stays
    assert not any(r["method"] == "POST" and r["path"].endswith("/install") for r in fake.requests)
    assert all("s3cret" not in str(r["args"]) for r in fake.requests)
