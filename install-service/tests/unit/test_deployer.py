"""The filesystem deployer: strategies, atomic dynamic-plugins.yaml, rollback to exactly the previous files."""

import io
import json
import tarfile

import install_testkit as factories
import pytest

from install_service.archive import ArchiveError, inspect, unpack
from install_service.deployer import DeployError, DeploySpec, FilesystemDeployer, Target

TARGET = Target("production", "team-a")


def snapshot(root):
    """Every file and folder under the namespace, with contents: what 'exactly as before' compares."""
    base = root / TARGET.environment
    if not base.exists():
        return {}
    return {str(path.relative_to(root)): (path.read_bytes() if path.is_file() else None)
            for path in sorted(base.rglob("*"))}


def spec_for(tmp_path, version, key, config=None, files=None, name="my-plugin"):
    body = factories.make_tgz(files or factories.package_files(name, version))
    package = tmp_path / f"{name}-{version}-{key}.tgz"
    package.write_bytes(body)
    return DeploySpec(name=name, key=key, package_file=package, integrity=f"sha512-{version}",
                      configuration=config or {"v": version})


def full_deploy(deployer, spec, strategy):
    deployer.deploy(TARGET, spec, strategy)
    assert deployer.verify(TARGET, spec, strategy).status == "healthy"
    deployer.activate(TARGET, spec, strategy)
    deployer.finalize(TARGET, spec.name, spec.key)


def live_entry(deployer):
    document = json.loads(deployer.yaml_path(TARGET).read_text())
    return document["plugins"]


@pytest.fixture
def deployer(tmp_path):
    return FilesystemDeployer(tmp_path / "installs")


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "recreate"])
def test_first_deploy_writes_the_entry_and_the_files(deployer, tmp_path, strategy):
    spec = spec_for(tmp_path, "1.0.0", "i:1")
    full_deploy(deployer, spec, strategy)
    folder = "my-plugin-blue" if strategy == "blue-green" else "my-plugin"
    assert live_entry(deployer) == [{"package": f"./plugins/{folder}", "integrity": "sha512-1.0.0",
                                     "disabled": False, "pluginConfig": {"v": "1.0.0"}}]
    assert (deployer.namespace_dir(TARGET) / "plugins" / folder / "dist/index.js").read_text().endswith("@1.0.0';\n")
    assert deployer.check(TARGET, spec).status == "healthy"
    assert deployer.pending(TARGET, "my-plugin") is None
    assert not list((deployer.root / ".state" / "backup").glob("*"))


def test_blue_green_switches_colour_and_keeps_the_old_one(deployer, tmp_path):
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:1"), "blue-green")
    new = spec_for(tmp_path, "2.0.0", "i:2")
    deployer.deploy(TARGET, new, "blue-green")
    # Deployed beside the live copy: the portal still runs blue until the switch.
    assert live_entry(deployer)[0]["package"] == "./plugins/my-plugin-blue"
    assert deployer.verify(TARGET, new, "blue-green").status == "healthy"
    deployer.activate(TARGET, new, "blue-green")
    deployer.finalize(TARGET, "my-plugin", "i:2")
    assert live_entry(deployer)[0]["package"] == "./plugins/my-plugin-green"
    plugins = deployer.namespace_dir(TARGET) / "plugins"
    assert "1.0.0" in (plugins / "my-plugin-blue/package.json").read_text()
    assert "2.0.0" in (plugins / "my-plugin-green/package.json").read_text()
    assert deployer.check(TARGET, new).status == "healthy"


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "recreate"])
@pytest.mark.parametrize("fail_after", ["deploy", "activate"])
def test_rollback_restores_exactly_the_previous_files(deployer, tmp_path, strategy, fail_after):
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:1", name="other"), "rolling")
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:2"), "blue-green")
    full_deploy(deployer, spec_for(tmp_path, "1.1.0", "i:3"), "blue-green")
    before = snapshot(deployer.root)
    new = spec_for(tmp_path, "2.0.0", "i:4", config={"changed": True})
    deployer.deploy(TARGET, new, strategy)
    if fail_after == "activate":
        deployer.activate(TARGET, new, strategy)
    assert snapshot(deployer.root) != before
    assert deployer.rollback(TARGET, "my-plugin") is True
    assert snapshot(deployer.root) == before
    assert deployer.pending(TARGET, "my-plugin") is None


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "recreate"])
def test_a_failing_unpack_leaves_nothing_behind(deployer, tmp_path, strategy):
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:1"), "rolling")
    before = snapshot(deployer.root)
    bad = spec_for(tmp_path, "2.0.0", "i:2")
    bad.package_file.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DeployError):
        deployer.deploy(TARGET, bad, strategy)
    deployer.rollback(TARGET, "my-plugin")
    assert snapshot(deployer.root) == before


