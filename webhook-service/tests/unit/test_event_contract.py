"""The webhook service's events agree with docs/asyncapi.yaml both ways: the types it publishes, the ones it
consumes, and the ones subscribers may receive (`x-public`)."""

from marketplace_shared import contracts
from webhook_service import events
from webhook_service.handlers import HANDLERS


def test_it_publishes_exactly_the_documented_types():
    assert set(events.PUBLISHED) == contracts.sent_by("webhook")


def test_it_consumes_exactly_the_documented_types():
    assert contracts.matching_types(HANDLERS) == contracts.received_by("webhook")


def test_subscribers_receive_exactly_the_public_types():
    assert set(events.PUBLIC_EVENTS) == contracts.public_types()
