data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = var.name_prefix
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # local.functions (handler → "<prefix>-<stage>-<handler>": the function, its role and its rule)
  # and local.function_roles (handler → its generated role) are in chalice.tf.json: the package
  # step derives them from app.py's handlers (scripts/app_handlers.py).
  parameter_path = trimsuffix(var.parameter_prefix, "/")

  model_arns = flatten([
    for id in var.model_ids : can(regex("^(us|eu|apac|global)\\.", id)) ? [
      "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${id}",
      "arn:${local.partition}:bedrock:*::foundation-model/${join(".", slice(split(".", id), 1, length(split(".", id))))}",
    ] : ["arn:${local.partition}:bedrock:${local.region}::foundation-model/${id}"]
  ])

  tags = merge({ "app" = var.name_prefix, "managed-by" = "terraform" }, var.tags)
}
