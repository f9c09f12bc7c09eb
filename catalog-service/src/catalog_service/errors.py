"""The catalog's own error codes (beyond the shared ones in marketplace_shared.errors)."""

VERSION_NOT_FOUND = "VERSION_NOT_FOUND"
