# The runbooks' inputs (infrastructure healing: remediation.tf, iam_runbooks.tf, quarantine.tf).
#
# var.runbooks (the catalog; null: the default one) is declared in runbooks.tf.json, generated from
# the runbooks' declarations: its parameters' type and the runbook names it accepts come from them.

variable "notification_emails" {
  description = "E-mail addresses subscribed to the notification topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails: each must be an e-mail address."
  }
}

variable "chatbot_slack_channels" {
  description = "Slack channels that receive the notification topic through AWS Chatbot (Amazon Q Developer in chat applications): workspace_id is the Slack workspace (team) id, authorised once in the Chatbot console; channel_id the channel's id (private channels: invite the bot first). Empty: none (terraform/chatbot.tf)."
  type = list(object({
    workspace_id = string
    channel_id   = string
  }))
  default = []

  validation {
    condition     = alltrue([for c in var.chatbot_slack_channels : can(regex("^[0-9A-Z]{1,40}$", c.workspace_id)) && can(regex("^[0-9A-Z]{1,40}$", c.channel_id))])
    error_message = "chatbot_slack_channels: workspace_id and channel_id are Slack ids (capital letters and digits, such as T012AB3CD and C0123456789)."
  }
  validation {
    condition     = length(distinct([for c in var.chatbot_slack_channels : "${c.workspace_id}-${c.channel_id}"])) == length(var.chatbot_slack_channels)
    error_message = "chatbot_slack_channels: each channel once."
  }
}

variable "chatbot_teams_channels" {
  description = "Microsoft Teams channels that receive the notification topic through AWS Chatbot: tenant_id and team_id are GUIDs, channel_id the channel's id from its link (team authorised once in the Chatbot console). Empty: none (terraform/chatbot.tf)."
  type = list(object({
    tenant_id  = string
    team_id    = string
    channel_id = string
  }))
  default = []

  validation {
    condition = alltrue([for c in var.chatbot_teams_channels :
      can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", c.tenant_id)) &&
      can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", c.team_id)) &&
      length(c.channel_id) > 0 && length(c.channel_id) <= 255
    ])
    error_message = "chatbot_teams_channels: tenant_id and team_id are GUIDs; channel_id is the channel's id (1 to 255 characters)."
  }
}

variable "chatbot_guardrail_policies" {
  description = "AWS managed policies (names) that cap what anyone may do through a Chatbot channel. selfheal's notices need no AWS call to render, so the default denies every call; CloudWatchReadOnlyAccess lets a channel show alarms and metrics. ReadOnlyAccess (Chatbot's console default) would let every channel member read every resource and is refused."
  type        = list(string)
  default     = ["AWSDenyAll"]

  validation {
    condition     = length(var.chatbot_guardrail_policies) > 0 && alltrue([for p in var.chatbot_guardrail_policies : can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", p)) && p != "ReadOnlyAccess" && p != "AdministratorAccess" && p != "PowerUserAccess"])
    error_message = "chatbot_guardrail_policies: names of AWS managed policies (at least one); ReadOnlyAccess, PowerUserAccess and AdministratorAccess are too wide for a chat channel."
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
    ec2-retire's business; the scheduled reboots reach it so that a person is told (no runbook applies);
    the EBS issues (a degraded or lost volume) are ebs-volume's.
  EOT
  type        = list(string)
  default = [
    "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
    "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
    "AWS_EC2_INSTANCE_STOP_SCHEDULED",
    "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
    "AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED",
    "AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED",
    "AWS_EBS_DEGRADED_EBS_VOLUME_PERFORMANCE",
    "AWS_EBS_VOLUME_LOST",
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

variable "live_runbooks" {
  description = "Runbooks (names of var.runbooks entries, or of the default catalog) that act for real: dry_run = false for these, without restating the catalog. Enable one at a time."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([for n in var.live_runbooks : contains(
      var.runbooks == null ? local.runbook_names : [for r in coalesce(var.runbooks, []) : r.name], n
    )])
    error_message = "live_runbooks: each name must be an entry of var.runbooks (null: of the default catalog)."
  }
}

# --- which resources the runbooks may change, and who runs them (iam_runbooks.tf, quarantine.tf) ---

variable "runbook_target_tag" {
  description = "Runbooks change only resources carrying this tag (IAM condition aws:ResourceTag/<key> = <value>)."
  type        = object({ key = string, value = string })
  default     = { key = "selfheal", value = "enabled" }

  validation {
    condition     = length(var.runbook_target_tag.key) > 0 && !startswith(var.runbook_target_tag.key, "aws:")
    error_message = "runbook_target_tag.key must be a non-empty tag key not starting with aws:."
  }
}

variable "runbook_functions" {
  description = "Remediator functions that run a runbook, by runbook name: its policy is attached to their roles. Merged over the defaults (local.runbook_default_functions: the handler of the runbook's trigger source, and the verifier, which decides held-back work again and runs what it admits); an empty list detaches a runbook."
  type        = map(list(string))
  default     = {}

  validation {
    condition = alltrue([
      for runbook, functions in var.runbook_functions :
      contains(local.runbook_names, runbook) &&
      alltrue([for f in functions : contains(["alarm_remediator", "finding_remediator", "health_remediator", "event_remediator", "remediation_verifier"], f)])
    ])
    error_message = "runbook_functions: keys are runbook names (local.runbook_names), values remediator handler names."
  }
}

variable "quarantine_vpc_ids" {
  description = "VPCs in which ec2-isolate may quarantine instances: two security groups are created in each."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for v in var.quarantine_vpc_ids : can(regex("^vpc-[0-9a-f]{8,17}$", v))])
    error_message = "quarantine_vpc_ids: VPC ids (vpc-…)."
  }
}
