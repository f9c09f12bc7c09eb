"""docs/asyncapi.yaml is a well-formed contract, docs/events.md is generated from it, and the checker catches what
it must (a missing field, an undocumented one, a wrong source or time, an unknown type)."""

import jsonschema
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Session

from marketplace_shared import contracts
from marketplace_shared.logs import current_request_id
from marketplace_shared.outbox import OutboxMixin, record_event

DOCUMENT = contracts.load_document()


def refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_events_md_is_generated_from_the_document():
    with open(contracts.document_path().parent / "events.md", encoding="utf-8") as handle:
        current = handle.read()
    assert current == contracts.render_catalogue(DOCUMENT), \
        "docs/events.md is stale: run `.venv/bin/python -m marketplace_shared.contracts docs/events.md`"


def test_the_document_is_asyncapi_3_and_every_reference_resolves():
    assert DOCUMENT["asyncapi"].startswith("3.")
    for ref in set(refs(DOCUMENT)):
        assert ref.startswith("#/"), ref
        assert isinstance(contracts._resolve(DOCUMENT, {"$ref": ref}), dict), ref


def test_every_schema_is_a_valid_json_schema():
    schemas = [*DOCUMENT["components"]["schemas"].values(),
               *(message["payload"] for message in DOCUMENT["components"]["messages"].values())]
    assert len(schemas) > 13
    for schema in schemas:
        jsonschema.Draft7Validator.check_schema(schema)


def test_each_routing_key_has_one_message_one_producer_and_a_matching_type():
    senders = contracts.operations_of(DOCUMENT, "send")
    for event_type, pointer in contracts.messages(DOCUMENT).items():
        message = contracts._resolve(DOCUMENT, {"$ref": pointer})
        assert message["name"] == event_type
        assert len(senders.get(event_type, [])) == 1, f"{event_type} needs exactly one producer"
        types = [part["properties"]["type"]["const"] for part in message["payload"]["allOf"]
                 if "properties" in part and "type" in part["properties"]]
        assert types == [event_type]
        assert contracts.producer_source(event_type, DOCUMENT).endswith("-service")
    bound = {operation["channel"]["$ref"] for operation in DOCUMENT["operations"].values()}
    assert bound == {f"#/channels/{name}" for name in DOCUMENT["channels"]}


def test_a_producer_shaped_event_passes_and_carries_the_request_id():
    token = current_request_id.set("req_123")
    try:
        event = contracts.contract_event("plugin.unpublished", {"pluginId": "plugin_0123456789", "ownerId": "acct_a"},
                                         "plugin_0123456789")
    finally:
        current_request_id.reset(token)
    assert event["source"] == "catalog-service" and event["requestid"] == "req_123"


@pytest.mark.parametrize("change, problem", [
    (lambda e: e["data"].pop("ownerId"), "data: 'ownerId' is a required property"),
    (lambda e: e["data"].update(extra=1), "data: Additional properties are not allowed ('extra' was unexpected)"),
    (lambda e: e.update(source="install-service"), "source: 'catalog-service' was expected"),
    (lambda e: e.update(time="2026-11-23T10:00:00Z"), "time: '2026-11-23T10:00:00Z' does not match"),
    (lambda e: e.pop("subject"), "(envelope): 'subject' is a required property"),
    (lambda e: e.update(type="plugin.exploded"), "'plugin.exploded' is not an event type of docs/asyncapi.yaml"),
])
def test_violations_name_what_is_wrong(change, problem):
    event = contracts.contract_event("plugin.unpublished", {"pluginId": "plugin_0123456789", "ownerId": "acct_a"},
                                     "plugin_0123456789")
    change(event)
    found = contracts.violations(event)
    assert any(text.startswith(problem) for text in found), found
    with pytest.raises(contracts.ContractError):
        contracts.check_event(event)


def test_lifecycle_events_refuse_another_types_fields():
    data = {"pluginId": "plugin_0123456789", "version": "1.0.0", "installationId": "install_1",
            "environment": "production", "namespace": "default", "accountId": "acct_a"}
    contracts.contract_event("plugin.installed", data, data["pluginId"])
    with pytest.raises(contracts.ContractError, match="previous"):
        contracts.contract_event("plugin.installed", {**data, "previous": "healthy"}, data["pluginId"])
    with pytest.raises(contracts.ContractError, match="previousVersion"):
        contracts.contract_event("plugin.updated", data, data["pluginId"])


class Base(DeclarativeBase):
    pass


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


def test_outbox_checked_sees_every_row_and_fails_on_a_broken_one():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    good = {"pluginId": "plugin_0123456789", "ownerId": "acct_a"}
    with contracts.outbox_checked(Outbox) as written, Session(engine) as session, session.begin():
        record_event(session, Outbox, "plugin.unpublished", "catalog-service", good, good["pluginId"])
    assert [event["type"] for event in written] == ["plugin.unpublished"]
    broken = {"pluginId": good["pluginId"]}
    with pytest.raises(contracts.ContractError, match="'ownerId' is a required property"), \
            contracts.outbox_checked(Outbox), Session(engine) as session, session.begin():
        record_event(session, Outbox, "plugin.unpublished", "catalog-service", broken, good["pluginId"])
    # Outside the block nothing is checked any more.
    with Session(engine) as session, session.begin():
        record_event(session, Outbox, "plugin.unpublished", "catalog-service", {}, None)
    engine.dispose()
