# The GitHub webhook (issue 12): API Gateway REST API → the api_handler function (POST
# /github/webhook, its only route). The API, its deployment and the Lambda permission come from
# the generated chalice.tf.json (scripts/package.py rewrites them: regional, OpenAPI 3.0 body,
# permission scoped to this stage, method and path); the stage, its throttling and access logs are
# here; the webhook function's grants (the secret, the table) are concerns in iam.tf.

locals {
  api_stage = var.stage
  # One line per request; no body, no header: a delivery's payload is the repository's business.
  api_access_log_format = jsonencode({
    requestId        = "$context.requestId"
    extendedId       = "$context.extendedRequestId"
    requestTime      = "$context.requestTime"
    ip               = "$context.identity.sourceIp"
    userAgent        = "$context.identity.userAgent"
    httpMethod       = "$context.httpMethod"
    resourcePath     = "$context.resourcePath"
    status           = "$context.status"
    responseLength   = "$context.responseLength"
    latencyMs        = "$context.responseLatency"
    integrationMs    = "$context.integration.latency"
    integrationError = "$context.integration.error"
    error            = "$context.error.message"
    throttled        = "$context.error.responseType"
  })
}

# --- access and execution logs: encrypted with the project's key, kept var.log_retention_days ------

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.name}-${var.stage}-webhook-access"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

# API Gateway writes error-level execution logs here (method settings below); created first so it
# is encrypted and expires, instead of the never-expiring group API Gateway would create.
resource "aws_cloudwatch_log_group" "api_execution" {
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.rest_api.id}/${local.api_stage}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

# --- the stage: throttling, access logs, tracing -------------------------------------------------

resource "aws_api_gateway_stage" "webhook" {
  #checkov:skip=CKV_AWS_120: a webhook is POST deliveries, each one different: a cache would answer a new delivery with an old response
  #checkov:skip=CKV2_AWS_29: every request is authenticated by its HMAC signature before anything happens, and throttled; a WAF adds a monthly cost for no narrower door
  #checkov:skip=CKV2_AWS_51: GitHub does not present client certificates; deliveries are authenticated by their signature
  rest_api_id          = aws_api_gateway_rest_api.rest_api.id
  deployment_id        = aws_api_gateway_deployment.rest_api.id
  stage_name           = local.api_stage
  description          = "selfheal GitHub webhook"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format          = local.api_access_log_format
  }

  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.api_execution]
}

resource "aws_api_gateway_method_settings" "webhook" {
  #checkov:skip=CKV_AWS_225: no cache on purpose (see the stage)
  rest_api_id = aws_api_gateway_rest_api.rest_api.id
  stage_name  = aws_api_gateway_stage.webhook.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.webhook_rate_limit
    throttling_burst_limit = var.webhook_burst_limit
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false # never log delivery bodies
    caching_enabled        = false
  }
}

# --- the region's logging role for API Gateway (account setting) ---------------------------------

data "aws_iam_policy_document" "api_gateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "api_gateway_logs" {
  count              = var.api_gateway_account_logging_role ? 1 : 0
  name               = "${local.name}-${var.stage}-apigateway-logs"
  assume_role_policy = data.aws_iam_policy_document.api_gateway_assume.json
}

# What AWS's AmazonAPIGatewayPushToCloudWatchLogs allows, narrowed to this API's two log groups
# (Terraform creates them, so no logs:CreateLogGroup).
data "aws_iam_policy_document" "api_gateway_logs" {
  statement {
    sid     = "WriteTheWebhookLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"]
    resources = [
      "${aws_cloudwatch_log_group.api_access.arn}:*",
      "${aws_cloudwatch_log_group.api_execution.arn}:*",
    ]
  }
  statement {
    sid       = "FindThem"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "api_gateway_logs" {
  count  = var.api_gateway_account_logging_role ? 1 : 0
  name   = "${local.name}-${var.stage}-apigateway-logs"
  role   = aws_iam_role.api_gateway_logs[0].id
  policy = data.aws_iam_policy_document.api_gateway_logs.json
}

resource "aws_api_gateway_account" "this" {
  count               = var.api_gateway_account_logging_role ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.api_gateway_logs[0].arn
  # On destroy, leave the account without a logging role rather than with a deleted one (provider 6
  # always does; in 5.x the attribute is marked deprecated for that reason). Not on a local endpoint:
  # moto answers the reset (a replace without a value) with a 500, which the provider retries.
  reset_on_delete = !local.local_endpoint
  depends_on      = [aws_iam_role_policy.api_gateway_logs]
}

output "webhook_url" {
  description = "GitHub webhook Payload URL (repository or organisation Settings → Webhooks; content type application/json)."
  value       = "${aws_api_gateway_stage.webhook.invoke_url}/github/webhook"
}

output "webhook_secret_parameter" {
  description = "SSM SecureString holding the webhook secret (`selfheal.py configure --generate-webhook-secret` writes it)."
  value       = "${var.parameter_prefix}webhook_secret"
}
