# Every input of the deployment but the runbooks' (variables_remediation.tf) and the generated runbook
# catalog var.runbooks (runbooks.tf.json): name, type, default and validation, grouped by concern.

# --- the deployment and code healing ---------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name (the Chalice app name: Lambda functions are <prefix>-<stage>-<name>)."
  type        = string
  default     = "selfheal"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: lower-case letters, digits and dashes, 2-31 characters, starting with a letter."
  }
}

variable "stage" {
  description = "Chalice stage the functions were packaged for."
  type        = string
  default     = "dev"
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "endpoint_url" {
  description = "One endpoint for every AWS service (a local moto server for tests); empty for real AWS."
  type        = string
  default     = ""
}

variable "log_group_names" {
  description = "Application log groups to watch, one subscription filter each (the default service's; with a service catalog, var.services lists them instead)."
  type        = list(string)
  default     = []
}

variable "filter_pattern" {
  description = "Subscription filter pattern: which log events reach the log processor."
  type        = string
  default     = "?\"Traceback (most recent call last)\" ?\"[ERROR]\" ?errorType ?\"\\\"exception\\\"\""
}

variable "parameter_prefix" {
  description = "SSM path under which the configure script stores settings and secrets (SecureString)."
  type        = string
  default     = "/selfheal/"

  validation {
    condition     = startswith(var.parameter_prefix, "/") && endswith(var.parameter_prefix, "/")
    error_message = "parameter_prefix must start and end with '/'."
  }
}

variable "model_ids" {
  description = "Bedrock foundation model ids and/or inference profile ids the fixer may invoke."
  type        = list(string)
  default     = ["anthropic.claude-sonnet-4-20250514-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0"]
}

variable "fixer_max_concurrency" {
  description = "At most this many fixes run at once (SQS event source maximum concurrency, 2-1000)."
  type        = number
  default     = 2

  validation {
    condition     = var.fixer_max_concurrency >= 2 && var.fixer_max_concurrency <= 1000
    error_message = "fixer_max_concurrency must be between 2 and 1000."
  }
}

variable "max_attempts" {
  description = "Fix attempts per group; also the fix queue's maxReceiveCount before the dead-letter queue."
  type        = number
  default     = 3
}

variable "fix_queue_visibility_seconds" {
  description = "The fix queue's visibility timeout: how long a delivered job stays hidden before SQS hands it out again."
  type        = number
  default     = 900

  validation {
    condition     = var.fix_queue_visibility_seconds >= 660 && var.fix_queue_visibility_seconds <= 43200
    error_message = "fix_queue_visibility_seconds must be between 660 (the fixer's 600 s timeout plus a margin) and 43200."
  }
}

variable "fix_lease_seconds" {
  description = "How long a fixer's claim on a group lasts: longer than the fixer's timeout, and at least 60 s shorter than the queue's visibility timeout so a dead fixer's job is reclaimed."
  type        = number
  default     = 660

  validation {
    condition     = var.fix_lease_seconds >= 30 && var.fix_lease_seconds + 60 <= var.fix_queue_visibility_seconds
    error_message = "fix_lease_seconds must be at least 30 and end at least 60 s before fix_queue_visibility_seconds."
  }
}

variable "max_jobs_per_hour" {
  description = "At most this many fix jobs an hour (0: no limit); groups past it are SKIPPED (hourly-budget) and picked up oldest first when budget returns (docs/spend.md)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_jobs_per_hour >= 0 && floor(var.max_jobs_per_hour) == var.max_jobs_per_hour
    error_message = "max_jobs_per_hour must be a whole number, 0 or more."
  }
}

variable "max_jobs_per_day" {
  description = "At most this many fix jobs a UTC day (0: no limit); groups past it are SKIPPED (daily-budget) and picked up when budget returns."
  type        = number
  default     = 50

  validation {
    condition     = var.max_jobs_per_day >= 0 && floor(var.max_jobs_per_day) == var.max_jobs_per_day && (var.max_jobs_per_day == 0 || var.max_jobs_per_day >= var.max_jobs_per_hour)
    error_message = "max_jobs_per_day must be a whole number, 0 (no limit) or at least max_jobs_per_hour."
  }
}

variable "min_occurrences" {
  description = "A group is fixed once seen this many times (0 or 1: at once); below it, SKIPPED (min-occurrences) and re-opened when it reaches the minimum."
  type        = number
  default     = 2

  validation {
    condition     = var.min_occurrences >= 0 && floor(var.min_occurrences) == var.min_occurrences
    error_message = "min_occurrences must be a whole number, 0 or more."
  }
}

variable "max_tokens_per_day" {
  description = "Daily ceiling of model tokens (in + out) for fixes (0: no limit); checked before a job is sent and when it is claimed."
  type        = number
  default     = 2000000

  validation {
    condition     = var.max_tokens_per_day == 0 || (var.max_tokens_per_day >= 20000 && floor(var.max_tokens_per_day) == var.max_tokens_per_day)
    error_message = "max_tokens_per_day must be 0 (no limit) or a whole number of at least 20000 (one fix)."
  }
}

variable "log_retention_days" {
  description = "Retention of the selfheal functions' own logs (a year: they are the audit trail of every fix)."
  type        = number
  default     = 365
}

variable "trace_hot_path" {
  description = "Active X-Ray tracing on the log processor too (every other function is always traced). Off: at one trace per log delivery it was the largest AWS line of the bill."
  type        = bool
  default     = false
}

