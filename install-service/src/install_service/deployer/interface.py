"""The deployer interface: what an installation job asks of whatever puts packages into a portal."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import JobFailed

STRATEGIES = ("rolling", "blue-green", "recreate")


class DeployError(JobFailed):
    """The deployer could not do what was asked; `code` says why."""


@dataclass(frozen=True)
class Target:
    environment: str
    namespace: str


@dataclass
class DeploySpec:
    """What to deploy: `name` is the plugin's folder name, `key` the operation (for the journal)."""

    name: str
    key: str
    package_file: Path | None = None
    integrity: str = ""
    configuration: dict = field(default_factory=dict)
    disabled: bool = False
    max_unpacked_bytes: int = 500 * 1024 * 1024


@dataclass
class Health:
    status: str  # healthy | unhealthy
    problems: list[str]


class Deployer(Protocol):
    def deploy(self, target: Target, spec: DeploySpec, strategy: str) -> None:
        """Put the new version in place (blue-green: beside the live one, not yet switched)."""

    def verify(self, target: Target, spec: DeploySpec, strategy: str) -> Health:
        """Check the newly deployed copy before it is activated."""

    def activate(self, target: Target, spec: DeploySpec, strategy: str) -> None:
        """Make the new version the live one (blue-green: the atomic switch)."""

    def finalize(self, target: Target, name: str, key: str) -> None:
        """The operation is committed: forget how to undo it (drop backups and the journal)."""

    def rollback(self, target: Target, name: str) -> bool:
        """Undo an unfinished operation exactly; True when there was one."""

    def pending(self, target: Target, name: str) -> str | None:
        """The key of an unfinished operation on this plugin, if any (e.g. left by a crash)."""

    def remove(self, target: Target, spec: DeploySpec) -> None:
        """Uninstall: take the plugin out of the configuration and its files away (undoable until finalize)."""

    def check(self, target: Target, spec: DeploySpec) -> Health:
        """Health of a live installation: files intact, integrity and configuration as deployed."""


def folder_name(plugin_name: str, plugin_id: str) -> str:
    """A plugin name such as `@scope/plugin-x` as a folder name (`scope-plugin-x`)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", (plugin_name or "").lstrip("@")).strip("-.")
    return name or re.sub(r"[^A-Za-z0-9._-]+", "-", plugin_id)
