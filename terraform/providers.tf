locals {
  # With endpoint_url set (a local moto server), every service is reached there with fake keys.
  local_endpoint = var.endpoint_url != ""
}

provider "aws" {
  region = var.region

  access_key                  = local.local_endpoint ? "local" : null
  secret_key                  = local.local_endpoint ? "local" : null
  skip_credentials_validation = local.local_endpoint
  skip_requesting_account_id  = local.local_endpoint
  skip_metadata_api_check     = local.local_endpoint

  dynamic "endpoints" {
    for_each = local.local_endpoint ? [1] : []
    content {
      apigateway = var.endpoint_url
      cloudwatch = var.endpoint_url
      logs       = var.endpoint_url
      dynamodb   = var.endpoint_url
      ec2        = var.endpoint_url
      events     = var.endpoint_url
      sns        = var.endpoint_url
      iam        = var.endpoint_url
      kms        = var.endpoint_url
      lambda     = var.endpoint_url
      sqs        = var.endpoint_url
      ssm        = var.endpoint_url
      sts        = var.endpoint_url
    }
  }

  default_tags {
    tags = local.tags
  }
}
