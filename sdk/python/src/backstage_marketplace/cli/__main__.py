"""``python -m backstage_marketplace.cli``: the same as the ``marketplace`` command."""

import sys

from . import main

sys.exit(main())
