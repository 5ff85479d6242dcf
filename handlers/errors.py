"""Errors a user can act on; the Slack error handler turns each into a plain ephemeral sentence."""

from __future__ import annotations


class OpsbotError(Exception):
    """Base for errors whose message is safe and useful to show to the person who acted."""


class NotFound(OpsbotError):
    pass


class PermissionDenied(OpsbotError):
    pass


class Conflict(OpsbotError):
    """Somebody else got there first (already acknowledged, already resolved, ...)."""


class InvalidInput(OpsbotError):
    pass
