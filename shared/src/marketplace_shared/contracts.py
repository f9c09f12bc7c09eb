"""The event contract, docs/asyncapi.yaml: its messages, and checking an event against them (for tests).

Producers' tests check every outbox row they write (`outbox_checked`); consumers' tests build the events
they feed with `contract_event`, which refuses one the document does not allow.
"""

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import jsonschema
import pika
import referencing
import yaml
from sqlalchemy import event as orm_event

from . import broker
from .events import new_event, topic_matches

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
    if len(node.get("allOf", [])) == 1 and "type" not in node:  # a described reference: `allOf: [$ref]`
        node = node["allOf"][0]
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


@contextmanager
def exchange_checked(amqp_url: str, exchange: str) -> Iterator[Counter]:
    """Bind a private queue to every routing key of `exchange` (e2e: the real processes' events) and, at the
    end, check every event that went through; yields a Counter of the types seen, filled at the end.

    While the block runs every event type is routable, even one with no consumer yet (`webhook.disabled`)."""
    params = broker.connection_parameters(amqp_url, heartbeat=0)  # idle for minutes between two looks
    connection = pika.BlockingConnection(params)
    seen: Counter = Counter()
    broken: list[str] = []
    try:
        channel = connection.channel()
        broker.declare_exchange(channel, exchange)
        queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue=queue, exchange=exchange, routing_key="#")
        yield seen
        while True:
            method, _properties, body = channel.basic_get(queue=queue, auto_ack=True)
            if method is None:
                break
            try:
                event = json.loads(body)
            except ValueError:
                broken.append(f"{method.routing_key}: not JSON")
                continue
            seen[event.get("type")] += 1
            if event.get("type") != method.routing_key:
                broken.append(f"{method.routing_key}: routing key is not the type {event.get('type')!r}")
            problems = violations(event)
            if problems:
                broken.append(f"{event.get('type')} {event.get('id')}: " + "; ".join(problems))
    finally:
        if connection.is_open:
            connection.close()
    if broken:
        raise ContractError("events on the exchange that do not match docs/asyncapi.yaml:\n  "
                            + "\n  ".join(broken[:50]))


# -- the readable catalogue (docs/events.md), generated from the document ------------------------------

def operations_of(document: dict, action: str) -> dict[str, list[tuple[str, str]]]:
    """Event type -> [(service tag, description)] of the document's send or receive operations."""
    addresses = {f"#/channels/{name}": channel["address"] for name, channel in document["channels"].items()}
    result: dict[str, list[tuple[str, str]]] = {}
    for operation in document["operations"].values():
        if operation["action"] != action:
            continue
        address = addresses[operation["channel"]["$ref"]]
        for tag in operation.get("tags", []):
            result.setdefault(address, []).append((_resolve(document, tag)["name"], operation.get("description", "")))
    return result


def sent_by(service_tag: str, document: dict | None = None) -> set[str]:
    """The event types the document says this service (its tag's name) publishes."""
    document = document or load_document()
    return {t for t, ops in operations_of(document, "send").items() if any(name == service_tag for name, _ in ops)}


def received_by(service_tag: str, document: dict | None = None) -> set[str]:
    """The event types the document says this service consumes."""
    document = document or load_document()
    return {t for t, ops in operations_of(document, "receive").items()
            if any(name == service_tag for name, _ in ops)}


def matching_types(patterns, document: dict | None = None) -> set[str]:
    """The document's event types that a consumer bound to these routing-key patterns receives."""
    return {event_type for event_type in messages(document or load_document())
            if any(topic_matches(pattern, event_type) for pattern in patterns)}


def public_types(document: dict | None = None) -> set[str]:
    """The types marked `x-public`: the ones webhook subscribers can receive."""
    document = document or load_document()
    return {t for t, pointer in messages(document).items() if _resolve(document, {"$ref": pointer}).get("x-public")}


