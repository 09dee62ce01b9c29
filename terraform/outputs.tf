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
  description = "The project's KMS key: the configure script encrypts the SSM parameters with it."
  value       = aws_kms_key.this.arn
}

output "log_processor_function_arn" {
  description = "Destination of the subscription filters."
  value       = aws_lambda_function.log_processor.arn
}
