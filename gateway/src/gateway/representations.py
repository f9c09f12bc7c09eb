"""How the gateway's rows read in API bodies: accounts, API keys (the plaintext key only when just created)."""

from marketplace_shared.clock import iso

from .models import Account, ApiKey


def account_view(account: Account) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "role": account.role,
        "tier": account.tier,
        "rateLimitPerHour": account.rate_limit_per_hour,
        "externalSubject": account.external_subject,
        "createdAt": iso(account.created_at),
        "updatedAt": iso(account.updated_at),
    }


def me_view(account: Account, rate_limit: dict | None) -> dict:
    """The signed-in account with the budget its last request spent (None where no limiter runs)."""
    return account_view(account) | {"rateLimit": rate_limit}


def api_key_view(key: ApiKey) -> dict:
    """A key as its owner sees it later: never the key itself."""
    return {
        "id": key.id,
        "accountId": key.account_id,
        "name": key.name,
        "prefix": key.prefix,
        "status": key.status(),
        "createdAt": iso(key.created_at),
        "expiresAt": iso(key.expires_at),
        "lastUsedAt": iso(key.last_used_at),
        "revokedAt": iso(key.revoked_at),
    }


def created_key_view(key: ApiKey, plaintext: str) -> dict:
    """A key just created: the only response that carries the key."""
    return api_key_view(key) | {"key": plaintext}
