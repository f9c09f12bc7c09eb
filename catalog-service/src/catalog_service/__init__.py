"""Catalog service: the plugins, their versions and artifacts, discovery and statistics."""
