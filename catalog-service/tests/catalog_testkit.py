"""Test helpers for the catalog: archives, identities and small factories."""

import io
import json
import tarfile
import zipfile
from contextlib import contextmanager

from sqlalchemy import text

from catalog_service.app import create_app
from catalog_service.config import Config
from catalog_service.migrate import migrate
from marketplace_shared.identity import Identity, issue_token
from marketplace_shared.testing import temporary_postgres_database

API = "/api/marketplace/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def make_tgz(files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (files or {"package/package.json": b'{"name": "x"}'}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_zip(files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (files or {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n"}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def headers_for(config, account="acct_pub", role="publisher", name="Pat Publisher", email="pat@example.com"):
    token = issue_token(config.INTERNAL_TOKEN_SECRET, Identity(id=account, role=role, name=name, email=email))
    return {"X-Marketplace-Identity": token}


def anonymous_headers(config):
    """What the gateway sends for a caller who is not signed in."""
    return headers_for(config, account="anonymous", role="anonymous", name="", email="")


def create_plugin(client, headers, name="catalog-backend", **fields):
    body = {"name": name, "description": f"The {name} plugin", "category": "backend", **fields}
    response = client.post(f"{API}/plugins", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def upload_version(client, headers, plugin_ref, version="1.0.0", package=None, filename="pkg.tgz", **metadata):
    meta = {"version": version, **metadata}
    data = {"metadata": json.dumps(meta),
            "package": (io.BytesIO(make_tgz() if package is None else package), filename)}
    return client.post(f"{API}/plugins/{plugin_ref}/versions", data=data, headers=headers,
                       content_type="multipart/form-data")


def published_plugin(client, headers, name="catalog-backend", version="1.0.0", compatibility=None, **fields):
    plugin = create_plugin(client, headers, name=name, **fields)
    response = upload_version(client, headers, plugin["id"], version=version,
                              compatibility=compatibility or {"backstage": "^1.35.0", "node": ">=18.0.0"})
    assert response.status_code == 201, response.get_json()
    return plugin


def write(app, statement: str, **params) -> None:
    """One SQL write committed on the app's database (what a bulk load or an operator would do)."""
    with app.app_context():
        session = app.extensions["database"].session()
        try:
            session.execute(text(statement), params)
            session.commit()
        finally:
            session.close()


@contextmanager
def postgres_catalog(prefix: str, artifacts):
    """(config, app, client, publisher headers) of a catalog on a fresh, migrated PostgreSQL database."""
    with temporary_postgres_database(prefix) as url:
        migrate(Config(DATABASE_URL=url))
        config = Config(DATABASE_URL=url, ARTIFACT_ROOT=str(artifacts))
        app = create_app(config)
        try:
            yield config, app, app.test_client(), headers_for(config)
        finally:
            app.extensions["database"].dispose()
