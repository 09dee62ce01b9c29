"""Event-source names the handlers are declared with: deploy-time configuration.

Chalice reads these when it imports app.py to package it. The package step (scripts) replaces the
stream ARN placeholder with the Terraform table's stream ARN.
"""

from __future__ import annotations

import os

FIX_QUEUE_NAME = os.environ.get("SELFHEAL_FIX_QUEUE_NAME", "selfheal-fix-jobs")
ERROR_GROUPS_STREAM_ARN = os.environ.get(
    "SELFHEAL_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/selfheal-error-groups/stream/PLACEHOLDER",
)
STREAM_BATCH_SIZE = 100
FIX_BATCH_SIZE = 1  # one fix per invocation: a fix takes minutes and its own budget
