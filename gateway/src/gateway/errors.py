"""The gateway's own error codes (beyond the shared ones in marketplace_shared.errors)."""

ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
