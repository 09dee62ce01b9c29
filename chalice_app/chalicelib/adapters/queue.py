"""SQS fix-job queue: jobs go out in SendMessageBatch calls of up to ten."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.errors import ConfigError

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
        """Send every job; return the ones SQS did not accept (the caller reports them failed).
        ConfigError (access denied: the deployment is wrong) is raised, not retried per job."""
        failed: list[FixJob] = []
        for start in range(0, len(jobs), SQS_BATCH):
            chunk = jobs[start : start + SQS_BATCH]
            entries = [{"Id": f"j{n}", "MessageBody": job.to_body()} for n, job in enumerate(chunk)]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError as exc:
                error = translate(exc, "SQS SendMessageBatch")
                if isinstance(error, ConfigError):
                    raise error from exc
                log.warning("jobs not queued: %s", error, exc_info=True)
                failed.extend(chunk)
                continue
            for entry in answer.get("Failed", []):
                job = chunk[int(entry["Id"][1:])]
                log.warning("job not queued", extra={"fingerprint": job.fingerprint, "code": entry.get("Code")})
                failed.append(job)
        return failed
