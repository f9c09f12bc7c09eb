"""The filesystem deployer's journal: every change is recorded here before it is made, so that a failure, a
cancel or a crash at any point can be undone to exactly the files there were before.

One JSON document per plugin and namespace under INSTALL_ROOT/.state/journal/; backups of what an operation
replaced under .state/backup/, its unpacked package under .state/staging/ until it is renamed into place.
"""

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from ..errors import DEPLOYMENT_IN_PROGRESS
from .files import atomic_write
from .interface import DeployError, Target


class Journal:
    def __init__(self, root: Path):
        self.root = root
        self.state = root / ".state"

    def path(self, target: Target, name: str) -> Path:
        return self.state / "journal" / target.environment / target.namespace / f"{name}.json"

    def save(self, target: Target, journal: dict) -> None:
        path = self.path(target, journal["name"])
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(journal))

    def load(self, target: Target, name: str) -> dict | None:
        try:
            return json.loads(self.path(target, name).read_text())
        except FileNotFoundError:
            return None

    def forget(self, target: Target, name: str) -> None:
        self.path(target, name).unlink(missing_ok=True)

    def resume(self, target: Target, name: str, key: str) -> dict | None:
        """The journal of operation `key` if it was started; DEPLOYMENT_IN_PROGRESS if another one is unfinished."""
        existing = self.load(target, name)
        if existing is not None and existing["key"] != key:
            raise DeployError(DEPLOYMENT_IN_PROGRESS, f"Another operation ({existing['key']}) on {name} is unfinished")
        return existing

    def start(self, target: Target, name: str, key: str, strategy: str, yaml_before: str | None,
              entry_before: dict | None, entry_index: int | None) -> dict:
        journal = {
            "key": key, "name": name, "strategy": strategy, "phase": "deploying",
            "yaml_before": yaml_before, "entry_before": entry_before,
            "entry_index": entry_index, "yaml_hashes": [], "created_dirs": [], "moves": [], "new_paths": [],
        }
        self.save(target, journal)
        return journal

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    # -- changes, each recorded before it is made ------------------------------
    def record_yaml(self, target: Target, journal: dict, text: str) -> None:
        """dynamic-plugins.yaml is about to be `text` (a rollback then knows the file is still ours)."""
        journal["yaml_hashes"].append(hashlib.sha256(text.encode()).hexdigest())
        self.save(target, journal)

    def ensure_dir(self, target: Target, journal: dict, path: Path) -> None:
        """mkdir -p, remembering each folder created so that a rollback removes it again."""
        missing = []
        probe = path
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        if not missing:
            return
        for folder in reversed(missing):
            journal["created_dirs"].append(self.rel(folder))
        self.save(target, journal)
        for folder in reversed(missing):
            folder.mkdir(exist_ok=True)

    def move_away(self, target: Target, journal: dict, path: Path) -> None:
        """Rename `path` into the backup area (restored by a rollback, deleted by finalize)."""
        if not path.exists():
            return
        backup = self.state / "backup" / uuid.uuid4().hex / path.name
        backup.parent.mkdir(parents=True)
        journal["moves"].append([self.rel(path), self.rel(backup)])
        self.save(target, journal)
        os.rename(path, backup)

    def new_staging(self, target: Target, journal: dict, destination: Path) -> Path:
        """A fresh staging folder for a package that will be renamed to `destination`."""
        staging = self.state / "staging" / uuid.uuid4().hex
        journal["new_paths"].extend([self.rel(staging), self.rel(destination)])
        self.save(target, journal)
        return staging

    # -- endings -----------------------------------------------------------------
    def drop_backups(self, journal: dict) -> None:
        """The operation is committed: delete what it set aside and what is left of its staging."""
        for _source, backup in journal["moves"]:
            shutil.rmtree(self.root / backup, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.root / backup).parent.rmdir()
        for path in journal["new_paths"]:
            if path.startswith(".state/"):
                shutil.rmtree(self.root / path, ignore_errors=True)

    def undo_files(self, journal: dict) -> None:
        """Remove what the operation added, move back what it set aside, remove the folders it created."""
        for path in reversed(journal["new_paths"]):
            shutil.rmtree(self.root / path, ignore_errors=True)
        for source, backup in reversed(journal["moves"]):
            if (self.root / backup).exists() and not (self.root / source).exists():
                os.rename(self.root / backup, self.root / source)
            with contextlib.suppress(OSError):
                (self.root / backup).parent.rmdir()
        for folder in reversed(journal["created_dirs"]):
            with contextlib.suppress(OSError):
                (self.root / folder).rmdir()
