"""Deployers put a downloaded package into a portal: the interface, the filesystem deployer (with its
journal), and a fake. Configuration (DEPLOYER) picks one in the worker's builder."""

from .fake import FakeDeployer
from .filesystem import MANIFEST, YAML_NAME, FilesystemDeployer
from .interface import STRATEGIES, Deployer, DeployError, DeploySpec, Health, Target, folder_name

__all__ = ["MANIFEST", "STRATEGIES", "YAML_NAME", "Deployer", "DeployError", "DeploySpec", "FakeDeployer",
           "FilesystemDeployer", "Health", "Target", "folder_name"]
