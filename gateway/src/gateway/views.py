"""The gateway's own routes: accounts and API keys. Thin views over services.py."""

import functools

from flask import current_app, g

from marketplace_shared.api import API_PREFIX, Blueprint
from marketplace_shared.db import request_session
from marketplace_shared.errors import forbidden, unauthorized
from marketplace_shared.pagination import page_body

from . import representations, services
from .auth import Principal
from .ratelimit import iso_utc
from .schemas import (
    AccountCreateSchema,
    AccountListArgsSchema,
    AccountListResponseSchema,
    AccountResponseSchema,
    AccountUpdateSchema,
    ApiKeyCreatedResponseSchema,
    ApiKeyCreateSchema,
    ApiKeyListResponseSchema,
    MeResponseSchema,
)

blp = Blueprint("accounts", __name__, url_prefix=API_PREFIX,
                description="Accounts and API keys (served by the gateway itself)")


def signed_in() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise unauthorized()
    return principal


def admin() -> Principal:
    principal = signed_in()
    if not principal.is_admin:
        raise forbidden("This action requires the 'admin' role")
    return principal


def _checked_first(check):
    """A decorator that runs check() before flask-smorest reads the body (put it above @blp.arguments)."""
    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            check()
            return view(*args, **kwargs)
        return checked
    return decorator


# 401 (and 403) whatever the body: a caller learns the body's rules only once signed in.
requires_signed_in = _checked_first(signed_in)
requires_admin = _checked_first(admin)


def _authenticator():
    return current_app.extensions["gateway"].authenticator


@blp.route("/admin/accounts", methods=["GET"])
@requires_admin
@blp.arguments(AccountListArgsSchema(), location="query")
@blp.response(200, AccountListResponseSchema)
def list_accounts(args):
    """List accounts (admin)"""
    admin()
    page, limit = args.pop("page"), args.pop("limit")
    accounts, total = services.list_accounts(request_session(), page, limit, **args)
    return page_body([representations.account_view(account) for account in accounts], page, limit, total)


@blp.route("/admin/accounts", methods=["POST"])
@requires_admin
@blp.arguments(AccountCreateSchema())
@blp.response(201, AccountResponseSchema)
def create_account(fields):
    """Create an account (admin)"""
    admin()
    session = request_session()
    account = services.create_account(session, **fields)
    session.commit()
    return {"data": representations.account_view(account)}


@blp.route("/admin/accounts/<account_id>", methods=["GET"])
@blp.response(200, AccountResponseSchema)
def get_account(account_id):
    """Get an account (admin)"""
    admin()
    return {"data": representations.account_view(services.get_account(request_session(), account_id))}


@blp.route("/admin/accounts/<account_id>", methods=["PATCH"])
@requires_admin
@blp.arguments(AccountUpdateSchema())
@blp.response(200, AccountResponseSchema)
def update_account(changes, account_id):
    """Change an account's name, email, role, tier or rate limit (admin)"""
    admin()
    session = request_session()
    account = services.update_account(session, account_id, changes)
    session.commit()
    _authenticator().forget_account(account_id)
    return {"data": representations.account_view(account)}


@blp.route("/admin/accounts/<account_id>/api-keys", methods=["GET"])
@blp.response(200, ApiKeyListResponseSchema)
def list_account_keys(account_id):
    """List an account's API keys (admin)"""
    admin()
    session = request_session()
    services.get_account(session, account_id)
    return {"data": [representations.api_key_view(key) for key in services.list_api_keys(session, account_id)]}


@blp.route("/admin/accounts/<account_id>/api-keys", methods=["POST"])
@requires_admin
@blp.arguments(ApiKeyCreateSchema(), required=False)
@blp.response(201, ApiKeyCreatedResponseSchema)
def create_account_key(fields, account_id):
    """Create an API key for an account (admin); the key is shown only in this response"""
    admin()
    return _create_key(account_id, fields)


@blp.route("/me", methods=["GET"])
@blp.response(200, MeResponseSchema)
def me():
    """The signed-in account, with its current rate limit"""
    principal = signed_in()
    account = services.get_account(request_session(), principal.account_id)
    decision = g.get("rate_decision")
    rate_limit = None if decision is None else {
        "policy": decision.policy, "limit": decision.limit, "remaining": decision.remaining,
        "reset": iso_utc(decision.reset)}
    return {"data": representations.me_view(account, rate_limit)}


@blp.route("/me/api-keys", methods=["GET"])
@blp.response(200, ApiKeyListResponseSchema)
def list_my_keys():
    """List my API keys"""
    keys = services.list_api_keys(request_session(), signed_in().account_id)
    return {"data": [representations.api_key_view(key) for key in keys]}


@blp.route("/me/api-keys", methods=["POST"])
@requires_signed_in
@blp.arguments(ApiKeyCreateSchema(), required=False)
@blp.response(201, ApiKeyCreatedResponseSchema)
def create_my_key(fields):
    """Create an API key for myself; the key is shown only in this response"""
    return _create_key(signed_in().account_id, fields)


@blp.route("/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def revoke_key(key_id):
    """Revoke an API key (its owner or an admin); it stops working at once"""
    principal = signed_in()
    session = request_session()
    services.revoke_api_key(session, key_id, principal.account_id, principal.is_admin)
    session.commit()
    _authenticator().forget_key(key_id)


def _create_key(account_id: str, fields: dict) -> dict:
    session = request_session()
    key, plaintext = services.create_api_key(session, account_id, fields.get("name", ""), fields.get("expires_at"))
    session.commit()
    return {"data": representations.created_key_view(key, plaintext)}
