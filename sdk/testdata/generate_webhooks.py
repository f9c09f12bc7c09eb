"""Write webhooks.json: signed webhook requests that every SDK's verifier must accept or refuse.

Run from the repository root: `python sdk/testdata/generate_webhooks.py`. The signatures are made
by the webhook service's own signing code, so the vectors are what receivers really get.
"""

import json
from pathlib import Path

from webhook_service.signing import body_signature, build_body, standard_signature

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_dGhlIHByZXZpb3VzIHNlY3JldCBvZiB0aGlzIHN1YnNjcmlwdGlvbg=="
PLAIN_SECRET = "a plain secret chosen by the subscriber"
NOW = 1764633600
MESSAGE_ID = "dlv_2f6c1d0e9a8b4c7d"
DATA = {"pluginId": "plugin_123", "pluginName": "catalog-backend", "version": "1.2.3",
        "installationId": "inst_8d2e", "environment": "production", "note": "naïve ✓"}


def body(secret=SECRET):
    return build_body(secret, "plugin.installed", "2025-12-02T00:00:00Z", DATA)


def standard_headers(secret_list, raw, message_id=MESSAGE_ID, sent_at=NOW):
    return {"webhook-id": message_id, "webhook-timestamp": str(sent_at),
            "webhook-signature": " ".join(standard_signature(s, message_id, sent_at, raw) for s in secret_list)}


def vector(name, secrets, headers, raw, valid, error=None, now=NOW, tolerance=300):
    return {"name": name, "secrets": secrets, "headers": headers, "body": raw.decode(), "now": now,
            "toleranceSeconds": tolerance, "valid": valid, "error": error}


def vectors():
    raw = body()
    both = {**standard_headers([SECRET], raw), "X-Marketplace-Signature-256": body_signature(SECRET, raw)}
    rotated = {**standard_headers([SECRET, OLD_SECRET], raw),
               "X-Marketplace-Signature-256": body_signature(SECRET, raw),
               "X-Marketplace-Signature-256-Previous": body_signature(OLD_SECRET, raw)}
    plain_raw = body(PLAIN_SECRET)
    return [
        vector("both schemes", [SECRET], both, raw, True),
        vector("standard webhooks only", [SECRET], standard_headers([SECRET], raw), raw, True),
        vector("X-Marketplace-Signature-256 only", [SECRET],
               {"X-Marketplace-Signature-256": body_signature(SECRET, raw)}, raw, True),
        vector("header names in another case", [SECRET], {k.upper(): v for k, v in both.items()}, raw, True),
        vector("a plain (non-whsec) secret", [PLAIN_SECRET],
               {**standard_headers([PLAIN_SECRET], plain_raw),
                "X-Marketplace-Signature-256": body_signature(PLAIN_SECRET, plain_raw)}, plain_raw, True),
        vector("rotation: receiver holds only the old secret", [OLD_SECRET], rotated, raw, True),
        vector("rotation: receiver holds both secrets", [OLD_SECRET, SECRET], rotated, raw, True),
        vector("an unknown signature version beside v1", [SECRET],
               {**standard_headers([SECRET], raw),
                "webhook-signature": "v2,Zm9v " + standard_headers([SECRET], raw)["webhook-signature"]}, raw, True),
        vector("timestamp at the edge of the tolerance", [SECRET], standard_headers([SECRET], raw), raw, True,
               now=NOW + 300),
        vector("timestamp too old", [SECRET], standard_headers([SECRET], raw), raw, False,
               "TIMESTAMP_OUT_OF_WINDOW", now=NOW + 301),
        vector("timestamp too far in the future", [SECRET], standard_headers([SECRET], raw), raw, False,
               "TIMESTAMP_OUT_OF_WINDOW", now=NOW - 301),
        vector("a smaller tolerance", [SECRET], standard_headers([SECRET], raw), raw, False,
               "TIMESTAMP_OUT_OF_WINDOW", now=NOW + 61, tolerance=60),
        vector("timestamp not a number", [SECRET],
               {**standard_headers([SECRET], raw), "webhook-timestamp": "yesterday"}, raw, False,
               "INVALID_TIMESTAMP"),
        vector("tampered body", [SECRET], both, raw.replace(b"1.2.3", b"1.2.4"), False, "INVALID_SIGNATURE"),
        vector("wrong secret", ["whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="], both, raw, False,
               "INVALID_SIGNATURE"),
        vector("standard signature of another message id", [SECRET],
               {**standard_headers([SECRET], raw, message_id="dlv_other"), "webhook-id": MESSAGE_ID}, raw, False,
               "INVALID_SIGNATURE"),
        vector("valid standard signature, wrong X-Marketplace-Signature-256", [SECRET],
               {**standard_headers([SECRET], raw), "X-Marketplace-Signature-256": "sha256=" + "00" * 32}, raw,
               False, "INVALID_SIGNATURE"),
        vector("no signature headers", [SECRET], {"Content-Type": "application/json"}, raw, False,
               "MISSING_SIGNATURE"),
        vector("webhook-signature without webhook-timestamp", [SECRET],
               {k: v for k, v in standard_headers([SECRET], raw).items() if k != "webhook-timestamp"}, raw, False,
               "MISSING_SIGNATURE"),
    ]


if __name__ == "__main__":
    target = Path(__file__).with_name("webhooks.json")
    document = {
        "description": "Webhook requests as the marketplace signs them. Each SDK's verifier must accept those "
                       "with valid=true and refuse the others with the given error code. `now` is the "
                       "receiver's clock (epoch seconds), `secrets` what the receiver holds, `body` the raw "
                       "UTF-8 body. Regenerate with `python sdk/testdata/generate_webhooks.py`.",
        "vectors": vectors(),
    }
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(document['vectors'])} vectors to {target}")
