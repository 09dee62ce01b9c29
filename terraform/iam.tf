# Least privilege, exact ARNs, one policy document per concern. The roles come from the generated
# chalice.tf.json (Chalice's own policies are removed by the package step). Every function's role
# gets the concerns local.role_concerns lists, one aws_iam_role_policy each (<function>-<concern>),
# like terraform-aws-lambda's -logs/-dl/-async policies: a new grant (one more secret, one more
# topic) is one edit in one document, attached to every role that lists the concern. Every action
# below is a call the adapters make or one Lambda makes for the event sources (tests/unit/
# test_iam_actions.py and test_iam_remediation.py check the sets are equal, role by role).
#
# The runbooks' own documents (generated) are attached in iam_runbooks.tf; the operators' managed
# policy is iam_operator.tf.

locals {
  roles = local.function_roles # every handler of app.py: its generated role (chalice.tf.json)

  # Which concerns each function's role is granted (the documents below, by name). The one line a
  # new handler of app.py needs here: tests/unit/test_package_handlers.py fails until it is written.
  role_concerns = {
    log_processor        = ["error_groups", "error_groups_batch_read", "watched_logs", "failed_events", "read_settings", "notify", "read_service_catalog"]
    stream_processor     = ["error_groups", "error_groups_stream", "send_fix_jobs", "failed_events", "notify", "read_service_catalog"]
    fixer                = ["error_groups", "consume_fix_jobs", "failed_events", "read_settings", "notify", "invoke_model"]
    budget_sweeper       = ["error_groups", "error_groups_batch_read", "budget_wait_index", "send_fix_jobs", "notify"]
    heal_checker         = ["error_groups", "error_groups_batch_read", "read_settings", "notify"]
    api_handler          = ["error_groups", "read_webhook_secret", "read_settings"]
    alarm_remediator     = ["governor", "read_runbook_config", "notify", "failed_events"]
    finding_remediator   = ["governor", "read_runbook_config", "notify", "failed_events"]
    health_remediator    = ["governor", "read_runbook_config", "notify", "failed_events"]
    event_remediator     = ["governor", "read_runbook_config", "notify", "failed_events"]
    remediation_verifier = ["governor", "read_runbook_config", "notify", "failed_events", "read_alarm_states"]
  }

  concern_documents = {
    error_groups            = data.aws_iam_policy_document.error_groups.json
    error_groups_batch_read = data.aws_iam_policy_document.error_groups_batch_read.json
    error_groups_stream     = data.aws_iam_policy_document.error_groups_stream.json
    budget_wait_index       = data.aws_iam_policy_document.budget_wait_index.json
    watched_logs            = data.aws_iam_policy_document.watched_logs.json
    send_fix_jobs           = data.aws_iam_policy_document.send_fix_jobs.json
    consume_fix_jobs        = data.aws_iam_policy_document.consume_fix_jobs.json
    failed_events           = data.aws_iam_policy_document.failed_events.json
    read_settings           = data.aws_iam_policy_document.read_settings.json
    read_service_catalog    = data.aws_iam_policy_document.read_service_catalog.json
    read_webhook_secret     = data.aws_iam_policy_document.read_webhook_secret.json
    notify                  = data.aws_iam_policy_document.notify.json
    invoke_model            = data.aws_iam_policy_document.invoke_model.json
    governor                = data.aws_iam_policy_document.governor.json
    read_runbook_config     = data.aws_iam_policy_document.read_runbook_config.json
    read_alarm_states       = data.aws_iam_policy_document.read_alarm_states.json
  }

  # The service through which a concern uses the project's key (kms:ViaService): a role may use the
  # key through exactly the services of its concerns (project_key below). The concerns not listed
  # use no key, or carry their own narrower key statement (read_service_catalog, read_webhook_secret).
  concern_key_services = {
    error_groups            = "dynamodb"
    error_groups_batch_read = "dynamodb"
    error_groups_stream     = "dynamodb"
    budget_wait_index       = "dynamodb"
    send_fix_jobs           = "sqs"
    consume_fix_jobs        = "sqs"
    failed_events           = "sqs"
    read_settings           = "ssm"
    notify                  = "sns"
    governor                = "dynamodb"
    read_runbook_config     = "ssm"
  }
  # The key's actions a role is granted where it differs from decrypt and generate data keys (every
  # role now writes something encrypted: the budget sweeper sends stuck jobs again and tells).
  key_actions = {}
  key_use = {
    for role, concerns in local.role_concerns : role => {
      actions  = lookup(local.key_actions, role, ["kms:Decrypt", "kms:GenerateDataKey"])
      services = sort(distinct([for c in concerns : local.concern_key_services[c] if contains(keys(local.concern_key_services), c)]))
    }
  }

  # A concern with nothing to grant is not attached (an inline policy needs a statement).
  concern_granted = {
    watched_logs = length(local.watched_log_group_arns) > 0
  }
  role_policies = merge(
    {
      for pair in flatten([
        for role, concerns in local.role_concerns : [
          for c in concerns : { role = role, concern = c, policy = local.concern_documents[c] } if lookup(local.concern_granted, c, true)
        ]
      ]) : "${pair.role}-${pair.concern}" => pair
    },
    local.customer_key ? {
      for role, use in local.key_use : "${role}-project_key" => {
        role = role, concern = "project_key", policy = data.aws_iam_policy_document.project_key[role].json
      } if length(use.services) > 0
    } : {},
  )

  # The settings tree (GetParametersByPath, recursive): repo_url, github_token and the rest.
  settings_arns = [
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}",
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}/*",
  ]
  watched_log_group_arns = [
    for name in local.watched_log_groups : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}:*"
  ]
  ssm_parameter_arn            = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter"
  service_catalog_arn          = "${local.ssm_parameter_arn}${local.service_catalog_parameter}"
  webhook_secret_parameter_arn = "${local.ssm_parameter_arn}${var.parameter_prefix}webhook_secret"
}

resource "aws_iam_role_policy" "concerns" {
  for_each = local.role_policies
  name     = "${local.functions[each.value.role]}-${each.value.concern}"
  role     = local.roles[each.value.role].id
  policy   = each.value.policy
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

# --- the project's key, through the services of the role's concerns (local.key_use) -------------

data "aws_iam_policy_document" "project_key" {
  for_each = local.key_use
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "ProjectKey"
      actions   = each.value.actions
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for service in each.value.services : "${service}.${local.region}.amazonaws.com"]
      }
    }
  }
}

# --- the error-group table ------------------------------------------------------------------------

data "aws_iam_policy_document" "error_groups" {
  statement {
    # Record, claim, queue, heal and reopen a group (usecases/ingest.py, fix.py, heal.py, fate.py).
    sid       = "ReadAndUpdateErrorGroups"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
}

data "aws_iam_policy_document" "error_groups_batch_read" {
  statement {
    # Many groups at once: a log batch's fingerprints, the day sets of merged and opened PRs.
    sid       = "ReadErrorGroupsInBatches"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.error_groups.arn]
  }
}

data "aws_iam_policy_document" "error_groups_stream" {
  statement {
    sid       = "ReadTheStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    resources = [aws_dynamodb_table.error_groups.stream_arn]
  }
}

data "aws_iam_policy_document" "budget_wait_index" {
  statement {
    sid       = "ListWaitingGroups"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.error_groups.arn}/index/budget_wait"]
  }
}

# --- logs of the watched applications -------------------------------------------------------------

data "aws_iam_policy_document" "watched_logs" {
  dynamic "statement" {
    for_each = length(local.watched_log_group_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTheRestOfCutOffTracebacks"
      actions   = ["logs:GetLogEvents"]
      resources = local.watched_log_group_arns
    }
  }
}

# --- the queues -----------------------------------------------------------------------------------

data "aws_iam_policy_document" "send_fix_jobs" {
  statement {
    sid       = "SendFixJobs"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fix_queue.arn]
  }
}

data "aws_iam_policy_document" "consume_fix_jobs" {
  statement {
    sid       = "ConsumeFixJobs"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.fix_queue.arn]
  }
}

data "aws_iam_policy_document" "failed_events" {
  statement {
    # Failed log batches, stream records and asynchronous invocations are kept, never dropped.
    sid       = "KeepFailedEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_events.arn]
  }
}

# --- settings and secrets in SSM ------------------------------------------------------------------

data "aws_iam_policy_document" "read_settings" {
  statement {
    # The whole settings tree: repo_url, github_token, the per-repository secrets and the rest
    # (the fixer, the webhook's /selfheal commands and the lazy PR reads of usecases/fate.py).
    sid       = "ReadSettings"
    actions   = ["ssm:GetParametersByPath"]
    resources = local.settings_arns
  }
}

data "aws_iam_policy_document" "read_service_catalog" {
  statement {
    sid       = "ReadTheServiceCatalog"
    actions   = ["ssm:GetParameter"]
    resources = [local.service_catalog_arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "DecryptTheServiceCatalog"
      actions   = ["kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:PARAMETER_ARN"
        values   = [local.service_catalog_arn]
      }
    }
  }
}

data "aws_iam_policy_document" "read_webhook_secret" {
  statement {
    sid       = "WebhookSecret"
    actions   = ["ssm:GetParameter"]
    resources = [local.webhook_secret_parameter_arn]
  }
  dynamic "statement" {
    for_each = local.with_key # only with the project's own key (kms.tf)
    content {
      sid       = "DecryptTheSecret"
      actions   = ["kms:Decrypt"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:PARAMETER_ARN"
        values   = [local.webhook_secret_parameter_arn]
      }
    }
  }
}

data "aws_iam_policy_document" "read_runbook_config" {
  statement {
    sid       = "ReadCatalogAndKillSwitch"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.runbook_catalog.arn, aws_ssm_parameter.kill_switch.arn]
  }
}

# --- notifications, the model, the alarms ---------------------------------------------------------

data "aws_iam_policy_document" "notify" {
  statement {
    # Regressions, bursts, fix outcomes, fates, runbook actions and approvals (adapters/notify.py).
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }
}

data "aws_iam_policy_document" "invoke_model" {
  statement {
    sid       = "AskTheModel"
    actions   = ["bedrock:InvokeModel"]
    resources = local.model_arns
  }
}

data "aws_iam_policy_document" "read_alarm_states" {
  statement {
    # The verifier decides held-back work again only while the alarm that asked for it is still in
    # ALARM (adapters/signals.py); the runbooks it then runs are attached in iam_runbooks.tf.
    sid       = "ReadAlarmStates"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.arn_prefix}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }
}

# --- the runbooks' governor table: decisions, audit, approvals, slots ---------------------------

data "aws_iam_policy_document" "governor" {
  statement {
    sid = "GovernAndAudit"
    actions = [
      "dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.governor.arn, "${aws_dynamodb_table.governor.arn}/index/*"]
  }
}
