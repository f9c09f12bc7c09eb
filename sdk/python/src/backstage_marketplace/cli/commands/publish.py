"""``marketplace publish``: create a plugin, upload its images and publish a version, from files."""

from __future__ import annotations

import argparse
from typing import Any

from ..exits import EXIT_OK, UsageError
from ..inputs import read_json_file
from ..output import emit_json
from ..settings import make_client


def cmd_publish(args: argparse.Namespace) -> int:
    client = make_client(args)
    if not (args.plugin_file or args.package or args.icon or args.screenshot):
        raise UsageError("give --plugin-file (a new plugin), and/or --package with --metadata or --version "
                         "(a new version), and/or --icon/--screenshot")
    result: dict[str, Any] = {}
    plugin_id = args.plugin
    if args.plugin_file:
        metadata = read_json_file(args.plugin_file)
        if not isinstance(metadata, dict):
            raise UsageError("--plugin-file must hold a JSON object")
        plugin = client.publisher.create_plugin(metadata)
        plugin_id = plugin.get("id")
        result["plugin"] = plugin
        if not args.json:
            print(f"created plugin {plugin_id} ({plugin.get('name')})")
    if (args.package or args.icon or args.screenshot) and not plugin_id:
        raise UsageError("name the plugin with --plugin (or create it with --plugin-file)")
    if args.icon or args.screenshot:
        result["images"] = client.publisher.upload_images(plugin_id, icon=args.icon, screenshots=args.screenshot or [])
        if not args.json:
            print(f"uploaded images for {plugin_id}")
    if args.package:
        metadata = read_json_file(args.metadata) if args.metadata else {}
        if not isinstance(metadata, dict):
            raise UsageError("--metadata must hold a JSON object")
        if args.version:
            metadata["version"] = args.version
        if args.changelog:
            metadata["changelog"] = args.changelog
        if not metadata.get("version"):
            raise UsageError("the version is missing: give --version or put it in --metadata")
        version = client.publisher.publish_version(plugin_id, args.package, metadata)
        result["version"] = version
        if not args.json:
            integrity = version.get("integrity") or (version.get("package") or {}).get("integrity") or ""
            print(f"published {plugin_id} {version.get('version', metadata['version'])} {integrity}".rstrip())
    elif args.metadata or args.version:
        raise UsageError("--metadata/--version need --package")
    if args.json:
        emit_json(result)
    return EXIT_OK
