"""The committed docs/openapi.json validates against the official OpenAPI 3.0 schema (openapi-spec-validator's bundled
copy, plus its checks of references and path parameters), without starting the stack; broken copies are caught."""

import copy
import json
from pathlib import Path

import jsonschema
import referencing.exceptions
from openapi_spec_validator import OpenAPIV30SpecValidator

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def load() -> dict:
    with open(DOCUMENT, encoding="utf-8") as handle:
        return json.load(handle)


def problems(document: dict) -> list[str]:
    """Readable violations: where in the document, and what is wrong there (the deepest oneOf branch)."""
    found = []
    try:
        for error in OpenAPIV30SpecValidator(document).iter_errors():
            while error.context:
                deepest = max(len(each.absolute_path) for each in error.context)
                error = jsonschema.exceptions.best_match(e for e in error.context if len(e.absolute_path) == deepest)
            found.append(f"{error.json_path}: {error.message.splitlines()[0][:300]}")
    except referencing.exceptions.Unresolvable as unresolvable:  # the validator raises, rather than reports, these
        found.append(f"unresolvable reference {unresolvable.ref!r}")
    return found


def test_the_committed_document_is_valid_openapi_3_0():
    document = load()
    assert document["openapi"].startswith("3.0."), document["openapi"]
    found = problems(document)
    assert not found, "docs/openapi.json breaks the OpenAPI 3.0 schema:\n  " + "\n  ".join(found)


def test_a_broken_copy_is_caught_with_readable_messages():
    document = copy.deepcopy(load())
    document["info"]["version"] = 3
    document["paths"]["no-leading-slash"] = {}
    path, status = next((path, status) for path, item in document["paths"].items() if "get" in item
                        for status, response in item["get"]["responses"].items() if "description" in response)
    del document["paths"][path]["get"]["responses"][status]["description"]
    found = problems(document)
    assert any(line.startswith("$.info.version: 3 is not of type") and "string" in line for line in found), found
    assert any(line.startswith("$.paths:") and "'no-leading-slash' was unexpected" in line for line in found), found
    assert any(line.startswith(f"$.paths['{path}'].get.responses[{status}]: ") for line in found), found


def test_an_unresolvable_reference_is_caught():
    document = copy.deepcopy(load())
    document["components"]["schemas"]["Broken"] = {"$ref": "#/components/schemas/NoSuchSchema"}
    found = problems(document)
    assert len(found) == 1 and found[0].startswith("unresolvable reference") and "NoSuchSchema" in found[0], found
