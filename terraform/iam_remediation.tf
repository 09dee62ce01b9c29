# What every remediator does besides its runbooks' calls (iam_runbooks.tf): decide and audit in the
# governor table, read the catalog and the kill switch, publish notifications. Exact ARNs; the key
# only through the services that use it. tests/unit/test_iam_remediation.py keeps these actions
# equal to the calls of adapters/governor_store.py, runbook_config.py and notify.py.

data "aws_iam_policy_document" "remediation" {
  statement {
    sid = "GovernAndAudit"
    actions = [
      "dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.governor.arn, "${aws_dynamodb_table.governor.arn}/index/*"]
  }
  statement {
    sid       = "ReadCatalogAndKillSwitch"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.runbook_catalog.arn, aws_ssm_parameter.kill_switch.arn]
  }
  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "Key"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = [
          "dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com",
          "ssm.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com",
        ]
      }
    }
  }
  statement {
    sid       = "KeepFailedEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_events.arn]
  }
}

resource "aws_iam_role_policy" "remediation" {
  for_each = local.remediator_roles
  name     = "${local.functions[each.key]}-work"
  role     = each.value.id
  policy   = data.aws_iam_policy_document.remediation.json
}
