"""The pages of the reviews, publishing, webhooks and administration areas run against the fake gateway
with those areas' routes added (fake_areas.extend)."""

import pytest

from ...fake_gateway import FakeGateway
from .fake_areas import extend


@pytest.fixture
def fake():
    gateway = FakeGateway()
    extend(gateway)
    return gateway
