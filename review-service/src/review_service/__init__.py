"""Reviews service: ratings and reviews of plugins."""
