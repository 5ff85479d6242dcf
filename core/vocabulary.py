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
