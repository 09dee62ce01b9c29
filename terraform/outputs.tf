output "error_groups_table_name" {
  description = "DynamoDB table of error groups (SELFHEAL_TABLE_NAME for the status and retry commands)."
  value       = aws_dynamodb_table.error_groups.name
}

output "error_groups_stream_arn" {
  description = "Stream of the error-group table, feeding the stream processor."
  value       = aws_dynamodb_table.error_groups.stream_arn
}

output "fix_queue_url" {
  description = "SQS queue of fix jobs."
  value       = aws_sqs_queue.fix_queue.url
}

output "fix_dlq_url" {
  description = "Dead-letter queue of fix jobs that used their attempts."
  value       = aws_sqs_queue.fix_dlq.url
}

output "failed_events_queue_url" {
  description = "Log batches and stream records that could not be processed."
  value       = aws_sqs_queue.failed_events.url
}

output "kms_key_arn" {
  description = "The project's KMS key (null with kms_key = \"aws-managed\": there is none)."
  value       = local.kms_key_arn
}

output "kms_key" {
  description = "Which keys encrypt selfheal's data: var.kms_key."
  value       = var.kms_key
}

output "parameter_key_id" {
  description = "The key `selfheal.py configure --kms-key-id` writes SecureString parameters with: the project's key, or alias/aws/ssm."
  value       = local.parameter_key_id
}

output "log_processor_function_arn" {
  description = "Destination of the subscription filters."
  value       = aws_lambda_function.log_processor.arn
}

output "notification_topic_arn" {
  description = "SNS topic of actions, escalations, approval requests and fix outcomes (subscribe AWS Chatbot here)."
  value       = aws_sns_topic.notifications.arn
}

output "governor_table_name" {
  description = "The runbooks' governor table: decisions, cooldowns, budgets, approvals and the audit trail."
  value       = aws_dynamodb_table.governor.name
}

output "kill_switch_parameter" {
  description = "SSM parameter of the kill switch (`selfheal.py kill-switch on|off`)."
  value       = aws_ssm_parameter.kill_switch.name
}
