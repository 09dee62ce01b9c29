"""Background jobs: category depth and customer notifications."""

from __future__ import annotations


def category_depth(category: dict) -> int:
    """How many parents a category has."""
    return 1 + category_depth(category.get("parent", category))


def notify(user: dict) -> None:
    """Send one notification."""
    if "@" not in user["email"]:
        raise ValueError(f"bad address for user {user['id']}")


def notify_all(users: list[dict]) -> None:
    """Notify everyone; report every failure at once."""
    errors = []
    for user in users:
        try:
            notify(user)
        except ValueError as exc:
            errors.append(exc)
    if errors:
        raise ExceptionGroup("notifications failed", errors)
