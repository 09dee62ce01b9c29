resource "aws_dynamodb_table" "error_groups" {
  name         = "${local.name}-error-groups"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "fingerprint"

  attribute {
    name = "fingerprint"
    type = "S"
  }

  # Groups SKIPPED for fix budget carry budget_wait (always "budget") and budget_since: the hourly
  # budget_sweeper reads them oldest first from this sparse index (no scan of the table).
  attribute {
    name = "budget_wait"
    type = "S"
  }

  attribute {
    name = "budget_since"
    type = "N"
  }

  global_secondary_index {
    name            = "budget_wait"
    hash_key        = "budget_wait"
    range_key       = "budget_since"
    projection_type = "KEYS_ONLY"
  }

  # The stream turns new and re-opened groups into fix jobs (filter criteria in the package step).
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn # null: the AWS managed key aws/dynamodb
  }

  deletion_protection_enabled = false
}
