"""Order handling: the code paths the demo's requests go through."""

from __future__ import annotations

import json

from shop import pricing

CATALOG = {"apple": 0.5, "pear": 0.75, "melon": 2.0}


def parse_order(body: str) -> dict:
    """Decode a request body into an order."""
    order = json.loads(body)
    order["quantity"] = int(order["quantity"])
    return order


def order_total(order: dict) -> float:
    """What the customer pays for an order."""
    price = pricing.unit_price(CATALOG, order["sku"]) * order["quantity"]
    percent = pricing.discount_percent(order.get("discount"))
    return round(price * (100 - percent) / 100, 2)


def basket_summary(orders: list[dict]) -> dict:
    """Totals for a basket of orders."""
    totals = [order_total(order) for order in orders]
    return {"count": len(totals), "average": pricing.average_price(totals)}


def handle(event: dict) -> dict:
    """Lambda-style entry point."""
    if "basket" in event:
        return basket_summary([parse_order(body) for body in event["basket"]])
    return {"total": order_total(parse_order(event["body"]))}
