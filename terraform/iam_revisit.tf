# The verifier decides held-back work again (services/remediate.py revisit): before it does, it reads
# whether the alarm that asked for the work is still in ALARM (adapters/signals.py). The runbooks it
# may then run are attached through var.runbook_functions (iam_runbooks.tf).

data "aws_iam_policy_document" "revisit_signals" {
  statement {
    sid       = "ReadAlarmStates"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.arn_prefix}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }
}

resource "aws_iam_role_policy" "revisit_signals" {
  name   = "${var.name_prefix}-${var.stage}-remediation_verifier-signals"
  role   = aws_iam_role.remediation_verifier_role.id
  policy = data.aws_iam_policy_document.revisit_signals.json
}
