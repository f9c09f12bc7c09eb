"""Deployers put a downloaded package into a portal: the interface, the filesystem deployer, and a fake.

The filesystem deployer writes what Red Hat Developer Hub reads, under INSTALL_ROOT/<environment>/<namespace>/:

    dynamic-plugins.yaml       {"plugins": [{"package", "integrity", "disabled", "pluginConfig"}, ...]}
                               (JSON, which is valid YAML; always replaced atomically)
    plugins/<name>/            a plugin unpacked (rolling, recreate)
    plugins/<name>-blue|green/ the two slots of a blue-green plugin; the idle one is the previous version

Every change is journaled first under INSTALL_ROOT/.state/, so that a failure, a cancel or a crash at any
point can be rolled back to exactly the files there were before (`rollback`).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import archive
from .errors import CONFIG_UNREADABLE, DEPLOYMENT_IN_PROGRESS, NOT_DEPLOYED, UNKNOWN_STRATEGY

STRATEGIES = ("rolling", "blue-green", "recreate")
MANIFEST = ".install-manifest.json"
YAML_NAME = "dynamic-plugins.yaml"


class DeployError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


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


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _fsync_dir(path.parent)


def render_yaml(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


class FilesystemDeployer:
    """The default deployer: files on a local (or mounted) filesystem, journaled and atomic."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.state = self.root / ".state"

    # -- paths -------------------------------------------------------------
    def namespace_dir(self, target: Target) -> Path:
        return self.root / target.environment / target.namespace

    def yaml_path(self, target: Target) -> Path:
        return self.namespace_dir(target) / YAML_NAME

    def _journal_path(self, target: Target, name: str) -> Path:
        return self.state / "journal" / target.environment / target.namespace / f"{name}.json"

    @contextlib.contextmanager
    def _locked(self, target: Target):
        """One writer per namespace (threads and processes alike): dynamic-plugins.yaml is shared."""
        lock_dir = self.state / "locks" / target.environment
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{target.namespace}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- dynamic-plugins.yaml ------------------------------------------------
    def _read_yaml(self, target: Target) -> tuple[str | None, dict]:
        path = self.yaml_path(target)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, {"plugins": []}
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise DeployError(CONFIG_UNREADABLE, f"{YAML_NAME} is not in the format this deployer writes") from exc
        if not isinstance(document, dict):
            raise DeployError(CONFIG_UNREADABLE, f"{YAML_NAME} is not a mapping")
        if not isinstance(document.get("plugins"), list):
            document["plugins"] = []
        return text, document

    @staticmethod
    def _entry_index(document: dict, name: str) -> int | None:
        folders = {f"./plugins/{name}", f"./plugins/{name}-blue", f"./plugins/{name}-green"}
        for index, entry in enumerate(document["plugins"]):
            if isinstance(entry, dict) and entry.get("package") in folders:
                return index
        return None

    def _write_yaml(self, target: Target, journal: dict, document: dict) -> None:
        text = render_yaml(document)
        journal["yaml_hashes"].append(hashlib.sha256(text.encode()).hexdigest())
        self._save_journal(target, journal)
        self._ensure_dir(target, journal, self.namespace_dir(target))
        atomic_write(self.yaml_path(target), text)

    # -- the journal ---------------------------------------------------------
    def _save_journal(self, target: Target, journal: dict) -> None:
        path = self._journal_path(target, journal["name"])
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(journal))

    def _load_journal(self, target: Target, name: str) -> dict | None:
        try:
            return json.loads(self._journal_path(target, name).read_text())
        except FileNotFoundError:
            return None

    def _begin(self, target: Target, name: str, key: str, strategy: str) -> dict:
        existing = self._load_journal(target, name)
        if existing is not None:
            if existing["key"] == key:
                return existing
            raise DeployError(DEPLOYMENT_IN_PROGRESS,
                              f"Another operation ({existing['key']}) on {name} is unfinished")
        text, document = self._read_yaml(target)
        index = self._entry_index(document, name)
        journal = {
            "key": key, "name": name, "strategy": strategy, "phase": "deploying",
            "yaml_before": text, "entry_before": document["plugins"][index] if index is not None else None,
            "entry_index": index, "yaml_hashes": [], "created_dirs": [], "moves": [], "new_paths": [],
        }
        self._save_journal(target, journal)
        return journal

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def _ensure_dir(self, target: Target, journal: dict, path: Path) -> None:
        """mkdir -p, remembering each folder created so that a rollback removes it again."""
        missing = []
        probe = path
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        if not missing:
            return
        for folder in reversed(missing):
            journal["created_dirs"].append(self._rel(folder))
        self._save_journal(target, journal)
        for folder in reversed(missing):
            folder.mkdir(exist_ok=True)

    def _move_away(self, target: Target, journal: dict, path: Path) -> None:
        """Rename `path` into the backup area (restored by a rollback, deleted by finalize)."""
        if not path.exists():
            return
        backup = self.state / "backup" / uuid.uuid4().hex / path.name
        backup.parent.mkdir(parents=True)
        journal["moves"].append([self._rel(path), self._rel(backup)])
        self._save_journal(target, journal)
        os.rename(path, backup)

    def _place(self, target: Target, journal: dict, spec: DeploySpec, destination: Path) -> None:
        """Unpack the package in the staging area, write its manifest, and rename it to `destination`."""
        staging = self.state / "staging" / uuid.uuid4().hex
        journal["new_paths"].extend([self._rel(staging), self._rel(destination)])
        self._save_journal(target, journal)
        try:
            files = archive.unpack(spec.package_file, staging / "tree", spec.max_unpacked_bytes)
        except archive.ArchiveError as exc:
            raise DeployError(exc.code, exc.message) from exc
        manifest = {"integrity": spec.integrity,
                    "files": {name: _sha256_file(staging / "tree" / name) for name in files}}
        (staging / "tree" / MANIFEST).write_text(json.dumps(manifest, indent=1))
        self._ensure_dir(target, journal, destination.parent)
        os.rename(staging / "tree", destination)
        shutil.rmtree(staging, ignore_errors=True)

    def _entry(self, spec: DeploySpec, folder: str) -> dict:
        return {"package": f"./plugins/{folder}", "integrity": spec.integrity, "disabled": spec.disabled,
                "pluginConfig": spec.configuration}

    def _set_entry(self, target: Target, journal: dict, spec: DeploySpec, folder: str | None) -> None:
        """Replace (or add, or with folder None remove) the plugin's entry in dynamic-plugins.yaml."""
        _text, document = self._read_yaml(target)
        index = self._entry_index(document, spec.name)
        if folder is None:
            if index is not None:
                del document["plugins"][index]
        elif index is None:
            document["plugins"].append(self._entry(spec, folder))
        else:
            document["plugins"][index] = self._entry(spec, folder)
        self._write_yaml(target, journal, document)

    def _live_folder(self, target: Target, name: str) -> str | None:
        _text, document = self._read_yaml(target)
        index = self._entry_index(document, name)
        if index is None:
            return None
        return document["plugins"][index]["package"].removeprefix("./plugins/")

    def _deploy_folder(self, target: Target, journal: dict, name: str, strategy: str) -> str:
        """Where the new version goes: the idle colour for blue-green, the live folder otherwise."""
        if "folder" in journal:
            return journal["folder"]
        live = journal["entry_before"]["package"].removeprefix("./plugins/") if journal["entry_before"] else None
        if strategy == "blue-green":
            folder = f"{name}-green" if live == f"{name}-blue" else f"{name}-blue"
        else:
            folder = live or name
        journal["folder"] = folder
        return folder

    # -- the interface -----------------------------------------------------
    def deploy(self, target: Target, spec: DeploySpec, strategy: str) -> None:
        if strategy not in STRATEGIES:
            raise DeployError(UNKNOWN_STRATEGY, f"Unknown deployment strategy {strategy!r}")
        with self._locked(target):
            journal = self._begin(target, spec.name, spec.key, strategy)
            folder = self._deploy_folder(target, journal, spec.name, strategy)
            self._save_journal(target, journal)
            destination = self.namespace_dir(target) / "plugins" / folder
            if strategy == "recreate":
                # Take the old version out entirely first (the configuration, then the files).
                if journal["entry_before"] is not None:
                    self._set_entry(target, journal, spec, None)
                self._move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
                self._set_entry(target, journal, spec, folder)
            elif strategy == "rolling":
                # In place: the live folder is set aside as the backup, the new one takes its path.
                self._move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
                self._set_entry(target, journal, spec, folder)
            else:
                # Beside the live copy; the idle colour's old contents are kept until finalize.
                self._move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
            journal["phase"] = "deployed"
            self._save_journal(target, journal)

    def verify(self, target: Target, spec: DeploySpec, strategy: str) -> Health:
        journal = self._load_journal(target, spec.name)
        if journal is None or journal["key"] != spec.key:
            return Health("unhealthy", ["nothing was deployed for this operation"])
        folder = journal["folder"]
        problems = self._check_tree(self.namespace_dir(target) / "plugins" / folder, spec.integrity)
        if strategy != "blue-green":
            problems += self._check_entry(target, spec, folder)
        return Health("unhealthy" if problems else "healthy", problems)

    def activate(self, target: Target, spec: DeploySpec, strategy: str) -> None:
        with self._locked(target):
            journal = self._load_journal(target, spec.name)
            if journal is None or journal["key"] != spec.key:
                raise DeployError(NOT_DEPLOYED, "Nothing was deployed for this operation")
            if strategy == "blue-green":
                # The switch: one atomic rename of dynamic-plugins.yaml points the portal at the new colour.
                self._set_entry(target, journal, spec, journal["folder"])
            journal["phase"] = "activated"
            self._save_journal(target, journal)

    def finalize(self, target: Target, name: str, key: str) -> None:
        with self._locked(target):
            journal = self._load_journal(target, name)
            if journal is None or journal["key"] != key:
                return
            for _source, backup in journal["moves"]:
                shutil.rmtree(self.root / backup, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / backup).parent.rmdir()
            for path in journal["new_paths"]:
                if path.startswith(".state/"):
                    shutil.rmtree(self.root / path, ignore_errors=True)
            self._journal_path(target, name).unlink(missing_ok=True)

    def pending(self, target: Target, name: str) -> str | None:
        journal = self._load_journal(target, name)
        return journal["key"] if journal else None

    def rollback(self, target: Target, name: str) -> bool:
        with self._locked(target):
            journal = self._load_journal(target, name)
            if journal is None:
                return False
            self._restore_yaml(target, journal)
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
            self._journal_path(target, name).unlink(missing_ok=True)
            return True

    def _restore_yaml(self, target: Target, journal: dict) -> None:
        path = self.yaml_path(target)
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current is None and not journal["yaml_hashes"]:
            return
        current_hash = hashlib.sha256(current).hexdigest() if current is not None else None
        if current_hash is not None and current_hash not in journal["yaml_hashes"]:
            if journal["yaml_before"] is not None and current == journal["yaml_before"].encode():
                return
            # Someone else changed the file since: put back only this plugin's entry.
            _text, document = self._read_yaml(target)
            index = self._entry_index(document, journal["name"])
            if index is not None:
                del document["plugins"][index]
            if journal["entry_before"] is not None:
                position = min(journal["entry_index"], len(document["plugins"]))
                document["plugins"].insert(position, journal["entry_before"])
            atomic_write(path, render_yaml(document))
            return
        if journal["yaml_before"] is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, journal["yaml_before"])

    def remove(self, target: Target, spec: DeploySpec) -> None:
        with self._locked(target):
            journal = self._begin(target, spec.name, spec.key, "remove")
            journal["folder"] = None
            self._set_entry(target, journal, spec, None)
            for suffix in ("", "-blue", "-green"):
                self._move_away(target, journal, self.namespace_dir(target) / "plugins" / f"{spec.name}{suffix}")
            journal["phase"] = "activated"
            self._save_journal(target, journal)

    def check(self, target: Target, spec: DeploySpec) -> Health:
        try:
            folder = self._live_folder(target, spec.name)
        except DeployError as exc:
            return Health("unhealthy", [exc.message])
        if folder is None:
            return Health("unhealthy", [f"{YAML_NAME} has no entry for {spec.name}"])
        problems = self._check_entry(target, spec, folder)
        problems += self._check_tree(self.namespace_dir(target) / "plugins" / folder, spec.integrity)
        return Health("unhealthy" if problems else "healthy", problems)

    # -- checks ------------------------------------------------------------
    def _check_entry(self, target: Target, spec: DeploySpec, folder: str) -> list[str]:
        try:
            _text, document = self._read_yaml(target)
        except DeployError as exc:
            return [exc.message]
        index = self._entry_index(document, spec.name)
        if index is None:
            return [f"{YAML_NAME} has no entry for {spec.name}"]
        entry = document["plugins"][index]
        problems = []
        if entry.get("package") != f"./plugins/{folder}":
            problems.append(f"{YAML_NAME} points at {entry.get('package')} instead of ./plugins/{folder}")
        if entry.get("integrity") != spec.integrity:
            problems.append(f"{YAML_NAME} integrity of {spec.name} does not match the package")
        if entry.get("pluginConfig") != spec.configuration:
            problems.append(f"{YAML_NAME} pluginConfig of {spec.name} differs from the installation's")
        if bool(entry.get("disabled")) != spec.disabled:
            problems.append(f"{YAML_NAME} marks {spec.name} disabled={entry.get('disabled')}")
        return problems

    @staticmethod
    def _check_tree(folder: Path, integrity: str) -> list[str]:
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (FileNotFoundError, NotADirectoryError):
            return [f"{folder.name} is missing or has no manifest"]
        except ValueError:
            return [f"{folder.name}/{MANIFEST} is damaged"]
        problems = []
        if manifest.get("integrity") != integrity:
            problems.append(f"{folder.name} holds a package with another integrity")
        for name, digest in manifest.get("files", {}).items():
            path = folder / name
            if not path.is_file():
                problems.append(f"{folder.name}/{name} is missing")
            elif _sha256_file(path) != digest:
                problems.append(f"{folder.name}/{name} was modified")
            if len(problems) >= 20:
                break
        return problems


