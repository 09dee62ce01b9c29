# Many services, many repositories (issue 14): the service catalog. Each service owns log groups
# (exact names, or prefixes ending in "*"); Terraform subscribes every one of them to the log
# processor (logs.tf) and writes the catalog into SSM, where the log processor routes each event to
# its service and the fixer finds the service's repository. Secrets stay per repository under
# <prefix>repos/<repo_key>/ (written by `configure`, never by Terraform).
#
# services = [] (the default) is today's deployment: one service, "default", over var.log_group_names
# and the global parameters; no catalog parameter is written (absent = the default service).

locals {
  # The catalog as the services code reads it: unset optional attributes (null) left out, so the
  # code's defaults apply (e.g. today's path_prefixes and labels).
  service_catalog = [for s in var.services : { for k, v in s : k => v if v != null }]

  service_log_groups = distinct(flatten([for s in var.services : s.log_groups]))
  exact_log_groups   = [for g in local.service_log_groups : g if !endswith(g, "*")]
  log_group_prefixes = toset([for g in local.service_log_groups : trimsuffix(g, "*") if endswith(g, "*")])
  own_log_groups     = [for f in values(local.functions) : "/aws/lambda/${f}"]

  # Every log group a subscription filter is written for: log_group_names without a catalog (the
  # same for_each keys as before the catalog, so existing deployments plan no change), else the
  # services' names plus the log groups that exist under their prefixes at plan time. selfheal's
  # own log groups are never subscribed (a prefix like /aws/lambda/* would loop its errors back).
  watched_log_groups = length(var.services) == 0 ? var.log_group_names : [
    for g in distinct(concat(local.exact_log_groups, flatten([
      for p in local.log_group_prefixes : tolist(data.aws_cloudwatch_log_groups.prefix[p].log_group_names)
    ]))) : g if !contains(local.own_log_groups, g)
  ]
  service_catalog_parameter = "${var.parameter_prefix}services/catalog"
}

# A prefix entry ("/ecs/billing-*") has no subscription filter of its own: CloudWatch Logs filters
# name one log group, and the account-level subscription filter policy selects only by
# "LogGroupName NOT IN". The log groups under the prefix are resolved here at plan time; one created
# later is routed to its service as soon as a filter reaches it, i.e. after the next apply.
data "aws_cloudwatch_log_groups" "prefix" {
  for_each              = local.log_group_prefixes
  log_group_name_prefix = each.value
}

resource "aws_ssm_parameter" "service_catalog" {
  count       = length(var.services) > 0 ? 1 : 0
  name        = local.service_catalog_parameter
  description = "selfheal service catalog (JSON): rendered from var.services"
  type        = "SecureString"
  key_id      = local.parameter_key_id
  tier        = "Advanced" # an organisation's catalog can pass the 4 KB of the standard tier
  value       = jsonencode({ services = local.service_catalog })
}

# Who reads the catalog (the log processor, and the stream processor for the services' own spend
# limits: usecases/enqueue.py) and the per-repository secrets (the fixer, the webhook: the settings
# tree): the concerns read_service_catalog and read_settings in iam.tf.

output "service_catalog_parameter" {
  description = "SSM SecureString holding the service catalog (absent with services = []: the default service)."
  value       = length(var.services) > 0 ? aws_ssm_parameter.service_catalog[0].name : null
}
