"""What the review service does with other services' events: HANDLERS = {event type: [function]}."""

import logging

from marketplace_shared.clock import utcnow
from marketplace_shared.events import event_time

from . import services
from .events import PLUGIN_INSTALLED, PLUGIN_PUBLISHED, PLUGIN_UNPUBLISHED

log = logging.getLogger(__name__)


def on_plugin_published(session, event: dict) -> None:
    services.plugin_published(session, event["data"], event_time(event) or utcnow())


def on_plugin_unpublished(session, event: dict) -> None:
    services.plugin_unpublished(session, event["data"], event_time(event) or utcnow())


def on_plugin_installed(session, event: dict) -> None:
    data = event["data"]
    if not data.get("accountId") or not data.get("pluginId"):
        # Nothing to learn: an installation nobody can be credited with.
        log.warning("plugin.installed without accountId or pluginId", extra={"eventId": event["id"]})
        return
    services.plugin_installed(session, data["accountId"], data["pluginId"], event_time(event) or utcnow())


HANDLERS: dict[str, list] = {
    PLUGIN_PUBLISHED: [on_plugin_published],
    PLUGIN_UNPUBLISHED: [on_plugin_unpublished],
    PLUGIN_INSTALLED: [on_plugin_installed],
}
