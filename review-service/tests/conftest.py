
import pytest
from sqlalchemy import select

from marketplace_shared.contracts import contract_event
from marketplace_shared.db import Database
from marketplace_shared.testing import app_fixtures, checked_events_fixture, identity_headers
from review_service.app import create_app
from review_service.config import Config
from review_service.migrate import migrate
from review_service.models import OutboxEvent
from review_service.worker import build_worker

PREFIX = "/api/marketplace/v1"


checked_events = checked_events_fixture(OutboxEvent)


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/review.db")


app, client = app_fixtures(create_app, migrate)


@pytest.fixture
def database(app):
    return app.extensions["database"]


@pytest.fixture
def worker(app, config):
    """The real worker, unconnected: `worker.handle(event)` runs HANDLERS with dedupe, as for a message."""
    worker = build_worker(config)
    yield worker
    worker.database.dispose()


@pytest.fixture
def deliver(worker):
    def deliver(event_type: str, data: dict, **envelope) -> dict:
        """Hand the worker an event as its producer sends it (checked against docs/asyncapi.yaml)."""
        event = contract_event(event_type, data, data.get("pluginId"), **envelope)
        worker.handle(event)
        return event
    return deliver


@pytest.fixture
def plugin(deliver):
    """A published plugin the review service knows about."""
    deliver("plugin.published", {"pluginId": "plugin_abc", "name": "catalog-backend", "displayName": "Catalog",
                                  "ownerId": "acct_owner", "version": "1.0.0", "category": "backend"})
    return "plugin_abc"


@pytest.fixture
def auth(config):
    """Headers the gateway would send for this caller."""
    def auth(account_id: str = "acct_ann", role: str = "user", name: str = "Ann",
             email: str = "ann@example.com") -> dict:
        return identity_headers(config.INTERNAL_TOKEN_SECRET, account_id, role, name, email)
    return auth


@pytest.fixture
def rating_events(database: Database):
    """The data of every review.rating_changed written to the outbox, oldest first."""
    def rating_events() -> list[dict]:
        with database.session() as session:
            rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "review.rating_changed")
                                   .order_by(OutboxEvent.id)).all()
            return [row.payload["data"] for row in rows]
    return rating_events
