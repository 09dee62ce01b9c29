"""Prices and discounts."""

from __future__ import annotations

DISCOUNTS = {"SPRING": 10, "VIP": 25}


def discount_percent(code: str | None) -> int:
    """Percent off for a discount code; no code means no discount."""
    return DISCOUNTS[code.upper()]


def unit_price(catalog: dict[str, float], sku: str) -> float:
    """Price of one item of ``sku``."""
    return catalog[sku]


def average_price(prices: list[float]) -> float:
    """Mean price of a basket."""
    return sum(prices) / len(prices)
