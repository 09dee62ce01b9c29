"""SQS fix-job queue: jobs go out in SendMessageBatch calls of up to ten."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import FixJob

log = logging.getLogger(__name__)
SQS_BATCH = 10  # SendMessageBatch's limit


class FixQueue:
    """Sends fix jobs; reports per job which could not be sent."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, jobs: Sequence[FixJob]) -> list[FixJob]:
        """Send every job; return the ones SQS did not accept (the caller reports them failed)."""
        failed: list[FixJob] = []
        for start in range(0, len(jobs), SQS_BATCH):
            chunk = jobs[start : start + SQS_BATCH]
            entries = [{"Id": f"j{n}", "MessageBody": job.to_body()} for n, job in enumerate(chunk)]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError as exc:
                log.warning("send_message_batch failed: %s", exc, exc_info=True)
                failed.extend(chunk)
                continue
            for entry in answer.get("Failed", []):
                job = chunk[int(entry["Id"][1:])]
                log.warning("job not queued", extra={"fingerprint": job.fingerprint, "code": entry.get("Code")})
                failed.append(job)
        return failed
