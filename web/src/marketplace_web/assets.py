"""Static files under content-hashed names (`css/portal.3f2a9c1b7e40.css`), cached for a year.

The portal's own files come from `static/`; third-party ones from the packages that ship them
(Swagger UI from `swagger-ui-bundle`), pinned in pyproject.toml: nothing is loaded from a CDN.
"""

import hashlib
import mimetypes
from pathlib import Path

from flask import Response, abort, request
from swagger_ui_bundle import swagger_ui_path

STATIC_DIR = Path(__file__).parent / "static"
LONG_CACHE = "public, max-age=31536000, immutable"
# Third-party files the pages use: logical name -> file.
VENDOR = {
    "vendor/swagger-ui/swagger-ui-bundle.js": Path(swagger_ui_path) / "swagger-ui-bundle.js",
    "vendor/swagger-ui/swagger-ui.css": Path(swagger_ui_path) / "swagger-ui.css",
}


class Assets:
    """The manifest of every static file: logical name <-> hashed name, built once at start."""

    def __init__(self):
        self.by_logical: dict[str, str] = {}
        self.files: dict[str, Path] = {}
        sources = {str(path.relative_to(STATIC_DIR)): path for path in STATIC_DIR.rglob("*") if path.is_file()}
        sources.update(VENDOR)
        for logical, path in sources.items():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            stem, dot, suffix = logical.rpartition(".")
            hashed = f"{stem}.{digest}.{suffix}" if dot else f"{logical}.{digest}"
            self.by_logical[logical] = hashed
            self.files[hashed] = path

    def url(self, logical: str) -> str:
        return "/static/" + self.by_logical[logical]

    def serve(self, name: str) -> Response:
        path = self.files.get(name)
        if path is None:
            abort(404)
        etag = name.rsplit(".", 2)[-2] if name.count(".") >= 2 else name
        if request.if_none_match and etag in request.if_none_match:
            response = Response(status=304)
        else:
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            response = Response(path.read_bytes(), mimetype=mimetype)
        response.set_etag(etag)
        response.headers["Cache-Control"] = LONG_CACHE
        return response
