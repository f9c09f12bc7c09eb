"""The API reference, readable offline: Swagger UI from the pinned swagger-ui-bundle package."""

from flask import Blueprint, make_response, render_template

from ..security import DOCS_CONTENT_SECURITY_POLICY

bp = Blueprint("docs", __name__)
OPENAPI_URL = "/api/marketplace/v1/openapi.json"


@bp.get(OPENAPI_URL.rsplit("/", 1)[0] + "/docs")  # the gateway sends its docs path here
@bp.get("/docs")
def api_docs():
    response = make_response(render_template("docs/api.html", openapi_url=OPENAPI_URL))
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response