variable "function_error_alarms" {
  description = "An errors alarm on every function, not only the webhook (failed asynchronous work already alarms through the dead-letter queues)."
  type        = bool
  default     = false
}

variable "routine_metrics" {
  description = "Counts of routine traffic (errors seen, new groups, fix jobs, PRs opened) as custom metrics too, each about $0.30 a month; off, they are logged and the dashboard sums them with Logs Insights."
  type        = bool
  default     = false
}

variable "lambda_system_log_level" {
  description = "Lambda's own log lines kept (JSON log format): WARN drops START/END/REPORT (their figures are in Lambda's metrics), INFO keeps them, DEBUG adds more."
  type        = string
  default     = "WARN"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.lambda_system_log_level)
    error_message = "lambda_system_log_level must be DEBUG, INFO or WARN."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "event_source_mappings" {
  description = "Connect the stream and the fix queue to their functions (false only for local mode on moto, which plays their part)."
  type        = bool
  default     = true
}

variable "kms_key" {
  description = "Which keys encrypt selfheal's data at rest: \"customer-managed\" (one key of the project, $1 a month: its key policy, rotation and CloudTrail record are yours) or \"aws-managed\" (no key of the project: AWS owned and AWS managed keys; see docs/security.md for who can decrypt then)."
  type        = string
  default     = "customer-managed"

  validation {
    condition     = contains(["customer-managed", "aws-managed"], var.kms_key)
    error_message = "kms_key must be \"customer-managed\" or \"aws-managed\"."
  }
}

# --- the GitHub webhook (api.tf) ---------------------------------------------------------------

variable "webhook_rate_limit" {
  description = "Steady-state requests per second the webhook accepts (API Gateway throttling; GitHub sends a few per pull request)."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_rate_limit > 0 && var.webhook_rate_limit <= 10000
    error_message = "webhook_rate_limit must be more than 0 and at most 10000 requests per second."
  }
}

variable "webhook_burst_limit" {
  description = "Requests the webhook accepts in a burst above the rate (API Gateway throttling)."
  type        = number
  default     = 20

  validation {
    condition     = var.webhook_burst_limit >= 1 && var.webhook_burst_limit <= 5000 && floor(var.webhook_burst_limit) == var.webhook_burst_limit
    error_message = "webhook_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "api_gateway_account_logging_role" {
  description = "Create the role API Gateway writes logs with and set it as the region's account setting (API Gateway needs one for any log; it is ONE per account and region: set false if your account already has one)."
  type        = bool
  default     = true
}

# --- the service catalog (services.tf) ---------------------------------------------------------

variable "services" {
  description = "The service catalog (chalicelib/core/services.py documents each field); [] = one default service over log_group_names."
  type = list(object({
    name            = string
    log_groups      = list(string)
    repo_url        = optional(string, "")
    repo_folder     = optional(string, "")
    path_prefixes   = optional(list(string))
    labels          = optional(list(string))
    reviewers       = optional(list(string), [])
    model           = optional(string, "")
    min_occurrences = optional(number, 1)
    draft           = optional(bool, false)
    fixes_per_hour  = optional(number, 0)
    fixes_per_day   = optional(number, 0)
    tokens_per_day  = optional(number, 0)
    always_fix      = optional(list(string), [])
    never_fix       = optional(list(string), [])
    fix_library     = optional(bool, false)
  }))
  default = []

  validation {
    condition     = length(distinct([for s in var.services : s.name])) == length(var.services)
    error_message = "services: every service needs a unique name."
  }
  validation {
    condition     = alltrue([for s in var.services : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", s.name))])
    error_message = "services: name must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and dashes)."
  }
  validation {
    condition     = alltrue([for s in var.services : length(s.log_groups) > 0 && alltrue([for g in s.log_groups : length(trimspace(g)) > 0 && length(g) <= 512])])
    error_message = "services: log_groups must list at least one log group name (or prefix ending in *) per service, none empty."
  }
  validation {
    condition     = alltrue([for s in var.services : alltrue([for g in s.log_groups : !strcontains(trimsuffix(g, "*"), "*")])])
    error_message = "services: a log group is an exact name or a prefix with one * at its end."
  }
  validation {
    condition     = alltrue([for s in var.services : s.min_occurrences >= 1 && floor(s.min_occurrences) == s.min_occurrences])
    error_message = "services: min_occurrences must be a whole number, 1 or more."
  }
  validation {
    condition = alltrue([for s in var.services : alltrue([
      for v in [s.fixes_per_hour, s.fixes_per_day, s.tokens_per_day] : v >= 0 && floor(v) == v
    ])])
    error_message = "services: fixes_per_hour, fixes_per_day and tokens_per_day must be whole numbers, 0 (no limit) or more."
  }
  validation {
    condition = alltrue([for s in var.services : alltrue([
      for e in concat(s.always_fix, s.never_fix) : can(regex("^[A-Za-z_][A-Za-z0-9_.:/-]{0,199}$", e))
    ]) && length(s.always_fix) <= 100 && length(s.never_fix) <= 100])
    error_message = "services: always_fix and never_fix list exception types or modules (a name like ValueError, billing.legacy or billing/legacy; at most 100 each)."
  }
  validation {
    condition     = alltrue([for s in var.services : !startswith(s.repo_folder, "/") && !strcontains(s.repo_folder, "..")])
    error_message = "services: repo_folder is a folder inside the repository (relative, no ..)."
  }
  validation {
    condition     = length(var.services) == 0 || length(var.log_group_names) == 0
    error_message = "services: with a service catalog, list every log group in a service's log_groups and leave log_group_names empty."
  }
}
