"""After a deploy, `configure` is told the key the deployment writes SecureString parameters with:
terraform output parameter_key_id (the project's key, or alias/aws/ssm with kms_key = "aws-managed")."""

from __future__ import annotations

from selfheal import next_steps


def test_next_steps_name_the_aws_managed_parameter_key_when_the_deployment_has_no_key_of_its_own() -> None:
    text = next_steps({"kms_key_arn": None, "parameter_key_id": "alias/aws/ssm", "kms_key": "aws-managed"}, "us-east-1")
    assert "configure --region us-east-1 --kms-key-id alias/aws/ssm" in text
    assert "None" not in text


def test_next_steps_name_the_projects_key_by_default() -> None:
    arn = "arn:aws:kms:us-east-1:1:key/k"
    text = next_steps({"kms_key_arn": arn, "parameter_key_id": arn, "kms_key": "customer-managed"}, "us-east-1")
    assert f"--kms-key-id {arn}" in text
