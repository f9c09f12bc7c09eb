"""One class per group of routes; the client exposes an instance of each (``client.plugins`` …)."""
