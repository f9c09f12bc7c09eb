
import sys
from pathlib import Path

import pytest

from marketplace_shared.testing import app_fixtures, checked_events_fixture, database_fixture, identity_headers
from webhook_service.app import create_app
from webhook_service.config import Config
from webhook_service.migrate import migrate
from webhook_service.models import OutboxEvent

# scripts/webhook_receiver.py: the loopback receiver the tests send to.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

PREFIX = "/api/marketplace/v1"

# Names the fake resolver knows; anything else does not resolve.
FAKE_DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "internal.example.com": ["10.0.0.1"],
    "mixed.example.com": ["93.184.216.34", "192.168.1.5"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    if host not in FAKE_DNS:
        raise OSError(f"cannot resolve {host}")
    return FAKE_DNS[host]


checked_events = checked_events_fixture(OutboxEvent)


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/webhook.db", WEBHOOK_ALLOWED_NETWORKS=[],
                  WEBHOOK_RETRY_SCHEDULE=[5, 300, 1800], WEBHOOK_RETRY_JITTER=0.0)


app, client = app_fixtures(lambda config: create_app(config, resolver=fake_resolver), migrate)
database = database_fixture()


@pytest.fixture
def auth(config):
    """auth(account_id, role) -> the headers the gateway would send for that caller."""

    def headers(account_id: str = "acct_ann", role: str = "user") -> dict:
        return identity_headers(config.INTERNAL_TOKEN_SECRET, account_id, role)

    return headers
