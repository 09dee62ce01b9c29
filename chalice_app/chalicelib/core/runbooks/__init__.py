"""Runbooks as data: a catalog of entries (catalog.py) and one pure module per runbook.

A runbook module knows its trigger, how the target is read from the event, the Plan of AWS calls a
repair makes and how the repair is verified; it makes no call itself (adapters/executor.py runs a
Plan's calls, so dry-run, approval hashing, execution and the IAM test all read the same data).
"""
