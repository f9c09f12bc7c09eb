"""docs/asyncapi.yaml validates against the official AsyncAPI 3.0.0 JSON Schema (npm @asyncapi/specs, pinned in
docs/contract-tools), and that check catches a broken document."""

import copy
import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import referencing.exceptions
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from marketplace_shared import contracts

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "docs" / "contract-tools"
SCHEMA = TOOLS / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
INSTALLED = TOOLS / "node_modules" / ".package-lock.json"  # npm ci writes it last


def _ensure_tools() -> None:
    """npm ci in docs/contract-tools when node_modules is missing or older than the lockfile."""
    lockfile = TOOLS / "package-lock.json"
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: run `scripts/ensure_tools.sh node` (make test does)")
    with open(lockfile, "rb") as lock:  # one npm ci at a time, should two test runs start together
        fcntl.flock(lock, fcntl.LOCK_EX)
        if INSTALLED.exists() and SCHEMA.exists() and INSTALLED.stat().st_mtime >= lockfile.stat().st_mtime:
            return
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLS, capture_output=True, text=True,
                              timeout=240)
        if done.returncode != 0:
            pytest.fail(f"npm ci in {TOOLS} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _no_retrieval(uri: str):
    raise referencing.exceptions.NoSuchResource(ref=uri)  # everything is in the bundle: never fetch from the web


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    _ensure_tools()
    with open(SCHEMA, encoding="utf-8") as handle:
        bundle = json.load(handle)
    assert bundle["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    # The bundle's definitions are keyed by their own $id; crawling indexes each as a resource, so its
    # http://asyncapi.com/... references resolve inside the bundle.
    registry = Registry(retrieve=_no_retrieval).with_resource(
        bundle["$id"], Resource.from_contents(bundle, default_specification=DRAFT7)).crawl()
    cls = jsonschema.validators.validator_for(bundle)
    cls.check_schema(bundle)
    return cls(bundle, registry=registry, format_checker=cls.FORMAT_CHECKER)


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific cause of a oneOf/anyOf failure: the branch that got deepest into the document."""
    while error.context:
        deepest = max(len(each.absolute_path) for each in error.context)
        error = jsonschema.exceptions.best_match(e for e in error.context if len(e.absolute_path) == deepest)
    return error


def problems(validator, document: dict) -> list[str]:
    """Readable violations: where in the document, and what is wrong there."""
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        cause = _deepest(error)
        found.append(f"{cause.json_path}: {cause.message[:300]}")
    return found


def test_the_document_is_valid_asyncapi_3_0_0(validator):
    document = contracts.load_document()
    assert document["asyncapi"] == "3.0.0"
    found = problems(validator, document)
    assert not found, "docs/asyncapi.yaml breaks the official AsyncAPI 3.0.0 schema:\n  " + "\n  ".join(found)


def test_a_channel_address_that_is_a_number_is_caught(validator):
    document = copy.deepcopy(contracts.load_document())
    channel = next(iter(document["channels"]))
    document["channels"][channel]["address"] = 42
    found = problems(validator, document)
    assert found == [f"$.channels.{channel}.address: 42 is not of type 'string', 'null'"], found


def test_an_operation_action_publish_is_caught(validator):
    document = copy.deepcopy(contracts.load_document())
    operation = next(iter(document["operations"]))
    document["operations"][operation]["action"] = "publish"  # AsyncAPI 2's verb; 3.0 has send and receive
    found = problems(validator, document)
    assert found == [f"$.operations.{operation}.action: 'publish' is not one of ['send', 'receive']"], found


def test_a_broken_payload_schema_and_a_missing_info_are_caught(validator):
    document = copy.deepcopy(contracts.load_document())
    del document["info"]
    name, schema = next((name, schema) for name, schema in document["components"]["schemas"].items()
                        if "type" in schema)
    schema["type"] = "text"  # not a JSON Schema type
    found = problems(validator, document)
    assert "$: 'info' is a required property" in found, found
    assert any(line.startswith(f"$.components.schemas.{name}") for line in found), found


def test_a_missing_npm_fails_rather_than_skips(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="npm is not installed"):
        _ensure_tools()
