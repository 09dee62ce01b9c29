# Runbooks (infrastructure healing): the governor's table, the notification topic, and the catalog
# and kill switch the remediators read from SSM. The EventBridge rules and the remediator functions
# come from the generated chalice.tf.json (scripts/package.py narrows the rules with the variables
# below); IAM per runbook is in iam_runbooks.tf, the remediators' own concerns in iam.tf.

# --- the governor: decisions, cooldowns, budgets, fleet slots, approvals and the audit trail ---------

resource "aws_dynamodb_table" "governor" {
  name         = "${local.name}-governor"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  dynamic "attribute" {
    for_each = ["pk", "sk", "audit", "ordering", "runbook", "resource", "decision", "open_flag", "open_resource"]
    content {
      name = attribute.value
      type = "S"
    }
  }
  attribute {
    name = "deadline_ms"
    type = "N"
  }

  # Mirrors adapters/governor_store.table_definition (tests create the table from that function).
  dynamic "global_secondary_index" {
    for_each = {
      by_time          = ["audit", "ordering"]
      by_runbook       = ["runbook", "ordering"]
      by_resource      = ["resource", "ordering"]
      by_decision      = ["decision", "ordering"]
      open_by_deadline = ["open_flag", "deadline_ms"]
      open_by_resource = ["open_resource", "deadline_ms"]
    }
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value[0]
      range_key       = global_secondary_index.value[1]
      projection_type = "ALL"
    }
  }

  # State items (identity markers, cooldowns, slots) expire; audit records are kept for
  # var.audit_retention_days (the store sets expires_at on each from SELFHEAL_GOVERNOR_AUDIT_DAYS).
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn # null: the AWS managed key aws/dynamodb
  }
}

# --- notifications: one topic for actions, escalations, approval requests and fix outcomes --------

resource "aws_sns_topic" "notifications" {
  name              = "${local.name}-notifications"
  kms_master_key_id = local.customer_key ? local.kms_key_arn : "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.notification_emails)
  topic_arn = aws_sns_topic.notifications.arn
  protocol  = "email"
  endpoint  = each.value
}

# --- configuration the remediators read -----------------------------------------------------------

locals {
  # The catalog as load_catalog reads it: Terraform's unset optional attributes (null) left out.
  runbooks_given = var.runbooks == null ? [] : var.runbooks # null: the default catalog
  # var.live_runbooks turns dry-run off for the entries it names.
  runbook_catalog = [
    for r in local.runbooks_given : { for k, v in merge(r, {
      triggers = [for t in r.triggers : { for tk, tv in t : tk => tv if tv != null }]
      params   = { for pk, pv in r.params : pk => pv if pv != null }
      dry_run  = contains(var.live_runbooks, r.name) ? false : r.dry_run
    }) : k => v if v != null }
  ]
  # What the remediators read: the given catalog, or the default one the declarations generate.
  runbook_default_live = [
    for e in local.runbook_default_catalog : merge(e, { dry_run = contains(var.live_runbooks, e.name) ? false : lookup(e, "dry_run", true) })
  ]
  runbook_catalog_json = (var.runbooks == null
    ? jsonencode({ runbooks = local.runbook_default_live })
    : jsonencode({ runbooks = local.runbook_catalog })
  )
}

# Encrypted with the project's key like every parameter under the prefix; the remediators decrypt
# through SSM (kms:ViaService: the project_key document in iam.tf).
resource "aws_ssm_parameter" "runbook_catalog" {
  name        = "${var.parameter_prefix}runbooks/catalog"
  description = "selfheal runbook catalog (JSON): rendered from var.runbooks (null: the default catalog)"
  type        = "SecureString"
  key_id      = local.parameter_key_id
  tier        = "Advanced" # a catalog can pass the 4 KB of the standard tier
  value       = local.runbook_catalog_json
}

# The kill switch belongs to the operators (`selfheal.py kill-switch on|off`): Terraform creates
# it off and never puts it back.
resource "aws_ssm_parameter" "kill_switch" {
  name        = "${var.parameter_prefix}runbooks/kill_switch"
  description = "selfheal kill switch: on = every runbook only dry-runs"
  type        = "SecureString"
  key_id      = local.parameter_key_id
  value       = "off"

  lifecycle {
    ignore_changes = [value]
  }
}

# --- the EventBridge patterns, narrowed by the variables (scripts/package.py points the rules here) --
# With the defaults they equal chalicelib/sources.py's patterns (the terraform test checks it).

locals {
  alarm_detail = merge(
    { state = { value = ["ALARM", "OK"] } },
    length(var.alarm_name_prefixes) > 0 ? { alarmName = [for p in var.alarm_name_prefixes : { prefix = p }] } : {},
  )
  event_patterns = {
    alarm_remediator = jsonencode({
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      detail        = local.alarm_detail
    })
    finding_remediator = jsonencode({
      source        = ["aws.guardduty"]
      "detail-type" = ["GuardDuty Finding"]
      detail = {
        type     = [for t in var.guardduty_finding_types : { prefix = t }]
        severity = [{ numeric = [">=", var.guardduty_min_severity] }]
      }
    })
    health_remediator = jsonencode({
      source        = ["aws.health"]
      "detail-type" = ["AWS Health Event"]
      detail        = { service = ["EC2", "EBS"], eventTypeCategory = ["scheduledChange", "issue"], eventTypeCode = var.health_event_types }
    })
    # the event sources the runbooks declare (runbooks.tf.json, generated from core/runbooks/)
    event_remediator = local.runbook_event_pattern
  }
}
