"""exchange_checked on the real RabbitMQ: it sees every event published to the exchange and names the bad ones."""

import pytest

from marketplace_shared import contracts
from marketplace_shared.broker import EventPublisher, connect
from marketplace_shared.events import new_event
from marketplace_shared.testing import AMQP_URL, delete_broker_objects, unique_name

DATA = {"pluginId": "plugin_0123456789", "ownerId": "acct_a"}


@pytest.fixture
def exchange():
    prefix = unique_name("contract_tap") + "."
    yield prefix + "marketplace.events"
    delete_broker_objects(prefix, [], prefix + "marketplace.events")


def test_every_event_on_the_exchange_is_checked(exchange):
    connection = connect(AMQP_URL)
    try:
        with contracts.exchange_checked(AMQP_URL, exchange) as seen:
            publisher = EventPublisher(connection, exchange)
            publisher.publish(contracts.contract_event("plugin.unpublished", DATA, DATA["pluginId"]))
            publisher.publish(contracts.contract_event("plugin.unpublished", DATA, DATA["pluginId"]))
        assert seen == {"plugin.unpublished": 2}

        with pytest.raises(contracts.ContractError, match="'ownerId' is a required property") as caught, \
                contracts.exchange_checked(AMQP_URL, exchange):
            publisher = EventPublisher(connection, exchange)
            publisher.publish(contracts.contract_event("plugin.unpublished", DATA, DATA["pluginId"]))
            publisher.publish(new_event("plugin.unpublished", "catalog-service", {"pluginId": DATA["pluginId"]},
                                        DATA["pluginId"]))
        assert str(caught.value).count("plugin.unpublished evt_") == 1
    finally:
        connection.close()
