"""One blueprint per area of the portal; each renders templates/<area>/."""

from .account import bp as account
from .admin import bp as admin
from .docs import bp as docs
from .installations import bp as installations
from .plugins import bp as plugins
from .publisher import bp as publisher
from .reviews import bp as reviews
from .webhooks import bp as webhooks

BLUEPRINTS = [plugins, installations, account, docs, reviews, publisher, webhooks, admin]
