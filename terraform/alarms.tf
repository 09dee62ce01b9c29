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

resource "aws_cloudwatch_metric_alarm" "handler_errors" {
  for_each            = local.functions
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
