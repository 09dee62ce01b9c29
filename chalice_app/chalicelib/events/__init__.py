"""Typed, read-only views of every raw event selfheal receives, one module per source.

- ``logs``: CloudWatch Logs subscription deliveries (and the decorator Chalice lacks for them);
- ``streams``: the error-group table's DynamoDB stream records;
- ``queue``: SQS fix-job messages;
- ``eventbridge``: CloudWatch alarm state changes, GuardDuty findings and AWS Health events (runbooks).
"""
