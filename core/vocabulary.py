"""The words of the team's process, as values: an issue's priority and its category."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}  # lower is more urgent


class Category(StrEnum):
    DATABASE = "database"
    APPLICATION = "application"
    INFRASTRUCTURE = "infrastructure"
    THIRD_PARTY = "third-party"
    SECURITY = "security"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.DATABASE: "Database",
    Category.APPLICATION: "Application",
    Category.INFRASTRUCTURE: "Infrastructure",
    Category.THIRD_PARTY: "Third-party service",
    Category.SECURITY: "Security",
    Category.OTHER: "Other",
}


class IssueClass(StrEnum):
    """Minor: a runbook applies and the priority is not High, so the team's procedure fixes it.
    Complex: anything else, and any minor issue once auto-fix fails or someone escalates it."""

    MINOR = "minor"
    COMPLEX = "complex"


ISSUE_CLASS_LABELS = {IssueClass.MINOR: "Minor", IssueClass.COMPLEX: "Complex"}


def issue_class_label(value: str | None) -> str:
    """"Minor" / "Complex"; "" for an issue opened before issues were classified."""
    return ISSUE_CLASS_LABELS.get(value, value) if value else ""  # type: ignore[call-overload]
