resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = {
    fix_dlq       = aws_sqs_queue.fix_dlq.name
    failed_events = aws_sqs_queue.failed_events.name
  }
  alarm_name          = "${local.name}-${each.key}-not-empty"
  alarm_description   = "selfheal work is waiting in ${each.value}: look at it, then redrive or delete"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}

# Alarms that page someone: work that failed for good. Every function but the webhook runs
# asynchronously and ends its failed work in a dead-letter queue or failure destination (the log
# processor's and the rules' invocations in failed_events, the stream mapping's on-failure
# destination, the fix queue's redrive), which the two alarms above watch. The webhook is synchronous
# (GitHub does not redeliver by itself), so its errors alarm. var.function_error_alarms adds one per
# function (each $0.10 a month), for teams that want to hear of errors that a retry then absorbed.
resource "aws_cloudwatch_metric_alarm" "handler_errors" {
  for_each            = var.function_error_alarms ? local.functions : { api_handler = local.functions.api_handler }
  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.key} reported errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
