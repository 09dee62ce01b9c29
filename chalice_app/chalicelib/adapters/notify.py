"""SNS notifications: one message per Notice, Chatbot JSON by default and plain text for e-mail."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate

if TYPE_CHECKING:
    from chalicelib.core.notices import Notice

log = logging.getLogger(__name__)


class SnsNotifier:
    """Publishes Notices to one topic; with no topic configured it only logs them."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic = topic_arn
        self.published = 0

    def publish(self, notice: Notice) -> str:
        """Publish; returns the SNS message id ('' when no topic is configured). TransientError on throttling."""
        if not self._topic:
            log.info("no notification topic configured: %s", notice.subject())
            return ""
        try:
            answer = self._sns.publish(
                TopicArn=self._topic,
                Subject=notice.subject(),
                Message=notice.sns_message(),
                MessageStructure="json",
            )
        except ClientError as exc:
            raise translate(exc, "SNS Publish") from exc
        self.published += 1
        return str(answer.get("MessageId", ""))
