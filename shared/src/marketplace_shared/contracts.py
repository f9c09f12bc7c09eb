"""The event contract, docs/asyncapi.yaml: its messages, and checking an event against them (for tests).

Producers' tests check every outbox row they write (`outbox_checked`); consumers' tests build the events
they feed with `contract_event`, which refuses one the document does not allow.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import jsonschema
import referencing
import yaml
from sqlalchemy import event as orm_event

from .events import new_event

DOCUMENT_URI = "urn:marketplace:asyncapi"


class ContractError(AssertionError):
    """An event the AsyncAPI document does not allow."""


def document_path() -> Path:
    """docs/asyncapi.yaml of this checkout (ASYNCAPI_DOCUMENT overrides it)."""
    override = os.environ.get("ASYNCAPI_DOCUMENT")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


@lru_cache(maxsize=4)
def load_document(path: str | None = None) -> dict:
    with open(path or document_path(), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = document
        for part in pointer:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def messages(document: dict | None = None) -> dict[str, str]:
    """Event type (routing key) -> the JSON pointer of its message, one per channel."""
    document = document or load_document()
    result = {}
    for channel in document["channels"].values():
        refs = [message["$ref"] for message in channel["messages"].values()]
        if len(refs) != 1:
            raise ContractError(f"channel {channel['address']} must carry exactly one message")
        result[channel["address"]] = refs[0]
    return result


def message(event_type: str, document: dict | None = None) -> dict:
    document = document or load_document()
    pointer = messages(document).get(event_type)
    if pointer is None:
        raise ContractError(f"{event_type!r} is not an event type of docs/asyncapi.yaml")
    return _resolve(document, {"$ref": pointer})


def producer_source(event_type: str, document: dict | None = None) -> str:
    """The `source` the document requires for this type (the producing service's name)."""
    document = document or load_document()
    for part in message(event_type, document)["payload"]["allOf"]:
        source = _resolve(document, part).get("properties", {}).get("source", {})
        if "const" in source:
            return source["const"]
    raise ContractError(f"the message of {event_type!r} names no source")


@lru_cache(maxsize=64)
def _validator(event_type: str, path: str | None) -> jsonschema.protocols.Validator:
    document = load_document(path)
    pointer = messages(document).get(event_type)
    if pointer is None:
        raise ContractError(f"{event_type!r} is not an event type of docs/asyncapi.yaml")
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT7)
    registry = referencing.Registry().with_resource(DOCUMENT_URI, resource)
    schema = {"$ref": f"{DOCUMENT_URI}{pointer}/payload"}
    return jsonschema.Draft7Validator(schema, registry=registry,
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def violations(event: dict, path: str | None = None) -> list[str]:
    """What is wrong with an event (envelope and data) by the document; empty when nothing is."""
    event_type = event.get("type") if isinstance(event, dict) else None
    if not isinstance(event_type, str):
        return ["the event has no type"]
    try:
        validator = _validator(event_type, path)
    except ContractError as exc:
        return [str(exc)]
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(envelope)'}: {error.message}"
            for error in sorted(validator.iter_errors(event), key=lambda error: list(error.absolute_path))]


def check_event(event: dict) -> dict:
    """Return the event if the document allows it; raise ContractError naming every problem if not."""
    problems = violations(event)
    if problems:
        raise ContractError(f"{event.get('type')} does not match docs/asyncapi.yaml: " + "; ".join(problems))
    return event


def contract_event(event_type: str, data: dict, subject: str | None = None, **envelope) -> dict:
    """An envelope as the type's producer would send it (consumers' tests), checked against the document."""
    event = new_event(event_type, producer_source(event_type), data, subject) | envelope
    return check_event(event)


@contextmanager
def outbox_checked(outbox_model) -> Iterator[list[dict]]:
    """Check every row of `outbox_model` inserted inside the block, in any session of this process.

    Yields the list of checked events; at the end raises ContractError listing every event that broke
    the contract (a failing flush inside a request would only show as a 500)."""
    seen: list[dict] = []
    broken: list[str] = []

    def check(_mapper, _connection, row) -> None:
        seen.append(row.payload)
        problems = violations(row.payload)
        if problems:
            broken.append(f"{row.event_type}: " + "; ".join(problems))

    orm_event.listen(outbox_model, "before_insert", check)
    try:
        yield seen
    finally:
        orm_event.remove(outbox_model, "before_insert", check)
    if broken:
        raise ContractError("events that do not match docs/asyncapi.yaml:\n  " + "\n  ".join(broken))
