"""Use cases of the gateway: accounts, API keys and the lookups authentication needs."""

import hashlib
import hmac
import secrets
import string
import zlib
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from marketplace_shared.clock import utcnow
from marketplace_shared.errors import ApiError, conflict, forbidden, not_found, validation_error

from .errors import ACCOUNT_NOT_FOUND, API_KEY_NOT_FOUND
from .models import Account, ApiKey

KEY_PREFIX = "mkp_"
_ALPHABET = string.digits + string.ascii_letters
_SECRET_LENGTH = 32  # base62: about 190 bits
_CHECKSUM_LENGTH = 6  # base62 of a CRC32
KEY_LENGTH = len(KEY_PREFIX) + _SECRET_LENGTH + _CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8
ADMIN_ACCOUNT_ID = "acct_admin"
ADMIN_KEY_ID = "key_admin"


# -- keys ----------------------------------------------------------------
def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(secret: str) -> str:
    return _base62(zlib.crc32(secret.encode()), _CHECKSUM_LENGTH)


def generate_api_key() -> str:
    """A new key: `mkp_` + 32 random base62 characters + a 6-character checksum."""
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))
    return KEY_PREFIX + secret + _checksum(secret)


def is_well_formed_key(key: str) -> bool:
    """True when the key has our shape and its checksum matches: typos are caught without a lookup."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return False
    body = key[len(KEY_PREFIX):]
    secret, checksum = body[:_SECRET_LENGTH], body[_SECRET_LENGTH:]
    if any(char not in _ALPHABET for char in body):
        return False
    return hmac.compare_digest(_checksum(secret), checksum)


def hash_key(key: str) -> str:
    """Keys carry ~190 random bits, so one SHA-256 is enough (no slow hash needed, unlike passwords)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


# -- accounts ------------------------------------------------------------
def _check_tier(tier: str, rate_limit_per_hour: int | None) -> None:
    if tier == "enterprise" and not rate_limit_per_hour:
        raise validation_error("An enterprise account needs rateLimitPerHour",
                               {"fields": {"rateLimitPerHour": ["Required for the enterprise tier."]}})


def _email_taken(session: Session, email: str, except_id: str | None = None) -> bool:
    query = select(Account.id).where(Account.email == email)
    if except_id:
        query = query.where(Account.id != except_id)
    return session.scalar(query) is not None


def create_account(session: Session, name: str, email: str, role: str = "user", tier: str = "authenticated",
                   rate_limit_per_hour: int | None = None, external_subject: str | None = None) -> Account:
    email = email.strip().lower()
    _check_tier(tier, rate_limit_per_hour)
    if _email_taken(session, email):
        raise conflict(f"An account with email '{email}' already exists", email=email)
    if external_subject and session.scalar(select(Account.id).where(Account.external_subject == external_subject)):
        raise conflict("An account is already linked to this external subject")
    account = Account(id=new_id("acct"), name=name.strip(), email=email, role=role, tier=tier,
                      rate_limit_per_hour=rate_limit_per_hour, external_subject=external_subject or None)
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict(f"An account with email '{email}' already exists", email=email) from exc
    return account


def list_accounts(session: Session, page: int, limit: int, role: str | None = None, tier: str | None = None,
                  search: str | None = None) -> tuple[list[Account], int]:
    query = select(Account)
    if role:
        query = query.where(Account.role == role)
    if tier:
        query = query.where(Account.tier == tier)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Account.name).like(pattern), Account.email.like(pattern)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Account.created_at, Account.id).offset((page - 1) * limit).limit(limit))
    return list(rows), total


