"""Webhooks service: webhook subscriptions and their signed, retried deliveries."""
