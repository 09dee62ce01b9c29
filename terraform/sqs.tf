resource "aws_sqs_queue" "fix_dlq" {
  name                      = "${local.name}-fix-jobs-dlq"
  kms_master_key_id         = local.kms_key_arn
  sqs_managed_sse_enabled   = local.sqs_managed_sse
  message_retention_seconds = 1209600 # 14 days: time to look at what failed
}

resource "aws_sqs_queue" "fix_queue" {
  name                    = "${local.name}-fix-jobs"
  kms_master_key_id       = local.kms_key_arn
  sqs_managed_sse_enabled = local.sqs_managed_sse
  # More than the fixer's 600 s timeout, so a job is never handed out twice while it runs, and
  # more than the fix lease (var.fix_lease_seconds) by a margin, so the delivery after a fixer
  # died (timeout, OOM) finds the lease expired and reclaims the group.
  visibility_timeout_seconds = var.fix_queue_visibility_seconds
  message_retention_seconds  = 345600
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.fix_dlq.arn
    maxReceiveCount     = var.max_attempts
  })
}

# Records the stream processor could not handle after its retries, and log batches the log
# processor could not take: kept, never dropped.
resource "aws_sqs_queue" "failed_events" {
  name                      = "${local.name}-failed-events"
  kms_master_key_id         = local.kms_key_arn
  sqs_managed_sse_enabled   = local.sqs_managed_sse
  message_retention_seconds = 1209600
}
