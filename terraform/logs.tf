# The functions' own logs (written by hand: Chalice's log_retention_in_days breaks its Terraform output).
resource "aws_cloudwatch_log_group" "functions" {
  for_each          = local.functions
  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

# One subscription filter per watched application log group (var.log_group_names, or every log
# group of the service catalog: services.tf), each allowed to invoke the log processor from that
# log group only. Keyed by log group name either way, so moving log groups into a catalog keeps
# their filters.
resource "aws_lambda_permission" "logs" {
  for_each       = toset(local.watched_log_groups)
  statement_id   = "logs-${substr(sha256(each.value), 0, 16)}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.log_processor.function_name
  principal      = "logs.${local.region}.amazonaws.com"
  source_arn     = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${each.value}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "app" {
  for_each        = toset(local.watched_log_groups)
  name            = "${local.name}-tracebacks"
  log_group_name  = each.value
  filter_pattern  = var.filter_pattern
  destination_arn = aws_lambda_function.log_processor.arn
  depends_on      = [aws_lambda_permission.logs]
}

# A log batch the log processor fails on (after Lambda's two retries) is kept in failed_events.
resource "aws_lambda_function_event_invoke_config" "log_processor" {
  function_name                = aws_lambda_function.log_processor.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed_events.arn
    }
  }
}
