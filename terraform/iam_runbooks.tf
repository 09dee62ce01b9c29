# Least privilege for the runbooks: one policy document per runbook whose actions are exactly the
# calls its code makes (core/runbooks/<name>.py: reads, plan, follow-up, release, and the read of
# its target's fleet size — tests/unit/test_iam_runbooks.py checks the two sets are equal). Every mutating action on the resource a
# runbook repairs is allowed only when that resource carries the tag var.runbook_target_tag
# (aws:ResourceTag condition): selfheal changes nothing an operator did not opt in.
#
# Exceptions, each narrowed another way: EC2/Auto Scaling Describe* and ssm:ListCommandInvocations
# have no resource-level permissions ("*"); the SSM document is AWS's own (exact ARN, no tags); the
# snapshots ec2-isolate creates are new (aws:RequestTag: they must carry selfheal's mark); network
# interfaces and security groups carry no instance tag (ec2-isolate swaps their groups: quarantine
# groups, and the original ones on release): they are limited to the quarantine VPCs (ec2:Vpc).
#
# The roles are the ones `chalice package` generates for the remediator handlers in app.py
# (<handler>_role, renamed <prefix>-<stage>-<handler> by scripts/package.py).

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
  description = "Remediator functions that run each runbook: its policy is attached to their roles. The verifier decides held-back work again (a wave of a storm, a retirement that waited) and runs what it admits, so it runs every runbook."
  type        = map(list(string))
  default = {
    "ec2-reboot"      = ["alarm_remediator", "remediation_verifier"]
    "disk-cleanup"    = ["alarm_remediator", "remediation_verifier"]
    "ecs-redeploy"    = ["alarm_remediator", "remediation_verifier"]
    "lambda-rollback" = ["alarm_remediator", "remediation_verifier"]
    "ec2-isolate"     = ["finding_remediator", "remediation_verifier"]
    "ec2-retire"      = ["health_remediator", "remediation_verifier"]
  }

  validation {
    condition = alltrue([
      for runbook, functions in var.runbook_functions :
      contains(["ec2-reboot", "disk-cleanup", "ecs-redeploy", "lambda-rollback", "ec2-isolate", "ec2-retire"], runbook) &&
      alltrue([for f in functions : contains(["alarm_remediator", "finding_remediator", "health_remediator", "remediation_verifier"], f)])
    ])
    error_message = "runbook_functions: keys are runbook names, values remediator handler names."
  }
}

locals {
  remediator_roles = {
    alarm_remediator     = aws_iam_role.alarm_remediator_role
    finding_remediator   = aws_iam_role.finding_remediator_role
    health_remediator    = aws_iam_role.health_remediator_role
    remediation_verifier = aws_iam_role.remediation_verifier_role
  }
  runbook_tag_condition = "aws:ResourceTag/${var.runbook_target_tag.key}"
  # The VPCs whose interfaces ec2-isolate may re-point; with none configured, an ARN no VPC has
  # (the statement then allows nothing, and isolation escalates for want of quarantine groups).
  quarantine_vpc_arns = length(var.quarantine_vpc_ids) > 0 ? [
    for vpc in var.quarantine_vpc_ids : "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:vpc/${vpc}"
  ] : ["${local.arn_prefix}:ec2:${local.region}:${local.account_id}:vpc/no-quarantine-vpc-configured"]

  arn_prefix     = "arn:${local.partition}"
  instances_arn  = "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:instance/*"
  groups_arn     = "${local.arn_prefix}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"
  services_arn   = "${local.arn_prefix}:ecs:${local.region}:${local.account_id}:service/*/*"
  functions_arns = ["${local.arn_prefix}:lambda:${local.region}:${local.account_id}:function:*", "${local.arn_prefix}:lambda:${local.region}:${local.account_id}:function:*:*"]

  runbook_documents = {
    "ec2-reboot"      = data.aws_iam_policy_document.runbook_ec2_reboot.json
    "disk-cleanup"    = data.aws_iam_policy_document.runbook_disk_cleanup.json
    "ecs-redeploy"    = data.aws_iam_policy_document.runbook_ecs_redeploy.json
    "lambda-rollback" = data.aws_iam_policy_document.runbook_lambda_rollback.json
    "ec2-isolate"     = data.aws_iam_policy_document.runbook_ec2_isolate.json
    "ec2-retire"      = data.aws_iam_policy_document.runbook_ec2_retire.json
  }
  runbook_attachments = {
    for pair in flatten([
      for runbook, functions in var.runbook_functions : [for f in functions : { runbook = runbook, function = f }]
    ]) : "${pair.function}-${pair.runbook}" => pair
  }
}

