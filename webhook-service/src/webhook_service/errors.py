"""The webhook service's own error codes (beyond the shared ones in marketplace_shared.errors)."""

WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND"
DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND"
