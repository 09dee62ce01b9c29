"""Partial batch responses: one record's failure never fails its neighbours.

The contract of Lambda's ReportBatchItemFailures: return the failed records' identifiers
(SQS messageId, DynamoDB stream SequenceNumber) and Lambda retries only those (for streams: from
the lowest failed one on, which is why stream handlers must be idempotent).
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
"""

from __future__ import annotations

from typing import TypedDict


class _ItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    batchItemFailures: list[_ItemFailure]


def failures(identifiers: list[str]) -> PartialItemFailureResponse:
    """The response naming the records that failed (none: an empty list)."""
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}
