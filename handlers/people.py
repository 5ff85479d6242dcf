"""People by email: wherever the config names a person (roles, rotas, escalation levels), an email works too.

Emails are what a team has at hand when writing the config; Slack needs user ids. Each email is
looked up once with users.lookupByEmail (scope users:read.email) and cached, misses included, so a
typo costs one call and one warning, not one per escalation. The composition root resolves the
config's emails at start-up, after the token check, and the features hold ids from then on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_ID_OR_EMAIL = r"^([UW][A-Z0-9]{2,}|[^@\s]+@[^@\s]+\.[^@\s]+)$"  # the config's pattern for a person


def is_email(value: str) -> bool:
    return bool(EMAIL.match(value.strip()))


class PeopleDirectory:
    """Email -> Slack user id, from users.lookupByEmail, cached for the process."""

    def __init__(self, client: Any) -> None:
        self._client = client  # an AsyncWebClient
        self._ids: dict[str, str | None] = {}

    async def user_id(self, person: str) -> str | None:
        """A user id as given; an email's user id (None when Slack knows nobody by it)."""
        if not is_email(person):
            return person
        email = person.strip().lower()
        if email not in self._ids:
            try:
                response = await self._client.users_lookupByEmail(email=email)
                self._ids[email] = str(response["user"]["id"])
            except SlackApiError as error:
                if error.response.status_code != 200:
                    raise  # Slack down: not cached, looked up again next time
                self._ids[email] = None
        return self._ids[email]

    async def resolve(self, people: Iterable[str]) -> dict[str, str]:
        """{email: user id} for the emails among `people`; one warning names those nobody in Slack has."""
        found: dict[str, str] = {}
        unknown: list[str] = []
        for person in dict.fromkeys(people):
            if not is_email(person):
                continue
            user_id = await self.user_id(person)
            if user_id is None:
                unknown.append(person)
            else:
                found[person] = user_id
        if unknown:
            log.warning("no Slack user has these emails named in the config: %s", ", ".join(unknown))
        return found


def replace_people(people: Iterable[str], ids: dict[str, str]) -> list[str]:
    """`people` with each resolved email replaced by its user id (an unknown email stays: it matches nobody)."""
    return [ids.get(person, person) for person in people]
