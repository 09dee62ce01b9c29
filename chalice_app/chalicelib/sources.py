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

# EventBridge patterns of the remediators: narrow by design (deployment narrows them further with
# alarm-name prefixes, finding types and severities, Health event types: scripts/package.py).
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
ALARM_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"state": {"value": ["ALARM", "OK"]}},
}
# https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html
FINDING_PATTERN = {
    "source": ["aws.guardduty"],
    "detail-type": ["GuardDuty Finding"],
    "detail": {"type": [{"prefix": "Backdoor:EC2/C&CActivity.B"}], "severity": [{"numeric": [">=", 7]}]},
}
# https://docs.aws.amazon.com/health/latest/ug/aws-health-concepts-and-terms.html
HEALTH_PATTERN = {
    "source": ["aws.health"],
    "detail-type": ["AWS Health Event"],
    "detail": {
        "service": ["EC2", "EBS"],
        "eventTypeCategory": ["scheduledChange", "issue"],
        # ec2-retire's codes, the scheduled reboots a person is told about, and ebs-volume's EBS
        # issues (terraform var.health_event_types has the same default; the deployment test compares them)
        "eventTypeCode": [
            "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
            "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
            "AWS_EC2_INSTANCE_STOP_SCHEDULED",
            "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
            "AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED",
            "AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED",
            "AWS_EBS_DEGRADED_EBS_VOLUME_PERFORMANCE",
            "AWS_EBS_VOLUME_LOST",
        ],
    },
}
# The event remediator's rule matches the event sources the runbooks declare (AWS Backup jobs, RDS
# instance events, ...: core/runbooks/registry.event_pattern()). Building it here would import every
# runbook at each function's cold start (~60 ms) for a value only the package step reads: Chalice
# gets this marker, and the package step points the rule at the declared pattern
# (terraform local.runbook_event_pattern, generated from the declarations).
EVENT_PATTERN = {"source": ["selfheal.declared-event-sources"]}
VERIFY_SCHEDULE = "rate(5 minutes)"
# The budget sweeper: two minutes into every hour, when the hour's fix-job budget has just returned.
SWEEP_SCHEDULE = "cron(2 * * * ? *)"
# The heal checker: merged fixes quiet for SELFHEAL_QUIET_HOURS become HEALED (usecases/heal.py).
HEAL_SCHEDULE = "rate(1 hour)"
