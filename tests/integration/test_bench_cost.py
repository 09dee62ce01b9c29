"""The cost benchmark's quick mode runs the real handlers on moto and prints every priced line."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SERVICES = {"DynamoDB": 17.08, "CloudWatch": 8.77, "Lambda": 2.43, "SQS": 0.01, "Bedrock": 32.00}


def test_quick_cost_bench_prints_every_line_with_measured_numbers_beside_the_guidance() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_cost.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout

    for service, guidance in SERVICES.items():
        row = re.search(rf"^{service}\s+([0-9.]+)\s+([0-9.]+)$", out, re.MULTILINE)
        assert row, f"no {service} row in:\n{out}"
        assert float(row.group(1)) > 0, f"{service} priced at zero"
        assert float(row.group(2)) == guidance
    other = re.search(r"^Other\s+([0-9.]+)\s+-$", out, re.MULTILINE)
    assert other and float(other.group(1)) > 0
    total = re.search(r"^TOTAL\s+([0-9.]+)\s+60\.29", out, re.MULTILINE)
    assert total and float(total.group(1)) > 0

    # What was measured, not assumed: requests by operation, handler time, log bytes, tokens.
    assert re.search(r"log_processor\s+per invocation: dynamodb\.UpdateItem [1-9]", out)
    assert re.search(r"fixer\s+per invocation: .*ssm\.GetParametersByPath 1\.00", out)
    assert re.search(r"log_processor: [\d,]+ invocations × [1-9]\d* ms at 0\.5 GB", out)
    assert re.search(r"logs ingested: log_processor [1-9][\d,]* B/inv\.", out)
    assert re.search(r"fixes × [1-9][\d,]* tokens in \+ [1-9][\d,]* out", out)
    # Counts of routine traffic are logged, not billed metrics, by default (var.routine_metrics).
    assert re.search(r"custom metrics \(EMF, dimension service\): 0 — none", out)
    # The AWS part beside the guidance's, and the floor of a deployment that sees no error.
    aws = re.search(r"^AWS\s+([0-9.]+)\s+28\.29", out, re.MULTILINE)
    assert aws and 0 < float(aws.group(1)) < float(total.group(1))
    floor = re.search(r"^idle floor: ([0-9.]+) a month .*KMS key 1\.00, alarms \(3\) 0\.30", out, re.MULTILINE)
    assert floor and float(floor.group(1)) >= 1.3, out
    # Both values of var.kms_key: without a key of the project the AWS part and the floor lose its $1
    # and keep only the (estimated) requests to the AWS managed keys.
    managed = re.search(r'^AWS\s+([0-9.]+)\s+\(kms_key = "aws-managed": key 0\.00, [\d,]+ requests', out, re.MULTILINE)
    assert managed and 0.9 <= float(aws.group(1)) - float(managed.group(1)) <= 1.2, out
    assert re.search(r"KMS requests, estimated \(DynamoDB table keys [\d,]+", out)
    floor_managed = re.search(r'^idle floor with kms_key = "aws-managed": ([0-9.]+)', out, re.MULTILINE)
    assert floor_managed and abs(float(floor.group(1)) - 1.00 - float(floor_managed.group(1))) < 0.011
    assert re.search(r"remediation_verifier \(schedule, 8,640 runs a month\): [1-9]\d* ms", out)
    assert re.search(r"delivery sizes \(events\): mean [1-9]", out)
    fix = re.search(
        r"GitHub API mode, ([\d,]+)-file repository .*one fix end to end ([0-9.]+) s .*?(\d+) GitHub requests", out
    )
    assert fix and float(fix.group(2)) > 0 and int(fix.group(3)) > 0, out
