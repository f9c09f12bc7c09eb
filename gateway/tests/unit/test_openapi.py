import copy
import re

from openapi_spec_validator import validate

from gateway.openapi import merge_documents

API = "/api/marketplace/v1"


def _service_document(path: str, schema_name: str, schema: dict) -> dict:
    names = re.findall(r"{(\w+)}", path)
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]
    return {
        "openapi": "3.0.3", "info": {"title": "svc", "version": "v1"},
        "tags": [{"name": "plugins"}],
        "paths": {
            path: {"parameters": parameters, "get": {"summary": "Something", "tags": ["plugins"], "responses": {"200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}}}},
            "/healthz": {"get": {"responses": {"200": {"description": "OK"}}}},
        },
        "components": {"schemas": {schema_name: schema}},
    }


def test_merge_keeps_public_paths_and_renames_clashing_components():
    plugin = {"type": "object", "properties": {"id": {"type": "string"}}}
    catalog = _service_document(f"{API}/plugins", "Plugin", plugin)
    review = _service_document(f"{API}/reviews/{{review_id}}", "Plugin", {"type": "object"})
    merged = merge_documents([("catalog", catalog), ("review", copy.deepcopy(review))])
    validate(merged)
    assert set(merged["paths"]) == {f"{API}/plugins", f"{API}/reviews/{{review_id}}"}
    review_ref = merged["paths"][f"{API}/reviews/{{review_id}}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["$ref"]
    assert review_ref == "#/components/schemas/ReviewPlugin"
    assert merged["components"]["schemas"]["ReviewPlugin"] == {"type": "object"}
    assert merged["components"]["schemas"]["Plugin"]["properties"]["id"]
    assert [tag["name"] for tag in merged["tags"]] == ["plugins"]


def test_the_public_document_validates_and_has_every_route(client, upstreams):
    upstreams["catalog"].openapi = _service_document(f"{API}/plugins", "Plugin", {"type": "object"})
    upstreams["install"].openapi = _service_document(f"{API}/plugins/{{plugin_id}}/install", "Installation",
                                                     {"type": "object"})
    try:
        response = client.get(f"{API}/openapi.json")
        assert response.status_code == 200
        document = response.get_json()
        validate(document)
        for path in (f"{API}/plugins", f"{API}/plugins/{{plugin_id}}/install", f"{API}/admin/accounts",
                     f"{API}/admin/accounts/{{account_id}}", f"{API}/admin/accounts/{{account_id}}/api-keys",
                     f"{API}/me", f"{API}/me/api-keys", f"{API}/api-keys/{{key_id}}"):
            assert path in document["paths"], path
        assert "/healthz" not in document["paths"] and "/openapi.json" not in document["paths"]
        assert set(document["paths"][f"{API}/admin/accounts/{{account_id}}"]) == {"get", "patch", "parameters"}
        assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        assert document["components"]["schemas"]["Error"]["properties"]["requestId"]
    finally:
        for server in upstreams.values():
            server.openapi = {"openapi": "3.0.3", "info": {"title": server.name, "version": "v1"}, "paths": {}}


def test_a_service_that_is_down_leaves_the_rest_of_the_document(config):
    from gateway.app import create_app
    from gateway.migrate import migrate

    from ..conftest import FakeUpstream

    stopped = FakeUpstream("stopped")
    stopped.stop()
    config.WEBHOOK_URL = stopped.url
    migrate(config)
    document = create_app(config).test_client().get(f"{API}/openapi.json").get_json()
    validate(document)
    assert document["info"]["x-unavailable-services"] == ["webhook"]
    assert f"{API}/me" in document["paths"]


def test_docs_page_without_the_portal_points_at_the_document_and_loads_nothing(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert f'href="{API}/openapi.json"' in page and "WEB_URL" in page
    assert "<script" not in page and "http" not in page  # nothing from a CDN: it works air-gapped
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
