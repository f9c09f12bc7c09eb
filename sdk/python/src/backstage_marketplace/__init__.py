"""Python SDK for the Backstage Plugin Marketplace API.

>>> from backstage_marketplace import MarketplaceClient
>>> client = MarketplaceClient(api_key="YOUR_API_KEY", base_url="https://your-portal.com")
>>> plugins = client.plugins.list(category="monitoring", verified=True)
"""

from ._util import RateLimit
from ._version import __version__
from .client import API_PREFIX, MarketplaceClient
from .errors import (
    Conflict,
    Forbidden,
    InstallationFailed,
    InstallationTimeout,
    MarketplaceConnectionError,
    MarketplaceError,
    NotFound,
    PayloadTooLarge,
    PluginNotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
    WebhookVerificationError,
)
from .pagination import LogPage, Page
from .resources.installations import FAILED_STATUSES, FINAL_STATUSES
from .resources.plugins import Download
from .signatures import payload_signature, verify_payload_signature, verify_webhook

__all__ = [
    "API_PREFIX",
    "FAILED_STATUSES",
    "FINAL_STATUSES",
    "Conflict",
    "Download",
    "Forbidden",
    "InstallationFailed",
    "InstallationTimeout",
    "LogPage",
    "MarketplaceClient",
    "MarketplaceConnectionError",
    "MarketplaceError",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PluginNotFound",
    "RateLimit",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationError",
    "WebhookVerificationError",
    "__version__",
    "payload_signature",
    "verify_payload_signature",
    "verify_webhook",
]
