"""Slack and webhook entry points, one package per feature; each handler parses, calls a service, replies."""