class FakeDeployer:
    """Remembers what would be deployed; `fail_on` makes a method raise (tests and demos)."""

    def __init__(self):
        self.live: dict[tuple[Target, str], dict] = {}
        self.pending_ops: dict[tuple[Target, str], tuple[str, dict | None]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_on: dict[str, DeployError] = {}
        self.unhealthy: set[str] = set()

    def _maybe_fail(self, method: str) -> None:
        self.calls.append((method, ""))
        if method in self.fail_on:
            raise self.fail_on[method]

    def deploy(self, target, spec, strategy):
        self._maybe_fail("deploy")
        before = self.live.get((target, spec.name))
        self.pending_ops.setdefault((target, spec.name), (spec.key, before))
        if strategy != "blue-green":
            self.live[(target, spec.name)] = {"integrity": spec.integrity, "config": spec.configuration,
                                              "disabled": spec.disabled}

    def verify(self, target, spec, strategy):
        self._maybe_fail("verify")
        bad = spec.name in self.unhealthy
        return Health("unhealthy" if bad else "healthy", ["fake problem"] if bad else [])

    def activate(self, target, spec, strategy):
        self._maybe_fail("activate")
        self.live[(target, spec.name)] = {"integrity": spec.integrity, "config": spec.configuration,
                                          "disabled": spec.disabled}

    def finalize(self, target, name, key):
        self.calls.append(("finalize", name))
        if self.pending_ops.get((target, name), ("",))[0] == key:
            del self.pending_ops[(target, name)]

    def rollback(self, target, name):
        self.calls.append(("rollback", name))
        pending = self.pending_ops.pop((target, name), None)
        if pending is None:
            return False
        if pending[1] is None:
            self.live.pop((target, name), None)
        else:
            self.live[(target, name)] = pending[1]
        return True

    def pending(self, target, name):
        pending = self.pending_ops.get((target, name))
        return pending[0] if pending else None

    def remove(self, target, spec):
        self._maybe_fail("remove")
        before = self.live.pop((target, spec.name), None)
        self.pending_ops.setdefault((target, spec.name), (spec.key, before))

    def check(self, target, spec):
        live = self.live.get((target, spec.name))
        if live is None or spec.name in self.unhealthy:
            return Health("unhealthy", ["not deployed"])
        return Health("healthy", [])
