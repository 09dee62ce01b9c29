variable "runbooks" {
  description = <<-EOT
    The runbook catalog (chalicelib/core/runbooks/catalog.py documents each field). Safe default
    (null): every declared runbook with its default entry, in dry-run (audits and notifies what it would do, changes
    nothing); enable one at a time with dry_run = false.
  EOT
  type = list(object({
    name        = string
    action      = optional(string)
    description = optional(string, "")
    triggers = list(object({
      source           = string
      namespace        = optional(string)
      metric           = optional(string)
      dimensions       = optional(list(string))
      alarm_names      = optional(list(string))
      types            = optional(list(string))
      min_severity     = optional(number)
      direction        = optional(string)
      min_threshold    = optional(number)
      max_threshold    = optional(number)
      dimension_values = optional(map(list(string)))
    }))
    target = optional(object({ dimension = string }))
    params = optional(object({
      commands            = optional(list(string))
      execution_timeout_s = optional(number)
    }), {})
    limits   = optional(map(number), {})
    approval = optional(bool, false)
    dry_run  = optional(bool, true)
  }))
  # null: the default catalog, generated from the runbooks' declarations (core/runbooks/*.py, the
  # `default` of each RUNBOOK) into runbooks.tf.json (local.runbook_default_catalog).
  default = null

  validation {
    condition     = length(distinct([for r in coalesce(var.runbooks, []) : r.name])) == length(coalesce(var.runbooks, []))
    error_message = "runbooks: every entry needs a unique name."
  }
  validation {
    condition     = alltrue([for r in coalesce(var.runbooks, []) : contains(local.runbook_names, coalesce(r.action, r.name))])
    error_message = "runbooks: action (or name) must be a runbook's name (local.runbook_names, generated from core/runbooks/)."
  }
  validation {
    condition     = alltrue(flatten([for r in coalesce(var.runbooks, []) : [for t in r.triggers : contains(["alarm", "guardduty", "health"], t.source)]]))
    error_message = "runbooks: trigger source must be alarm, guardduty or health."
  }
  validation {
    condition = alltrue(flatten([for r in coalesce(var.runbooks, []) : [for t in r.triggers :
    t.direction == null ? true : contains(["above", "below"], t.direction)]]))
    error_message = "runbooks: a trigger's direction must be above or below."
  }
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to the notification topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails: each must be an e-mail address."
  }
}

variable "audit_retention_days" {
  description = "How long the governor keeps audit records (days)."
  type        = number
  default     = 400

  validation {
    condition     = var.audit_retention_days >= 30 && var.audit_retention_days <= 3650
    error_message = "audit_retention_days must be between 30 and 3650."
  }
}

variable "alarm_name_prefixes" {
  description = "Only alarms whose names start with one of these reach the alarm remediator ([] = every alarm)."
  type        = list(string)
  default     = []
}

variable "guardduty_finding_types" {
  description = "GuardDuty finding type prefixes that reach the finding remediator."
  type        = list(string)
  default     = ["Backdoor:EC2/C&CActivity.B"]
}

variable "guardduty_min_severity" {
  description = "Lowest GuardDuty severity that reaches the finding remediator (1-10)."
  type        = number
  default     = 7

  validation {
    condition     = var.guardduty_min_severity >= 1 && var.guardduty_min_severity <= 10
    error_message = "guardduty_min_severity must be between 1 and 10."
  }
}

variable "health_event_types" {
  description = <<-EOT
    AWS Health event type codes that reach the health remediator. The retirement and stop codes are
    ec2-retire's business; the scheduled reboots reach it so that a person is told (no runbook applies).
  EOT
  type        = list(string)
  default = [
    "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
    "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
    "AWS_EC2_INSTANCE_STOP_SCHEDULED",
    "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
    "AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED",
    "AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED",
  ]
}

variable "quiet_notices" {
  description = "Runbook notice kinds nobody should receive (the audit keeps them): act, dry_run, awaiting_approval, approved, denied, escalate, failed, healed, repeat, notify, digest, kill_switch."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for kind in var.quiet_notices :
      contains(["act", "dry_run", "awaiting_approval", "approved", "denied", "escalate", "failed", "healed", "repeat", "notify", "digest", "kill_switch"], kind)
    ])
    error_message = "quiet_notices: each must be one of act, dry_run, awaiting_approval, approved, denied, escalate, failed, healed, repeat, notify, digest, kill_switch."
  }
}
