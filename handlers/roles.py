"""Who may do what: roles from the config, by Slack user id, email (handlers.people) or user group id.

Defaults are deliberate: with no responders named everyone may respond; with no operator named
nobody may run auto-fix; with no manager named anyone may read summaries.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Awaitable, Callable

from pydantic import Field

from core.settings_types import StrictModel
from handlers.errors import PermissionDenied
from handlers.people import replace_people

GroupMembers = Callable[[str], Awaitable[set[str]]]


class Role(StrEnum):
    RESPONDER = "responder"  # acknowledge, escalate, resolve
    OPERATOR = "operator"  # also auto-fix
    MANAGER = "manager"  # summaries, reports, knowledge-base gaps
    ADMIN = "admin"  # everything


class RoleSettings(StrictModel):
    responder: list[str] = Field(default_factory=list)
    operator: list[str] = Field(default_factory=list)
    manager: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)


# Roles that include another: an operator is also a responder; an admin is everything.
_GRANTED_BY = {
    Role.RESPONDER: (Role.RESPONDER, Role.OPERATOR, Role.ADMIN),
    Role.OPERATOR: (Role.OPERATOR, Role.ADMIN),
    Role.MANAGER: (Role.MANAGER, Role.ADMIN),
    Role.ADMIN: (Role.ADMIN,),
}
# Which roles are open to everyone while nobody holds them.
_OPEN_WHEN_UNCONFIGURED = {Role.RESPONDER, Role.MANAGER}


class RoleChecker:
    def __init__(self, settings: RoleSettings, group_members: GroupMembers | None = None) -> None:
        self._settings = settings
        self._group_members = group_members

    def _members(self, role: Role) -> list[str]:
        return list(getattr(self._settings, role.value))

    def members(self, role: Role) -> list[str]:
        """Who the config names for `role` (user ids, or group ids), emails resolved once people are."""
        return self._members(role)

    def people(self) -> list[str]:
        return [person for role in Role for person in self._members(role)]

    def use_user_ids(self, ids: dict[str, str]) -> None:
        """Emails the config named replaced by their user ids (PeopleDirectory.resolve, at start-up)."""
        self._settings = self._settings.model_copy(
            update={role.value: replace_people(self._members(role), ids) for role in Role}
        )

    async def has(self, user_id: str, role: Role) -> bool:
        if role in _OPEN_WHEN_UNCONFIGURED and not self._members(role):
            return True
        for granting in _GRANTED_BY[role]:
            for member in self._members(granting):
                if member == user_id:
                    return True
                if member.startswith("S") and self._group_members is not None:
                    if user_id in await self._group_members(member):
                        return True
        return False

    async def require(self, user_id: str, role: Role, to_do: str) -> None:
        """Raise PermissionDenied with a sentence the user can act on (for auto-fix: who can grant it)."""
        if not await self.has(user_id, role):
            if role is Role.OPERATOR:
                ask = self.who_grants(role)
                if not self._settings.operator and not self._settings.admin:
                    raise PermissionDenied(f"Nobody may {to_do} yet: {ask}.")
                raise PermissionDenied(f"You need the {role.value} role to {to_do}: {ask}.")
            raise PermissionDenied(f"You need the {role.value} role to {to_do}.")

    def who_grants(self, role: Role) -> str:
        """Whom to ask for `role`: the admins the config names, else how an admin sets it up."""
        admins = [_mention(member) for member in self._members(Role.ADMIN)]
        if not admins:
            return f"ask an opsbot admin to add you to roles.{role.value} in OPSBOT_CONFIG (no admin is named there yet)"
        title = "opsbot admins" if len(admins) > 1 else "opsbot admin"
        return f"ask {', '.join(admins[:5])} ({title}) to add you to roles.{role.value}"


def _mention(member: str) -> str:
    """A user id as a mention, a user group id as a group mention, anything else (an email) as written."""
    if member[:1] in ("U", "W") and member[1:].isalnum() and member.isupper():
        return f"<@{member}>"
    if member.startswith("S") and member[1:].isalnum() and member.isupper():
        return f"<!subteam^{member}>"
    return member
