"""Write docs/openapi.json: the gateway's merged public document, built from the services' own apps.

The document is generated from the schemas (flask-smorest), never edited by hand. `make openapi`
runs this; the SDKs generate their types from the file it writes, and an end-to-end test checks
that the running gateway serves exactly this document.

    python scripts/openapi.py            # (re)write docs/openapi.json
    python scripts/openapi.py --check    # exit 1 when docs/openapi.json is not up to date
"""

import argparse
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "openapi.json"
SERVICE_PACKAGES = {"catalog": "catalog_service", "install": "install_service", "review": "review_service",
                    "webhook": "webhook_service"}


def service_document(package: str, var_dir: Path) -> dict:
    """The service's own /openapi.json, from an app on a throwaway SQLite database (no broker needed)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / package}.db"
    app = importlib.import_module(f"{package}.app").create_app()
    return app.test_client().get("/openapi.json").get_json()


def merged_document() -> dict:
    from gateway.app import create_app as create_gateway
    from gateway.openapi import SERVICE_ORDER, merge_documents

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            os.environ.update({"VAR_DIR": tmp, "MARKETPLACE_ADMIN_API_KEY": "", "RATE_LIMIT_ENABLED": "false"})
            documents = [(name, service_document(SERVICE_PACKAGES[name], Path(tmp))) for name in SERVICE_ORDER]
            os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/gateway.db"
            gateway = create_gateway()
            documents.append(("gateway", json.loads(json.dumps(gateway.extensions["gateway"].openapi.own_spec()))))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return merge_documents(documents)


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed document is out of date")
    args = parser.parse_args()
    text = render(merged_document())
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(REPO)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(REPO)} is up to date")
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(REPO)} ({len(document_paths(text))} paths)")
    return 0


def document_paths(text: str) -> dict:
    return json.loads(text)["paths"]


if __name__ == "__main__":
    sys.exit(main())
