data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = var.name_prefix
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  functions = {
    log_processor    = "${var.name_prefix}-${var.stage}-log_processor"
    stream_processor = "${var.name_prefix}-${var.stage}-stream_processor"
    fixer            = "${var.name_prefix}-${var.stage}-fixer"
    budget_sweeper   = "${var.name_prefix}-${var.stage}-budget_sweeper"
    heal_checker     = "${var.name_prefix}-${var.stage}-heal_checker"
    # Runbooks (infrastructure healing): EventBridge rules and a schedule.
    alarm_remediator     = "${var.name_prefix}-${var.stage}-alarm_remediator"
    finding_remediator   = "${var.name_prefix}-${var.stage}-finding_remediator"
    health_remediator    = "${var.name_prefix}-${var.stage}-health_remediator"
    event_remediator     = "${var.name_prefix}-${var.stage}-event_remediator"
    remediation_verifier = "${var.name_prefix}-${var.stage}-remediation_verifier"
    # The GitHub webhook (the REST API's handler; terraform/api.tf).
    api_handler = "${var.name_prefix}-${var.stage}-api_handler"
  }
  parameter_path = trimsuffix(var.parameter_prefix, "/")

  model_arns = flatten([
    for id in var.model_ids : can(regex("^(us|eu|apac|global)\\.", id)) ? [
      "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${id}",
      "arn:${local.partition}:bedrock:*::foundation-model/${join(".", slice(split(".", id), 1, length(split(".", id))))}",
    ] : ["arn:${local.partition}:bedrock:${local.region}::foundation-model/${id}"]
  ])

  tags = merge({ "app" = var.name_prefix, "managed-by" = "terraform" }, var.tags)
}
