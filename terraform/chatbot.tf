# Chat channels for the notification topic, through AWS Chatbot (Amazon Q Developer in chat
# applications). selfheal publishes every notice as Chatbot's custom-notification document (the SNS
# message's default part, core/notices.py Notice.chatbot), so a Slack or Teams channel is a
# subscription of the topic and needs no code: list channels in var.chatbot_slack_channels /
# var.chatbot_teams_channels (the workspace or team is authorised once in the Chatbot console).
#
# The topic's encryption (aws/sns or the project's key) does not stop Chatbot: SNS decrypts before
# delivering to a subscriber; the functions publish with their own role (notify in iam.tf).
#
# Least privilege: the channels only receive. Their role has no policy, so nothing is done with it,
# and the guardrail (var.chatbot_guardrail_policies, AWSDenyAll by default) caps what any member may
# do through the channel, with the role or with their own (user_authorization_required).

locals {
  chatbot_slack_channels = { for c in var.chatbot_slack_channels : "${c.workspace_id}-${c.channel_id}" => c }
  chatbot_teams_channels = { for i, c in var.chatbot_teams_channels : tostring(i) => c }
  chatbot                = length(local.chatbot_slack_channels) + length(local.chatbot_teams_channels) > 0
  chatbot_guardrails     = [for p in var.chatbot_guardrail_policies : "arn:${local.partition}:iam::aws:policy/${p}"]
}

data "aws_iam_policy_document" "chatbot_assume" {
  statement {
    sid     = "ChatbotAssumesTheChannelRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }
  }
}

# No policy is attached: a channel that only receives needs none.
resource "aws_iam_role" "chatbot" {
  count              = local.chatbot ? 1 : 0
  name               = "${local.name}-${var.stage}-chatbot"
  description        = "selfheal: the chat channels' role (notifications only; no permissions)"
  assume_role_policy = data.aws_iam_policy_document.chatbot_assume.json
}

resource "aws_chatbot_slack_channel_configuration" "notifications" {
  for_each                    = local.chatbot_slack_channels
  configuration_name          = "${local.name}-${var.stage}-${each.key}"
  slack_team_id               = each.value.workspace_id
  slack_channel_id            = each.value.channel_id
  iam_role_arn                = aws_iam_role.chatbot[0].arn
  guardrail_policy_arns       = local.chatbot_guardrails
  sns_topic_arns              = [aws_sns_topic.notifications.arn]
  user_authorization_required = true
  logging_level               = "ERROR"
}

resource "aws_chatbot_teams_channel_configuration" "notifications" {
  for_each                    = local.chatbot_teams_channels
  configuration_name          = "${local.name}-${var.stage}-teams-${each.key}"
  tenant_id                   = each.value.tenant_id
  team_id                     = each.value.team_id
  channel_id                  = each.value.channel_id
  iam_role_arn                = aws_iam_role.chatbot[0].arn
  guardrail_policy_arns       = local.chatbot_guardrails
  sns_topic_arns              = [aws_sns_topic.notifications.arn]
  user_authorization_required = true
  logging_level               = "ERROR"
}
