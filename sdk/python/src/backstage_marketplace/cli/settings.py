"""Where the command finds the portal URL and API key: flags, then the environment, then the config file."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..client import DEFAULT_BASE_URL, MarketplaceClient
from .exits import UsageError


def config_path() -> Path:
    """Where ``marketplace configure`` writes the settings (``$MARKETPLACE_CONFIG`` overrides it)."""
    if os.environ.get("MARKETPLACE_CONFIG"):
        return Path(os.environ["MARKETPLACE_CONFIG"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "marketplace" / "config.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    if not isinstance(values, dict):
        raise UsageError(f"{path} does not hold a JSON object")
    return values


def save_config(values: dict[str, Any]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key is a secret
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)
    return path


def make_client(args: argparse.Namespace) -> MarketplaceClient:
    config = load_config()
    url = args.url or os.environ.get("MARKETPLACE_URL") or config.get("url") or DEFAULT_BASE_URL
    key = args.api_key or os.environ.get("MARKETPLACE_API_KEY") or config.get("apiKey") or None
    return MarketplaceClient(api_key=key, base_url=url, timeout=args.timeout, max_retries=args.retries)
