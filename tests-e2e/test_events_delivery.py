"""Events cross services through the outbox and RabbitMQ exactly once in effect, even when the
broker connection of every worker is cut and restored in between (through a TCP proxy)."""

from api_client import expect
from factories import publish_plugin, wait_for_installation, wait_until_installable
from marketplace_shared.testing import unique_name, wait_for


def installations_in_catalog(client, plugin_id) -> int:
    return expect(client.get(f"/plugins/{plugin_id}/stats"), 200)["data"]["usage"]["installations"]


def test_events_survive_a_broker_outage_without_loss_or_duplication(broker_proxy, publisher, user):
    plugin = publish_plugin(publisher)
    first = wait_until_installable(user, plugin["id"])
    wait_for_installation(user, first["installationId"])
    wait_for(lambda: installations_in_catalog(user, plugin["id"]) == 1, message="catalog counts the install")

    # Broker unreachable: the install is accepted and its events wait in the outboxes.
    broker_proxy.cut()
    try:
        response = user.post(f"/plugins/{plugin['id']}/install",
                             json={"environment": unique_name("env").replace("_", "-")})
        second = expect(response, 202)["data"]
        assert expect(user.get(f"/installations/{second['installationId']}"), 200)["data"]["startedAt"] is None
    finally:
        broker_proxy.restore()
    wait_for(lambda: broker_proxy.active_connections >= 4, timeout=30, message="workers reconnected")
    wait_for_installation(user, second["installationId"])
    wait_for(lambda: installations_in_catalog(user, plugin["id"]) == 2, timeout=30,
             message="catalog counts the install made during the outage")

    # Cut again while the job is under way, then a third install once everything is back:
    # a redelivered or republished event must not count twice.
    third = expect(user.post(f"/plugins/{plugin['id']}/install",
                             json={"environment": unique_name("env").replace("_", "-")}), 202)["data"]
    broker_proxy.cut()
    broker_proxy.restore()
    wait_for_installation(user, third["installationId"])
    fourth = expect(user.post(f"/plugins/{plugin['id']}/install",
                              json={"environment": unique_name("env").replace("_", "-")}), 202)["data"]
    wait_for_installation(user, fourth["installationId"])
    wait_for(lambda: installations_in_catalog(user, plugin["id"]) == 4, timeout=30, message="all four counted")
    assert installations_in_catalog(user, plugin["id"]) == 4
