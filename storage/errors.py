"""Storage failures callers act on, independent of the database driver underneath."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError


class StorageUnavailable(Exception):
    """The database cannot take this write now (down, locked, full); the caller should retry later.

    Webhooks answer it with 503 and Retry-After, so the sender keeps the alert and sends it again.
    """

    def __init__(self, reason: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class NotFound(LookupError):
    """A row the caller named is not there (an issue id typed in /issue, a message's stale button).

    The message names it in words fit to show a person: handlers/errors.py counts it among the errors
    users can act on, so a listener answers it like any other.
    """


def is_outage(error: BaseException) -> bool:
    """Whether the database failed as a whole (down, locked, full, unreachable), rather than over one
    write's data: an outage is waited out, a data failure is blamed on the write that caused it."""
    return isinstance(error, (OperationalError, InterfaceError, OSError, TimeoutError, StorageUnavailable))
