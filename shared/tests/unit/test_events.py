from marketplace_shared.events import new_event, topic_matches
from marketplace_shared.logs import current_request_id


def test_event_envelope_is_cloudevents_with_request_id():
    token = current_request_id.set("req_abc")
    try:
        event = new_event("plugin.published", "catalog-service", {"pluginId": "plugin_1"}, subject="plugin_1")
    finally:
        current_request_id.reset(token)
    assert event["specversion"] == "1.0"
    assert event["id"].startswith("evt_")
    assert event["type"] == "plugin.published" and event["source"] == "catalog-service"
    assert event["datacontenttype"] == "application/json"
    assert event["time"].endswith("Z")
    assert event["requestid"] == "req_abc"
    assert event["data"] == {"pluginId": "plugin_1"}


def test_topic_matching_follows_amqp_rules():
    assert topic_matches("plugin.#", "plugin.installed")
    assert topic_matches("plugin.*", "plugin.installed")
    assert topic_matches("#", "review.rating_changed")
    assert not topic_matches("plugin.*", "plugin.a.b")
    assert topic_matches("plugin.#", "plugin.a.b")
    assert not topic_matches("plugin.installed", "plugin.uninstalled")
