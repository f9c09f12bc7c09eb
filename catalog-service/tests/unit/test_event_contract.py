"""The catalog's events agree with docs/asyncapi.yaml both ways: the types it publishes and the ones it consumes
(the fields of each are checked on every outbox row the tests write, see conftest.py)."""

from catalog_service import events
from catalog_service.handlers import HANDLERS
from marketplace_shared import contracts


def test_it_publishes_exactly_the_documented_types():
    assert set(events.PUBLISHED) == contracts.sent_by("catalog")


def test_it_consumes_exactly_the_documented_types():
    assert contracts.matching_types(HANDLERS) == contracts.received_by("catalog")
    assert set(HANDLERS) == {events.REVIEW_RATING_CHANGED, *events.INSTALLATION_EVENTS}
