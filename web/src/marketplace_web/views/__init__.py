"""One blueprint per area of the portal; each renders templates/<area>/."""

from .account import bp as account
from .docs import bp as docs
from .installations import bp as installations
from .plugins import bp as plugins

BLUEPRINTS = [plugins, installations, account, docs]
