"""Signed GitHub webhook deliveries built from the samples in ``tests/events/github``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.core.webhooks import sign
from tests.conftest import load_event

SECRET = "It's a Secret to Everybody"  # GitHub's documented example secret


def sample(name: str, **changes: Any) -> dict[str, Any]:
    """A delivery payload from ``tests/events/github/<name>.json``; ``changes`` set PR fields:
    ``pr_url``, ``number``, ``body`` (PR body), ``comment``, ``login`` (commenter), ``merged_at``."""
    payload = load_event(f"github/{name}")
    pr = payload.get("pull_request") or payload.get("issue") or {}
    if "pr_url" in changes:
        pr["html_url"] = changes["pr_url"]
        if isinstance(pr.get("pull_request"), dict):
            pr["pull_request"]["html_url"] = changes["pr_url"]
    if "number" in changes:
        pr["number"] = changes["number"]
        payload["number"] = changes["number"]
    if "body" in changes:
        pr["body"] = changes["body"]
    if "merged_at" in changes:
        pr["merged_at"] = changes["merged_at"]
    if "comment" in changes:
        payload["comment"]["body"] = changes["comment"]
    if "login" in changes:
        payload["comment"]["user"]["login"] = changes["login"]
        payload["sender"]["login"] = changes["login"]
    return payload


def delivery(
    event: str, payload: dict[str, Any] | bytes, secret: str | None = SECRET, delivery_id: str = "", lower: bool = False
) -> tuple[dict[str, str], bytes]:
    """Headers and body as GitHub sends them (``secret`` None: unsigned; ``lower``: lower-case names)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "109948940",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret.encode(), body)
    if lower:
        headers = {k.lower(): v for k, v in headers.items()}
    return headers, body
