# What a person needs for the runbooks' operator commands (`selfheal.py actions / approve / deny /
# resume / kill-switch`): the governor table, the kill switch and catalog, the topic, and
# lambda:InvokeFunction on the remediators. Approved plans run in the remediator functions, under
# their tag-scoped roles (iam_runbooks.tf): this policy grants no EC2, Auto Scaling, ECS or Lambda
# alias action. Attach it to the operators' role or group; Terraform attaches it to nobody.

data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "ReadTheAudit"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.governor.arn, "${aws_dynamodb_table.governor.arn}/index/*"]
  }
  # An approval claims the action's slots and records it (action#, res#, fleet#, rate#, stats#); a
  # resume lifts a pause (res#). Never the held-back partition ("held") nor the digest's ("tell"): the
  # verifier decides held work again without approval, so writing there would run a runbook.
  statement {
    sid       = "ApproveDenyResume"
    actions   = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.governor.arn]
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["action#*", "res#*", "fleet#*", "rate#*", "stats#*"]
    }
  }
  statement {
    sid       = "ReadCatalogAndKillSwitch"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.runbook_catalog.arn, aws_ssm_parameter.kill_switch.arn]
  }
  statement {
    sid       = "TurnTheKillSwitch"
    actions   = ["ssm:PutParameter"]
    resources = [aws_ssm_parameter.kill_switch.arn]
  }
  statement {
    sid     = "RunApprovedPlansInTheRemediators"
    actions = ["lambda:InvokeFunction"]
    resources = [
      aws_lambda_function.alarm_remediator.arn,
      aws_lambda_function.finding_remediator.arn,
      aws_lambda_function.health_remediator.arn,
      aws_lambda_function.event_remediator.arn,
    ]
  }
  statement {
    sid       = "AnnounceDenials"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "Key"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "operator" {
  name        = "${local.name}-${var.stage}-operator"
  description = "selfheal operator commands: audit, approve (the remediator runs the plan), deny, resume, kill switch"
  policy      = data.aws_iam_policy_document.operator.json
}

output "operator_policy_arn" {
  description = "Managed policy for the operators' commands (actions, approve, deny, resume, kill-switch)."
  value       = aws_iam_policy.operator.arn
}
