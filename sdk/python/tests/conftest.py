"""Fixtures of the SDK tests: a fake API server and a client pointed at it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sdk_fake_api import FakeApi  # noqa: E402

from backstage_marketplace import MarketplaceClient  # noqa: E402


@pytest.fixture
def api():
    fake = FakeApi()
    yield fake
    fake.close()


@pytest.fixture
def client(api) -> MarketplaceClient:
    """A client with a recorded (not slept) backoff, so retry tests are instant and can check the delays."""
    made = MarketplaceClient(api_key="mkp_test", base_url=api.url, timeout=5, max_retries=3, trust_env=False)
    made.slept = []
    made._sleep = made.slept.append
    yield made
    made.close()
