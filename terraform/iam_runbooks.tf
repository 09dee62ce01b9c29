# Least privilege for the runbooks: one policy document per runbook whose actions are exactly the
# calls its code makes (core/runbooks/<name>.py: reads, plan, follow-up, release, and the read of
# its target's fleet size — tests/unit/test_iam_runbooks.py checks the two sets are equal). The
# documents are generated from each runbook's declared permissions (RUNBOOK = Runbook(...,
# permissions=[Grant(...)])) into runbooks.tf.json by `selfheal.py package`, with the list of
# runbook names (local.runbook_names) and the handlers that run each one by default. Every mutating
# action on the resource a runbook repairs is allowed only when that resource carries the tag
# var.runbook_target_tag (aws:ResourceTag condition): selfheal changes nothing an operator did not opt in.
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
  runbook_attachments = {
    for pair in flatten([
      for runbook, functions in local.runbook_functions : [for f in functions : { runbook = runbook, function = f }]
    ]) : "${pair.function}-${pair.runbook}" => pair
  }
}

# The policy documents (data.aws_iam_policy_document.runbook_<name>, runbook_verify) are in
# runbooks.tf.json, generated from the runbooks' declarations.

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
