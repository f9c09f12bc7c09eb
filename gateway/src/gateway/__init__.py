"""API gateway: the only door to the Plugin Marketplace services."""
