# One customer-managed key for the table, the queues, the functions' environment and logs, and
# the SSM SecureString parameters. The account administers it; services use it only through
# their own service principal or on behalf of selfheal's roles (kms:ViaService in iam.tf).
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
  description             = "selfheal: error groups, fix queue, function environment, logs and parameters"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}