def _type_text(document: dict, schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _type_text(document, _resolve(document, schema)) if name in _INLINED else name
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return " or ".join("null" if value is None else f"`{value}`" for value in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(_type_text(document, option) for option in schema["oneOf"])
    kinds = schema.get("type", "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if text == "array" and "items" in schema:
        text = f"array of {_type_text(document, schema['items'])}"
    return text


# Shared schemas shown as their type rather than by name in the catalogue.
_INLINED = {"PluginId", "InstallationId", "WebhookId", "AccountId", "Version", "Time", "NullableTime"}


def _object_parts(document: dict, schema: dict) -> tuple[dict, set]:
    """Properties and required names of an object schema, through allOf and $ref."""
    schema = _resolve(document, schema)
    properties, required = dict(schema.get("properties", {})), set(schema.get("required", []))
    for part in schema.get("allOf", []):
        more, more_required = _object_parts(document, part)
        properties.update(more)
        required |= more_required
    return properties, required


def _field_rows(document: dict, schema: dict, prefix: str = "") -> list[str]:
    rows = []
    properties, required = _object_parts(document, schema)
    for name, prop in properties.items():
        resolved = _resolve(document, prop)
        nested = resolved.get("type") == "object" and "properties" in resolved
        item = resolved.get("items", {}) if resolved.get("type") == "array" else {}
        kind = "object" if nested else ("array of objects" if "properties" in item else _type_text(document, prop))
        description = " ".join((prop.get("description") or resolved.get("description") or "").split())
        rows.append(f"| `{prefix}{name}` | {kind} | {'yes' if name in required else 'no'} | {description} |")
        if nested:
            rows += _field_rows(document, resolved, f"{prefix}{name}.")
        elif "properties" in item:
            rows += _field_rows(document, item, f"{prefix}{name}[].")
    return rows


def _names(document: dict, schema: dict) -> str:
    properties, _ = _object_parts(document, schema)
    parts = []
    for name, prop in properties.items():
        resolved = _resolve(document, prop)
        inner = resolved.get("items", resolved) if resolved.get("type") == "array" else resolved
        if "properties" in inner and name != "distribution":
            parts.append(f"`{name}` {{{', '.join(f'`{key}`' for key in inner['properties'])}}}")
        else:
            parts.append(f"`{name}`")
    return ", ".join(parts)


def render_catalogue(document: dict | None = None) -> str:
    """docs/events.md: the document's events, producers, consumers and fields, for people."""
    document = document or load_document()
    senders, receivers = operations_of(document, "send"), operations_of(document, "receive")
    envelope = document["components"]["schemas"]["Envelope"]
    lines = ["# Event catalogue", "",
             "<!-- Generated from docs/asyncapi.yaml by `python -m marketplace_shared.contracts docs/events.md`;",
             "     shared/tests/unit/test_contracts.py fails when it is not current. Edit the YAML, not this. -->",
             "", document["info"]["description"].strip(), "",
             "## The envelope", "", " ".join(envelope["description"].split()), "",
             "| attribute | type | required | meaning |", "| --- | --- | --- | --- |",
             *_field_rows(document, envelope), "",
             "## Events", "", "| type | producer | consumers | data |", "| --- | --- | --- | --- |"]
    sections = []
    for event_type, pointer in messages(document).items():
        msg = _resolve(document, {"$ref": pointer})
        data = _data_schema(document, msg)
        public = " (public)" if msg.get("x-public") else ""
        producer = ", ".join(name for name, _ in senders.get(event_type, []))
        consumers = ", ".join(name for name, _ in receivers.get(event_type, [])) or "none"
        lines.append(f"| `{event_type}`{public} | {producer} | {consumers} | {_names(document, data)} |")
        channel = next(c for c in document["channels"].values() if c["address"] == event_type)
        sections += ["", f"### `{event_type}`{public}", "", " ".join(channel.get("description", "").split()), "",
                     f"Source `{producer_source(event_type, document)}`; subject: the "
                     f"`{_subject_name(document, msg)}`.", ""]
        for name, note in receivers.get(event_type, []):
            sections.append(f"- consumed by {name}" + (f": {' '.join(note.split())}" if note else ""))
        if receivers.get(event_type):
            sections.append("")
        sections += ["| field of `data` | type | required | meaning |", "| --- | --- | --- | --- |",
                     *_field_rows(document, data)]
    return "\n".join(lines + sections) + "\n"


def _payload_properties(document: dict, msg: dict) -> dict:
    properties = {}
    for part in msg["payload"]["allOf"]:
        properties.update(_resolve(document, part).get("properties", {}))
    return properties


def _data_schema(document: dict, msg: dict) -> dict:
    return _payload_properties(document, msg)["data"]


def _subject_name(document: dict, msg: dict) -> str:
    subject = _payload_properties(document, msg)["subject"]
    return subject.get("$ref", "").rsplit("/", 1)[-1] or "subject"


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render_catalogue()
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
