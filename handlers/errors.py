"""Errors a user can act on; the Slack error handler turns each into a plain ephemeral sentence.

NotFound is raised by repositories too (IssueRepository.require), so it is defined in storage/errors.py,
below every feature, and counts here as one of them (handlers.slack.listeners.describe_error shows it).
"""

from __future__ import annotations

from storage.errors import NotFound

__all__ = ["USER_ERRORS", "Conflict", "InvalidInput", "NotFound", "OpsbotError", "PermissionDenied"]


class OpsbotError(Exception):
    """Base for errors whose message is safe and useful to show to the person who acted."""


class PermissionDenied(OpsbotError):
    pass


class Conflict(OpsbotError):
    """Somebody else got there first (already acknowledged, already resolved, ...)."""


class InvalidInput(OpsbotError):
    pass


USER_ERRORS = (OpsbotError, NotFound)  # what describe_error shows as it is
