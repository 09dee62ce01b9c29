# Least privilege, exact ARNs. The roles come from the generated chalice.tf.json (Chalice's own
# policies are removed by the package step); every action below is a call the adapters make
# (tests/terraform checks the two sets are equal) or one Lambda makes for the event sources.

locals {
  roles = merge({
    log_processor    = aws_iam_role.log_processor_role
    stream_processor = aws_iam_role.stream_processor_role
    fixer            = aws_iam_role.fixer_role
    budget_sweeper   = aws_iam_role.budget_sweeper_role
    heal_checker     = aws_iam_role.heal_checker_role
    api_handler      = aws_iam_role.api_handler_role
  }, local.remediator_roles)
  # The settings tree (GetParametersByPath, recursive): repo_url, github_token and the rest.
  settings_arns = [
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}",
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}/*",
  ]
  watched_log_group_arns = [
    for name in local.watched_log_groups : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}:*"
  ]
}

# --- every function: its own logs, its environment key --------------------------------------

data "aws_iam_policy_document" "own_logs" {
  for_each = local.functions
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions[each.key].arn}:*"]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "EnvironmentKey"
      actions   = ["kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["lambda.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "own_logs" {
  for_each = local.functions
  name     = "${each.value}-logs"
  role     = local.roles[each.key].id
  policy   = data.aws_iam_policy_document.own_logs[each.key].json
}

# --- log_processor ------------------------------------------------------------------------------

data "aws_iam_policy_document" "log_processor" {
  statement {
    sid       = "RecordErrorGroups"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
  dynamic "statement" {
    for_each = length(local.watched_log_group_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTheRestOfCutOffTracebacks"
      actions   = ["logs:GetLogEvents"]
      resources = local.watched_log_group_arns
    }
  }
  statement {
    sid       = "KeepFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_events.arn]
  }
  statement {
    # A recurring PR_OPENED group's PR is read once a period without a webhook (services/fate.py):
    # repo_url and github_token come with the settings.
    sid       = "ReadSettingsForPullRequestReads"
    actions   = ["ssm:GetParametersByPath"]
    resources = local.settings_arns
  }
  statement {
    sid       = "NotifyRegressions"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "QueueKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "log_processor" {
  name   = "${local.functions.log_processor}-work"
  role   = aws_iam_role.log_processor_role.id
  policy = data.aws_iam_policy_document.log_processor.json
}

# --- stream_processor ---------------------------------------------------------------------------

data "aws_iam_policy_document" "stream_processor" {
  statement {
    sid       = "QueueGroups"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
  statement {
    sid       = "ReadTheStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    resources = [aws_dynamodb_table.error_groups.stream_arn]
  }
  statement {
    sid       = "SendJobs"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fix_queue.arn, aws_sqs_queue.failed_events.arn]
  }
  statement {
    sid       = "SummariseBursts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "QueueKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "stream_processor" {
  name   = "${local.functions.stream_processor}-work"
  role   = aws_iam_role.stream_processor_role.id
  policy = data.aws_iam_policy_document.stream_processor.json
}

# --- fixer --------------------------------------------------------------------------------------

data "aws_iam_policy_document" "fixer" {
  statement {
    sid       = "ClaimAndRecord"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
  statement {
    sid       = "ConsumeJobs"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.fix_queue.arn]
  }
  statement {
    sid       = "KeepFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_events.arn]
  }
  statement {
    sid     = "ReadSettings"
    actions = ["ssm:GetParametersByPath"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}",
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}/*",
    ]
  }
  statement {
    sid       = "NotifyOutcomes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  statement {
    sid       = "AskTheModel"
    actions   = ["bedrock:InvokeModel"]
    resources = local.model_arns
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "Keys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "fixer" {
  name   = "${local.functions.fixer}-work"
  role   = aws_iam_role.fixer_role.id
  policy = data.aws_iam_policy_document.fixer.json
}

# --- budget_sweeper -----------------------------------------------------------------------------

data "aws_iam_policy_document" "budget_sweeper" {
  statement {
    sid       = "ReadBudgetAndReopenWaitingGroups"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
  statement {
    sid       = "ListWaitingGroups"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.error_groups.arn}/index/budget_wait"]
  }
  statement {
    sid       = "SendStuckJobsAgain" # services/requeue.py: a QUEUED group whose job never reached the fixer
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fix_queue.arn]
  }
  statement {
    sid       = "TellStuckJobsFailed"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "TableQueueAndTopicKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "budget_sweeper" {
  name   = "${local.functions.budget_sweeper}-work"
  role   = aws_iam_role.budget_sweeper_role.id
  policy = data.aws_iam_policy_document.budget_sweeper.json
}

# --- heal_checker -------------------------------------------------------------------------------

data "aws_iam_policy_document" "heal_checker" {
  statement {
    # The day sets of merged and opened PRs (BatchGetItem), their groups, MERGED → HEALED, and a
    # regression found by the lazy PR read (services/heal.py, services/fate.py).
    sid       = "ReadDaySetsAndMarkHealed"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
  statement {
    sid       = "ReadSettingsForPullRequestReads"
    actions   = ["ssm:GetParametersByPath"]
    resources = local.settings_arns
  }
  statement {
    sid       = "NotifyFates"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "Keys"
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

resource "aws_iam_role_policy" "heal_checker" {
  name   = "${local.functions.heal_checker}-work"
  role   = aws_iam_role.heal_checker_role.id
  policy = data.aws_iam_policy_document.heal_checker.json
}
