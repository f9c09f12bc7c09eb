"""The shared webhook test vectors (sdk/testdata/webhooks.json), which the TypeScript and Go SDKs check too."""

import json
from pathlib import Path

import pytest

from backstage_marketplace import WebhookVerificationError, verify_webhook

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "testdata" / "webhooks.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector):
    def verify():
        return verify_webhook(vector["secrets"], vector["headers"], vector["body"].encode(),
                              tolerance=vector["toleranceSeconds"], now=vector["now"])

    if vector["valid"]:
        assert verify()["event"] == "plugin.installed"
    else:
        with pytest.raises(WebhookVerificationError) as raised:
            verify()
        assert raised.value.code == vector["error"]
