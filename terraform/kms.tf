# One customer-managed key for the table, the queues, the functions' environment and logs, and
# the SSM SecureString parameters. The account administers it; services use it only through
# their own service principal or on behalf of selfheal's roles (kms:ViaService in iam.tf).
#
# var.kms_key = "aws-managed" creates no key: the queues use SQS-managed encryption (SSE-SQS), the
# logs CloudWatch Logs' own encryption, the functions' environment Lambda's default key, the tables
# the AWS managed key aws/dynamodb, the parameters aws/ssm and the topic aws/sns. Those AWS managed
# keys' policies let every principal of the account use them through their service, so no IAM
# statement names a key then (every statement below that would is a dynamic block over
# local.with_key). The trade-off is in docs/security.md and docs/cost.md.
locals {
  customer_key = var.kms_key == "customer-managed"
  kms_key_arn  = local.customer_key ? aws_kms_key.this[0].arn : null
  with_key     = local.customer_key ? ["key"] : []
  # SQS: the project's key, or SQS-managed encryption (never both: the provider refuses it).
  sqs_managed_sse = local.customer_key ? null : true
  # What SecureString parameters are written with (Terraform here, `selfheal.py configure` for the rest).
  parameter_key_id = local.customer_key ? aws_kms_key.this[0].arn : "alias/aws/ssm"
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_111: a key policy's "*" resource is this key alone
  # checkov:skip=CKV_AWS_356: a key policy's "*" resource is this key alone
  # checkov:skip=CKV_AWS_109: the account root administers its own key, the AWS default
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypts"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-*",
        # The webhook API's access log and the execution log API Gateway writes (api.tf).
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/apigateway/${local.name}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:API-Gateway-Execution-Logs_*/${var.stage}",
      ]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheQueueKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  count                   = local.customer_key ? 1 : 0
  description             = "selfheal: error groups, fix queue, function environment, logs and parameters"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  count         = local.customer_key ? 1 : 0
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

# Deployments from before var.kms_key keep their key (it was a single resource then).
moved {
  from = aws_kms_key.this
  to   = aws_kms_key.this[0]
}

moved {
  from = aws_kms_alias.this
  to   = aws_kms_alias.this[0]
}
