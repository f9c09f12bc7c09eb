"""Plumbing shared by every Plugin Marketplace service. Never imports a service."""