# --- ec2-reboot ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_ec2_reboot" {
  statement {
    sid       = "ReadInstanceAndGroup"
    actions   = ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups"]
    resources = ["*"] # no resource-level permissions for these reads
  }
  statement {
    sid       = "RebootTaggedInstances"
    actions   = ["ec2:RebootInstances"]
    resources = [local.instances_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
}

# --- disk-cleanup -------------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_disk_cleanup" {
  statement {
    sid       = "ReadInstanceGroupAndCommandStatus"
    actions   = ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups", "ssm:ListCommandInvocations"]
    resources = ["*"] # no resource-level permissions for these reads
  }
  statement {
    sid       = "RunCommandOnTaggedInstances"
    actions   = ["ssm:SendCommand"]
    resources = [local.instances_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
  statement {
    sid       = "WithTheShellScriptDocument"
    actions   = ["ssm:SendCommand"]
    resources = ["${local.arn_prefix}:ssm:${local.region}::document/AWS-RunShellScript"]
  }
}

# --- ecs-redeploy -------------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_ecs_redeploy" {
  statement {
    sid       = "ReadDeployments"
    actions   = ["ecs:DescribeServices"]
    resources = [local.services_arn]
  }
  statement {
    sid       = "ReadFleetSize"
    actions   = ["ecs:DescribeClusters"]
    resources = ["${local.arn_prefix}:ecs:${local.region}:${local.account_id}:cluster/*"]
  }
  statement {
    sid       = "RedeployTaggedServices"
    actions   = ["ecs:UpdateService"]
    resources = [local.services_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
}

# --- lambda-rollback ----------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_lambda_rollback" {
  statement {
    sid       = "ReadAliasAndVersions"
    actions   = ["lambda:GetAlias", "lambda:ListVersionsByFunction"]
    resources = local.functions_arns
  }
  statement {
    sid       = "MoveAliasesOfTaggedFunctions"
    actions   = ["lambda:UpdateAlias"]
    resources = local.functions_arns
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
}

# --- ec2-isolate --------------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_ec2_isolate" {
  #checkov:skip=CKV_AWS_356: EC2 and Auto Scaling Describe* calls have no resource-level permissions; every mutating action is resource- and tag-scoped
  statement {
    sid = "ReadInstanceGroupProtectionAndQuarantineGroups"
    actions = [
      "ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:DescribeSecurityGroups",
      "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups",
    ]
    resources = ["*"] # no resource-level permissions for these reads
  }
  statement {
    sid       = "DetachFromTaggedGroups"
    actions   = ["autoscaling:DetachInstances"]
    resources = [local.groups_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
  statement {
    sid       = "ProtectSnapshotAndMarkTaggedInstances"
    actions   = ["ec2:ModifyInstanceAttribute", "ec2:CreateSnapshots", "ec2:CreateTags", "ec2:DeleteTags"]
    resources = [local.instances_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
  statement {
    sid       = "SnapshotTheirVolumes"
    actions   = ["ec2:CreateSnapshots"]
    resources = ["${local.arn_prefix}:ec2:${local.region}:${local.account_id}:volume/*"]
  }
  statement {
    sid       = "NewSnapshotsCarrySelfhealsMark"
    actions   = ["ec2:CreateSnapshots"]
    resources = ["${local.arn_prefix}:ec2:${local.region}::snapshot/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/selfheal:action"
      values   = ["ec2-isolate"]
    }
  }
  statement {
    sid       = "TagSnapshotsAtCreation"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.arn_prefix}:ec2:${local.region}::snapshot/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSnapshots"]
    }
  }
  statement {
    sid     = "SwapInterfaceGroupsInQuarantineVpcs"
    actions = ["ec2:ModifyNetworkInterfaceAttribute"]
    resources = [
      "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:security-group/*",
    ]
    # Only interfaces and groups of the VPCs ec2-isolate quarantines in (var.quarantine_vpc_ids):
    # not a NAT, an endpoint or another team's service elsewhere. ec2:Vpc is a condition key of both
    # the network-interface and the security-group resource types. A tag condition on the groups
    # would break the release plan, which puts an interface back in its original groups.
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = local.quarantine_vpc_arns
    }
  }
}

# --- ec2-retire ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "runbook_ec2_retire" {
  statement {
    sid       = "ReadInstanceAndGroup"
    actions   = ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups"]
    resources = ["*"] # no resource-level permissions for these reads (and the instance_stopped waiter)
  }
  statement {
    sid       = "StopAndStartTaggedInstances"
    actions   = ["ec2:StopInstances", "ec2:StartInstances"]
    resources = [local.instances_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
  statement {
    sid       = "ReplaceThroughTaggedGroups"
    actions   = ["autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = [local.groups_arn]
    condition {
      test     = "StringEquals"
      variable = local.runbook_tag_condition
      values   = [var.runbook_target_tag.value]
    }
  }
}

# --- verification: the reads of every runbook, nothing that changes anything ----------------------

data "aws_iam_policy_document" "runbook_verify" {
  #checkov:skip=CKV_AWS_356: read-only Describe*/List* calls that have no resource-level permissions
  statement {
    sid = "ReadWhatRunbooksChanged"
    actions = [
      "ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:DescribeSecurityGroups",
      "autoscaling:DescribeAutoScalingInstances", "ssm:ListCommandInvocations",
    ]
    resources = ["*"] # no resource-level permissions for these reads
  }
  statement {
    sid       = "ReadServicesAndAliases"
    actions   = ["ecs:DescribeServices", "lambda:GetAlias", "lambda:ListVersionsByFunction"]
    resources = concat([local.services_arn], local.functions_arns)
  }
}

resource "aws_iam_role_policy" "runbooks" {
  for_each = local.runbook_attachments
  name     = "${var.name_prefix}-${var.stage}-${each.value.function}-${each.value.runbook}"
  role     = local.remediator_roles[each.value.function].id
  policy   = local.runbook_documents[each.value.runbook]
}

resource "aws_iam_role_policy" "runbook_verify" {
  name   = "${var.name_prefix}-${var.stage}-remediation_verifier-verify"
  role   = aws_iam_role.remediation_verifier_role.id
  policy = data.aws_iam_policy_document.runbook_verify.json
}
