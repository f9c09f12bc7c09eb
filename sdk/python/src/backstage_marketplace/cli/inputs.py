"""JSON given on the command line: inline, or ``@path`` to read a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .exits import UsageError


def read_json_argument(value: str) -> Any:
    """JSON given inline, or ``@path`` to read it from a file (``@-`` for standard input)."""
    try:
        if value.startswith("@"):
            source = sys.stdin.read() if value == "@-" else Path(value[1:]).expanduser().read_text()
            return json.loads(source)
        return json.loads(value)
    except OSError as error:
        raise UsageError(f"cannot read {value[1:]}: {error}") from error
    except ValueError as error:
        raise UsageError(f"not valid JSON ({value[:60]}): {error}") from error


def read_json_file(path: str) -> Any:
    return read_json_argument(path if path.startswith("@") else "@" + path)
