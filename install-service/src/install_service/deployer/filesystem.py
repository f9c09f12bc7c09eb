"""The default deployer: what Red Hat Developer Hub reads, under INSTALL_ROOT/<environment>/<namespace>/:

    dynamic-plugins.yaml       {"plugins": [{"package", "integrity", "disabled", "pluginConfig"}, ...]}
                               (JSON, which is valid YAML; always replaced atomically)
    plugins/<name>/            a plugin unpacked (rolling, recreate)
    plugins/<name>-blue|green/ the two slots of a blue-green plugin; the idle one is the previous version

Every change is recorded in the journal (journal.py) before it is made, so that `rollback` restores exactly
the files there were before.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from .. import archive
from ..errors import CONFIG_UNREADABLE, NOT_DEPLOYED, UNKNOWN_STRATEGY
from .files import atomic_write, render_yaml, sha256_file
from .interface import STRATEGIES, DeployError, DeploySpec, Health, Target
from .journal import Journal

MANIFEST = ".install-manifest.json"
YAML_NAME = "dynamic-plugins.yaml"


class FilesystemDeployer:
    """The default deployer: files on a local (or mounted) filesystem, journaled and atomic."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.state = self.root / ".state"
        self.journal = Journal(self.root)

    # -- paths -------------------------------------------------------------
    def namespace_dir(self, target: Target) -> Path:
        return self.root / target.environment / target.namespace

    def yaml_path(self, target: Target) -> Path:
        return self.namespace_dir(target) / YAML_NAME

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
        self.journal.record_yaml(target, journal, text)
        self.journal.ensure_dir(target, journal, self.namespace_dir(target))
        atomic_write(self.yaml_path(target), text)

    def _begin(self, target: Target, name: str, key: str, strategy: str) -> dict:
        existing = self.journal.resume(target, name, key)
        if existing is not None:
            return existing
        text, document = self._read_yaml(target)
        index = self._entry_index(document, name)
        return self.journal.start(target, name, key, strategy, text,
                                  document["plugins"][index] if index is not None else None, index)

    def _place(self, target: Target, journal: dict, spec: DeploySpec, destination: Path) -> None:
        """Unpack the package in the staging area, write its manifest, and rename it to `destination`."""
        staging = self.journal.new_staging(target, journal, destination)
        try:
            files = archive.unpack(spec.package_file, staging / "tree", spec.max_unpacked_bytes)
        except archive.ArchiveError as exc:
            raise DeployError(exc.code, exc.message) from exc
        manifest = {"integrity": spec.integrity,
                    "files": {name: sha256_file(staging / "tree" / name) for name in files}}
        (staging / "tree" / MANIFEST).write_text(json.dumps(manifest, indent=1))
        self.journal.ensure_dir(target, journal, destination.parent)
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
            self.journal.save(target, journal)
            destination = self.namespace_dir(target) / "plugins" / folder
            if strategy == "recreate":
                # Take the old version out entirely first (the configuration, then the files).
                if journal["entry_before"] is not None:
                    self._set_entry(target, journal, spec, None)
                self.journal.move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
                self._set_entry(target, journal, spec, folder)
            elif strategy == "rolling":
                # In place: the live folder is set aside as the backup, the new one takes its path.
                self.journal.move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
                self._set_entry(target, journal, spec, folder)
            else:
                # Beside the live copy; the idle colour's old contents are kept until finalize.
                self.journal.move_away(target, journal, destination)
                self._place(target, journal, spec, destination)
            journal["phase"] = "deployed"
            self.journal.save(target, journal)

    def verify(self, target: Target, spec: DeploySpec, strategy: str) -> Health:
        journal = self.journal.load(target, spec.name)
        if journal is None or journal["key"] != spec.key:
            return Health("unhealthy", ["nothing was deployed for this operation"])
        folder = journal["folder"]
        problems = self._check_tree(self.namespace_dir(target) / "plugins" / folder, spec.integrity)
        if strategy != "blue-green":
            problems += self._check_entry(target, spec, folder)
        return Health("unhealthy" if problems else "healthy", problems)

    def activate(self, target: Target, spec: DeploySpec, strategy: str) -> None:
        with self._locked(target):
            journal = self.journal.load(target, spec.name)
            if journal is None or journal["key"] != spec.key:
                raise DeployError(NOT_DEPLOYED, "Nothing was deployed for this operation")
            if strategy == "blue-green":
                # The switch: one atomic rename of dynamic-plugins.yaml points the portal at the new colour.
                self._set_entry(target, journal, spec, journal["folder"])
            journal["phase"] = "activated"
            self.journal.save(target, journal)

    def finalize(self, target: Target, name: str, key: str) -> None:
        with self._locked(target):
            journal = self.journal.load(target, name)
            if journal is None or journal["key"] != key:
                return
            self.journal.drop_backups(journal)
            self.journal.forget(target, name)

    def pending(self, target: Target, name: str) -> str | None:
        journal = self.journal.load(target, name)
        return journal["key"] if journal else None

    def rollback(self, target: Target, name: str) -> bool:
        with self._locked(target):
            journal = self.journal.load(target, name)
            if journal is None:
                return False
            self._restore_yaml(target, journal)
            self.journal.undo_files(journal)
            self.journal.forget(target, name)
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
                self.journal.move_away(target, journal, self.namespace_dir(target) / "plugins" / f"{spec.name}{suffix}")
            journal["phase"] = "activated"
            self.journal.save(target, journal)

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
            elif sha256_file(path) != digest:
                problems.append(f"{folder.name}/{name} was modified")
            if len(problems) >= 20:
                break
        return problems