def get_account(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise not_found(ACCOUNT_NOT_FOUND, f"Account '{account_id}' not found", accountId=account_id)
    return account


def update_account(session: Session, account_id: str, changes: dict) -> Account:
    account = get_account(session, account_id)
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if _email_taken(session, changes["email"], except_id=account_id):
            raise conflict(f"An account with email '{changes['email']}' already exists", email=changes["email"])
    for field, value in changes.items():
        setattr(account, field, value)
    _check_tier(account.tier, account.rate_limit_per_hour)
    account.updated_at = utcnow()
    session.flush()
    return account


def find_account_for_token(session: Session, subject: str | None, email: str | None) -> Account | None:
    """The account an external identity provider's token names: by subject first, then by email."""
    if subject:
        account = session.scalar(select(Account).where(Account.external_subject == subject))
        if account is not None:
            return account
    if email:
        return session.scalar(select(Account).where(Account.email == email.strip().lower()))
    return None


# -- API keys ------------------------------------------------------------
def create_api_key(session: Session, account_id: str, name: str = "",
                   expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Returns the stored key and its plaintext, which is never stored and shown only this once."""
    get_account(session, account_id)
    if expires_at is not None and expires_at <= utcnow():
        raise validation_error("expiresAt must be in the future", {"fields": {"expiresAt": ["Must be in the future."]}})
    plaintext = generate_api_key()
    key = ApiKey(id=new_id("key"), account_id=account_id, name=name or "", prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
                 key_hash=hash_key(plaintext), expires_at=expires_at)
    session.add(key)
    session.flush()
    return key, plaintext


def list_api_keys(session: Session, account_id: str) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.account_id == account_id)
                                .order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, key_id: str, actor_id: str, actor_is_admin: bool) -> ApiKey:
    """Revoke a key of the actor's own account (or any key, for an admin). Revoking twice is harmless."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise not_found(API_KEY_NOT_FOUND, f"API key '{key_id}' not found", keyId=key_id)
    if not actor_is_admin and key.account_id != actor_id:
        raise forbidden("Only the key's owner or an administrator may revoke it")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def find_key(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).options(joinedload(ApiKey.account)).where(ApiKey.key_hash == key_hash))


def touch_key(session: Session, key_id: str, now: datetime, interval_seconds: float) -> bool:
    """Record a use, at most once per interval: replicas racing here write once between them."""
    result = session.execute(
        update(ApiKey).where(ApiKey.id == key_id)
        .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - timedelta(seconds=interval_seconds)))
        .values(last_used_at=now))
    return result.rowcount == 1


def ensure_admin_account(session: Session, plaintext: str, email: str) -> Account:
    """Make MARKETPLACE_ADMIN_API_KEY an admin's key. Same ids every time: safe across restarts and replicas."""
    account = session.get(Account, ADMIN_ACCOUNT_ID)
    if account is None:
        existing = session.scalar(select(Account).where(Account.email == email.lower()))
        if existing is not None and existing.id != ADMIN_ACCOUNT_ID:
            email = f"admin+{ADMIN_ACCOUNT_ID}@marketplace.local"
        account = Account(id=ADMIN_ACCOUNT_ID, name="Marketplace administrator", email=email.lower(), role="admin",
                          tier="authenticated")
        session.add(account)
    else:
        account.role = "admin"
    key_hash = hash_key(plaintext)
    key = session.get(ApiKey, ADMIN_KEY_ID)
    if key is None:
        session.add(ApiKey(id=ADMIN_KEY_ID, account_id=ADMIN_ACCOUNT_ID, name="MARKETPLACE_ADMIN_API_KEY",
                           prefix=plaintext[:min(DISPLAY_PREFIX_LENGTH, max(len(plaintext) // 3, 1))],
                           key_hash=key_hash))
    elif key.key_hash != key_hash or key.revoked_at is not None:
        # The configured key changed: the old one stops working.
        key.key_hash = key_hash
        key.prefix = plaintext[:min(DISPLAY_PREFIX_LENGTH, max(len(plaintext) // 3, 1))]
        key.revoked_at = None
        key.expires_at = None
    session.flush()
    return account


def bootstrap_admin(database, plaintext: str, email: str, attempts: int = 3) -> None:
    """Run ensure_admin_account in its own transaction, retrying when another replica won the race."""
    for attempt in range(attempts):
        try:
            with database.session() as session, session.begin():
                ensure_admin_account(session, plaintext, email)
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
        except ApiError:
            raise