def test_rollback_of_a_first_install_removes_the_folders_it_created(deployer, tmp_path):
    spec = spec_for(tmp_path, "1.0.0", "i:1")
    deployer.deploy(TARGET, spec, "rolling")
    deployer.activate(TARGET, spec, "rolling")
    deployer.rollback(TARGET, "my-plugin")
    assert snapshot(deployer.root) == {}


def test_rollback_keeps_other_plugins_changed_meanwhile(deployer, tmp_path):
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:1"), "rolling")
    deployer.deploy(TARGET, spec_for(tmp_path, "2.0.0", "i:2"), "rolling")
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "o:1", name="other"), "rolling")
    deployer.rollback(TARGET, "my-plugin")
    entries = {entry["package"]: entry["pluginConfig"] for entry in live_entry(deployer)}
    assert entries == {"./plugins/my-plugin": {"v": "1.0.0"}, "./plugins/other": {"v": "1.0.0"}}


def test_remove_and_its_rollback(deployer, tmp_path):
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:1", name="other"), "rolling")
    full_deploy(deployer, spec_for(tmp_path, "1.0.0", "i:2"), "blue-green")
    before = snapshot(deployer.root)
    removal = DeploySpec(name="my-plugin", key="i:3")
    deployer.remove(TARGET, removal)
    assert [entry["package"] for entry in live_entry(deployer)] == ["./plugins/other"]
    deployer.rollback(TARGET, "my-plugin")
    assert snapshot(deployer.root) == before
    deployer.remove(TARGET, removal)
    deployer.finalize(TARGET, "my-plugin", "i:3")
    assert not (deployer.namespace_dir(TARGET) / "plugins" / "my-plugin-blue").exists()


def test_check_notices_modified_files_and_configuration(deployer, tmp_path):
    spec = spec_for(tmp_path, "1.0.0", "i:1")
    full_deploy(deployer, spec, "rolling")
    (deployer.namespace_dir(TARGET) / "plugins/my-plugin/dist/index.js").write_text("tampered")
    health = deployer.check(TARGET, spec)
    assert health.status == "unhealthy" and "my-plugin/dist/index.js was modified" in health.problems
    spec.configuration = {"other": 1}
    assert any("pluginConfig" in problem for problem in deployer.check(TARGET, spec).problems)


def _tar_with(member: tarfile.TarInfo, content: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(member, io.BytesIO(content) if content else None)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../evil.js", "package/../../evil.js", "/etc/evil"])
def test_path_traversal_is_refused(tmp_path, name):
    info = tarfile.TarInfo(name)
    info.size = 4
    path = tmp_path / "bad.tgz"
    path.write_bytes(_tar_with(info, b"evil"))
    with pytest.raises(ArchiveError) as caught:
        unpack(path, tmp_path / "out", 1 << 20)
    assert caught.value.code == "UNSAFE_PACKAGE"
    assert not (tmp_path / "evil.js").exists()


def test_links_are_refused(tmp_path):
    info = tarfile.TarInfo("package/link")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    path = tmp_path / "link.tgz"
    path.write_bytes(_tar_with(info))
    with pytest.raises(ArchiveError):
        inspect(path, 1 << 20)


def test_zip_and_jar_unpack_and_zip_traversal_is_refused(tmp_path):
    good = tmp_path / "good.jar"
    good.write_bytes(factories.make_zip({"META-INF/MANIFEST.MF": b"x", "plugin/index.js": b"y"}))
    assert unpack(good, tmp_path / "out", 1 << 20) == ["META-INF/MANIFEST.MF", "plugin/index.js"]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(factories.make_zip({"../../evil": b"x"}))
    with pytest.raises(ArchiveError):
        unpack(bad, tmp_path / "out2", 1 << 20)


def test_oversized_packages_are_refused(tmp_path):
    path = tmp_path / "big.tgz"
    path.write_bytes(factories.make_tgz({"big.bin": b"0" * 5000}))
    with pytest.raises(ArchiveError) as caught:
        inspect(path, 1000)
    assert caught.value.code == "PACKAGE_TOO_LARGE"
