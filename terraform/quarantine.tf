# ec2-isolate's two security groups in each VPC it may act in, found by their tag
# (core/runbooks/ec2_isolate.py). Security groups do not cut tracked connections: an interface is
# first moved to "untrack" (all traffic in and out allowed, so every flow becomes untracked), then to
# "isolate" (no rule at all), which ends them. Without them for a VPC, isolation there escalates.

resource "aws_security_group" "quarantine_untrack" {
  #checkov:skip=CKV_AWS_24: allowing everything is the point: flows through this group become untracked, so the next step cuts them
  #checkov:skip=CKV_AWS_25: as above
  #checkov:skip=CKV_AWS_260: as above
  #checkov:skip=CKV_AWS_277: as above (every port)
  #checkov:skip=CKV_AWS_382: as above (egress too)
  #checkov:skip=CKV2_AWS_5: attached by ec2-isolate at run time, never by Terraform
  for_each    = toset(var.quarantine_vpc_ids)
  name        = "${local.name}-quarantine-untrack"
  description = "selfheal ec2-isolate step 1: all traffic allowed so existing flows become untracked"
  vpc_id      = each.value
  tags        = { "selfheal:quarantine" = "untrack" }

  ingress {
    description = "everything: untracks existing flows"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "everything: untracks existing flows"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "quarantine_isolate" {
  #checkov:skip=CKV2_AWS_5: attached by ec2-isolate at run time, never by Terraform
  for_each    = toset(var.quarantine_vpc_ids)
  name        = "${local.name}-quarantine-isolate"
  description = "selfheal ec2-isolate step 2: no rule at all, the instance reaches nothing"
  vpc_id      = each.value
  tags        = { "selfheal:quarantine" = "isolate" }
  # No ingress and no egress block: Terraform removes the default allow-all egress rule.
  egress = []
}
