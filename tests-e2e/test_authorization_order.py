"""Authorization comes before validation: whatever the body, an anonymous caller of a write gets 401 and a
caller whose role may not act gets 403, never a 400 that would tell them what a valid body looks like.

Every operation is taken from the gateway's served OpenAPI document, so a new write endpoint is covered
(and must be classified below) as soon as it is documented.
"""

import pytest

from api_client import PREFIX, expect_error
from factories import publish_plugin

# Operations only some roles may call at all: (method, path) -> the lowest role that may.
ROLE_ONLY = {
    ("POST", "/addons/api/plugins/"): "publisher",
    ("POST", "/addons/api/plugin_version/"): "publisher",
    ("POST", f"{PREFIX}/plugins"): "publisher",
    ("PATCH", f"{PREFIX}/plugins/{{plugin_id}}"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/versions"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/images"): "publisher",
    ("DELETE", f"{PREFIX}/plugins/{{plugin_id}}/images/{{name}}"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/publish"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/unpublish"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/deprecate"): "publisher",
    ("POST", f"{PREFIX}/plugins/{{plugin_id}}/versions/{{version}}/yank"): "publisher",
    ("GET", f"{PREFIX}/admin/accounts"): "admin",
    ("POST", f"{PREFIX}/admin/accounts"): "admin",
    ("GET", f"{PREFIX}/admin/accounts/{{account_id}}"): "admin",
    ("PATCH", f"{PREFIX}/admin/accounts/{{account_id}}"): "admin",
    ("GET", f"{PREFIX}/admin/accounts/{{account_id}}/api-keys"): "admin",
    ("POST", f"{PREFIX}/admin/accounts/{{account_id}}/api-keys"): "admin",
    ("GET", f"{PREFIX}/environments"): "admin",
    ("POST", f"{PREFIX}/environments"): "admin",
    ("PATCH", f"{PREFIX}/environments/{{name}}"): "admin",
    ("GET", f"{PREFIX}/reviews"): "admin",
    ("POST", f"{PREFIX}/reviews/{{review_id}}/hide"): "admin",
    ("POST", f"{PREFIX}/reviews/{{review_id}}/restore"): "admin",
}
# Writes anyone may make.
PUBLIC_WRITES = {("POST", f"{PREFIX}/plugins/search")}
# Reads that need a signed-in caller (their query is validated too).
SIGNED_IN_READS = {f"{PREFIX}/installations", f"{PREFIX}/installations/{{installation_id}}/logs",
                   f"{PREFIX}/webhooks", f"{PREFIX}/webhooks/{{webhook_id}}/deliveries", f"{PREFIX}/me/api-keys",
                   f"{PREFIX}/environments/{{name}}"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
BAD_BODY = {"notAField": {"nested": [1, "two"]}, "rating": "many", "name": 12}
BAD_QUERY = {"page": "zero", "limit": "-5", "status": "nonsense"}
RANK = {"anonymous": 0, "user": 1, "publisher": 2, "admin": 3}


@pytest.fixture(scope="module")
def document(anonymous):
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200, response.text[:300]
    return response.json()


@pytest.fixture(scope="module")
def plugin(admin):
    from factories import new_account

    return publish_plugin(new_account(admin, "publisher"))


def _operations(document) -> list[tuple[str, str]]:
    operations = []
    for path, methods in document["paths"].items():
        for method in methods:
            method = method.upper()
            if method in WRITES or (method == "GET" and (path in SIGNED_IN_READS or (method, path) in ROLE_ONLY)):
                operations.append((method, path))
    return sorted(operations)


def _url(path: str, plugin: dict) -> str:
    values = {"plugin_id": plugin["id"], "version": "1.0.0", "name": "icon"}
    for name in ("review_id", "installation_id", "webhook_id", "delivery_id", "account_id", "key_id"):
        values[name] = f"{name.split('_')[0]}_doesnotexist"
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"a path parameter without a test value: {path}"
    return path


def _send(client, method: str, url: str, headers=None):
    if method == "GET":
        return client.request(method, url, params=BAD_QUERY, headers=headers)
    return client.request(method, url, json=BAD_BODY, headers=headers)


def test_every_role_only_operation_is_documented(document):
    documented = set(_operations(document))
    missing = {operation for operation in ROLE_ONLY if operation not in documented}
    assert not missing, f"ROLE_ONLY names operations the document lacks: {sorted(missing)}"


def test_anonymous_callers_with_a_bad_body_get_401(document, anonymous, plugin):
    outcomes = {}
    for method, path in _operations(document):
        if (method, path) in PUBLIC_WRITES:
            continue
        response = _send(anonymous, method, _url(path, plugin))
        outcomes[f"{method} {path}"] = response.status_code
        if response.status_code == 401:
            expect_error(response, 401, "UNAUTHORIZED")
    wrong = {operation: status for operation, status in outcomes.items() if status != 401}
    assert len(outcomes) >= 40 and not wrong, f"expected 401 from every one: {wrong}"


@pytest.mark.parametrize("role", ["user", "publisher"])
def test_callers_below_the_role_with_a_bad_body_get_403(document, admin, plugin, role):
    from factories import new_account

    caller = new_account(admin, role)
    outcomes = {}
    for method, path in _operations(document):
        needed = ROLE_ONLY.get((method, path))
        if needed is None or RANK[role] >= RANK[needed]:
            continue
        # The BlueMind door reads its key from the api-key header as well.
        response = _send(caller, method, _url(path, plugin), headers={"api-key": caller.key})
        outcomes[f"{method} {path}"] = response.status_code
        if response.status_code == 403:
            expect_error(response, 403, "FORBIDDEN")
    wrong = {operation: status for operation, status in outcomes.items() if status != 403}
    assert outcomes and not wrong, f"expected 403 from every one: {wrong}"


def test_the_bodies_are_really_bad(document, admin, plugin):
    """An admin, who may call everything, gets a 4xx for the same bodies (so the 401s and 403s above were
    answered before validation, not instead of a success)."""
    outcomes = {}
    for method, path in _operations(document):
        operation = document["paths"][path][method.lower()]
        if "requestBody" not in operation and not any(parameter["in"] == "query"
                                                      for parameter in operation.get("parameters", [])):
            continue  # nothing to validate: the path decides
        response = _send(admin, method, _url(path, plugin))
        outcomes[f"{method} {path}"] = response.status_code
    wrong = {operation: status for operation, status in outcomes.items()
             if not 400 <= status < 500 or status in (401, 403)}
    assert len(outcomes) >= 25 and not wrong, f"expected a 4xx other than 401/403 from every one: {wrong}"
