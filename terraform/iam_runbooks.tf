# Least privilege for the runbooks: each runbook's statements allow exactly the calls its code
# makes (core/runbooks/<name>.py: reads, plan, follow-up, release, and the read of its target's
# fleet size — tests/unit/test_iam_runbooks.py checks the two sets are equal). They are generated
# from each runbook's declared permissions (RUNBOOK = Runbook(..., permissions=[Grant(...)])) into
# runbooks.tf.json by `selfheal.py package`, with the list of runbook names (local.runbook_names)
# and the handlers that run each one by default. Every mutating action on the resource a runbook
# repairs is allowed only when that resource carries the tag var.runbook_target_tag
# (aws:ResourceTag condition): selfheal changes nothing an operator did not opt in.
#
# Packaging, for AWS's quotas (a role's inline policies: 10,240 characters in total; a managed
# policy: 6,144; 10 managed policies per role): one customer-managed policy per (function, part),
# a part being the runbooks of one layer (local.runbook_parts, split by the generator where a
# layer's merged policy would pass 5,544 characters at the longest plausible names), holding the
# runbooks of the part that local.runbook_functions gives the function, and nothing else.
# tests/unit/test_iam_quotas.py renders them and fails past a quota (docs/security.md).
#
# Exceptions, each narrowed another way: EC2/Auto Scaling Describe* and ssm:ListCommandInvocations
# have no resource-level permissions ("*"); the SSM document is AWS's own (exact ARN, no tags); the
# snapshots ec2-isolate creates are new (aws:RequestTag: they must carry selfheal's mark); network
# interfaces and security groups carry no instance tag (ec2-isolate swaps their groups: quarantine
# groups, and the original ones on release): they are limited to the quarantine VPCs (ec2:Vpc).
#
# The roles are the ones `chalice package` generates for the remediator handlers in app.py
# (<handler>_role, renamed <prefix>-<stage>-<handler> by scripts/package.py).

locals {
  remediator_roles = {
    alarm_remediator     = aws_iam_role.alarm_remediator_role
    finding_remediator   = aws_iam_role.finding_remediator_role
    health_remediator    = aws_iam_role.health_remediator_role
    event_remediator     = aws_iam_role.event_remediator_role
    remediation_verifier = aws_iam_role.remediation_verifier_role
  }
  runbook_tag_condition = "aws:ResourceTag/${var.runbook_target_tag.key}"
  # The VPCs whose interfaces ec2-isolate may re-point; with none configured, an ARN no VPC has
  # (the statement then allows nothing, and isolation escalates for want of quarantine groups).
  quarantine_vpc_arns = length(var.quarantine_vpc_ids) > 0 ? [
    for vpc in var.quarantine_vpc_ids : "${local.arn_prefix}:ec2:${local.region}:${local.account_id}:vpc/${vpc}"
  ] : ["${local.arn_prefix}:ec2:${local.region}:${local.account_id}:vpc/no-quarantine-vpc-configured"]

  arn_prefix        = "arn:${local.partition}"
  runbook_functions = merge(local.runbook_default_functions, var.runbook_functions)
  # One customer-managed policy per (function, part) holding the runbooks of the part the function
  # runs (local.runbook_parts: one part per layer, generated so that none can reach AWS's 6,144
  # characters). A role's inline policies are capped at 10,240 characters in total: the runbooks'
  # statements would exceed it; a role holds 10 managed policies, and gets one per part at most.
  runbook_policies = {
    for pair in flatten([
      for function in keys(local.remediator_roles) : [
        for part, members in local.runbook_parts : {
          function = function
          part     = part
          runbooks = [for r in members : r if contains(lookup(local.runbook_functions, r, []), function)]
        }
      ]
    ]) : "${pair.function}-${pair.part}" => pair if length(pair.runbooks) > 0
  }
}

# The runbooks' statements (local.runbook_shapes, runbook_parts) and the verifier's document
# (data.aws_iam_policy_document.runbook_verify) are in runbooks.tf.json, generated from the
# runbooks' declarations. A shape is one statement: the same resources under the same conditions
# (the tag condition among them), with the actions each runbook needs there; a function's policy
# has the shapes its runbooks use, with the union of their actions: exactly what each runbook's
# own statements allow, in fewer characters.
data "aws_iam_policy_document" "runbooks" {
  for_each = local.runbook_policies
  dynamic "statement" {
    for_each = {
      for sid, shape in local.runbook_shapes : sid => shape
      if length(setintersection(keys(shape.actions), each.value.runbooks)) > 0
    }
    content {
      sid       = statement.key
      actions   = sort(distinct(flatten([for r in each.value.runbooks : lookup(statement.value.actions, r, [])])))
      resources = statement.value.resources
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_policy" "runbooks" {
  for_each    = local.runbook_policies
  name        = "${var.name_prefix}-${var.stage}-${each.value.function}-runbooks-${each.value.part}"
  description = "The ${each.value.part} runbooks ${each.value.function} runs (generated: runbooks.tf.json)."
  policy      = data.aws_iam_policy_document.runbooks[each.key].json
}

resource "aws_iam_role_policy_attachment" "runbooks" {
  for_each   = local.runbook_policies
  role       = local.remediator_roles[each.value.function].name
  policy_arn = aws_iam_policy.runbooks[each.key].arn
}

resource "aws_iam_role_policy" "runbook_verify" {
  name   = "${var.name_prefix}-${var.stage}-remediation_verifier-verify"
  role   = aws_iam_role.remediation_verifier_role.id
  policy = data.aws_iam_policy_document.runbook_verify.json
}
