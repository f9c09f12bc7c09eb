"""The ``marketplace`` command: browse, install, follow installations, publish, manage webhooks.

Settings come from the command line (``--url``, ``--api-key``), else ``MARKETPLACE_URL`` /
``MARKETPLACE_API_KEY``, else the file written by ``marketplace configure``
(``$XDG_CONFIG_HOME/marketplace/config.json``, by default ``~/.config/marketplace/config.json``).

``parser.py`` declares every command and flag; ``commands/`` holds what each command does, one module
per area; ``settings.py``, ``inputs.py``, ``output.py`` and ``progress.py`` are what the commands share;
``exits.py`` names the exit statuses.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import MarketplaceConnectionError, MarketplaceError
from .exits import (
    EXIT_API_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    UsageError,
)
from .output import show_api_error
from .parser import build_parser, parse_args
from .progress import ProgressReporter

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "ProgressReporter",
    "UsageError",
    "build_parser",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``marketplace`` console script; returns the exit code."""
    args = parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except UsageError as error:
        print(f"marketplace: {error}", file=sys.stderr)
        return EXIT_USAGE
    except MarketplaceConnectionError as error:
        print(f"marketplace: {error.message}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except MarketplaceError as error:
        show_api_error(args, error)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
