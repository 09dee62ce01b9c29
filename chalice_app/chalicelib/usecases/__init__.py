"""Use cases over injected ports: ingest, enqueue, fix."""
