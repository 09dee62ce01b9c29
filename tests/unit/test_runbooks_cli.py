"""`selfheal runbooks plan --json`: the contract, checked from outside (subprocess) over every fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.cli import run_cli, run_script
from tests.conftest import EVENTS, ROOT

SCRIPT = ROOT / "scripts" / "selfheal.py"
I1, I2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
# fixture → (runbook, target, decision, mutating operations in order)
EXPECTED = {
    "alarm_composite": (None, None, "escalate", []),
    "alarm_cwagent_disk": ("disk-cleanup", I1, "act", ["ssm.send_command"]),
    "alarm_ec2_cpu": ("ec2-reboot", I1, "act", ["ec2.reboot_instances"]),
    "alarm_ec2_cpu_ok": ("ec2-reboot", I1, "ignore", []),
    "alarm_ecs_memory": ("ecs-redeploy", "prod/orders-api", "act", ["ecs.update_service"]),
    "alarm_lambda_errors_alias": ("lambda-rollback", "orders:live", "act", ["lambda.update_alias"]),
    "alarm_lambda_errors_alias_ok": ("lambda-rollback", "orders:live", "ignore", []),
    "alarm_metric_math_one_instance": ("ec2-reboot", I1, "act", ["ec2.reboot_instances"]),
    "alarm_metric_math_idle_inverted": (None, None, "ignore", []),  # `100 - m1`: which side is not known
    "alarm_metric_math_two_instances": ("ec2-reboot", None, "escalate", []),
    "alarm_system_linux_disk": ("disk-cleanup", I2, "act", ["ssm.send_command"]),
    "guardduty_archived": (None, None, "ignore", []),
    "guardduty_cc_activity_b": (
        "ec2-isolate",
        I1,
        "awaiting_approval",
        ["autoscaling.detach_instances", "ec2.modify_instance_attribute", "ec2.create_snapshots", "ec2.create_tags"]
        + ["ec2.modify_network_interface_attribute"] * 4,
    ),
    "guardduty_cc_activity_b_dns": (
        "ec2-isolate",
        I1,
        "awaiting_approval",
        ["autoscaling.detach_instances", "ec2.modify_instance_attribute", "ec2.create_snapshots", "ec2.create_tags"]
        + ["ec2.modify_network_interface_attribute"] * 4,
    ),
    "guardduty_cc_activity_b_republished": (
        "ec2-isolate",
        I1,
        "awaiting_approval",
        ["autoscaling.detach_instances", "ec2.modify_instance_attribute", "ec2.create_snapshots", "ec2.create_tags"]
        + ["ec2.modify_network_interface_attribute"] * 4,
    ),
    "guardduty_low_severity": (None, None, "ignore", []),
    "guardduty_own_principal": (None, None, "ignore", []),
    "guardduty_sample": (None, None, "ignore", []),
    "health_instance_retirement": ("ec2-retire", I2, "act", ["ec2.stop_instances", "ec2.start_instances"]),
    "health_instance_retirement_closed": ("ec2-retire", I2, "ignore", []),
    # the meaning of a signal decides (tests/unit/test_runbook_meaning.py holds why, per fixture)
    "alarm_cwagent_disk_data_volume": (None, None, "ignore", []),
    "alarm_cwagent_disk_root_by_device": ("disk-cleanup", I1, "act", ["ssm.send_command"]),
    "alarm_ec2_cpu_above_50": (None, None, "ignore", []),
    "alarm_ec2_cpu_anomaly_above": ("ec2-reboot", I1, "act", ["ec2.reboot_instances"]),
    "alarm_ec2_cpu_anomaly_above_low_band": (None, None, "ignore", []),
    "alarm_ec2_cpu_anomaly_below": (None, None, "ignore", []),
    # no --account/--region given: the offline planner cannot tell the event is another account's
    "alarm_ec2_cpu_foreign_account": ("ec2-reboot", I1, "act", ["ec2.reboot_instances"]),
    "alarm_ec2_cpu_high_sustained": ("ec2-reboot", I1, "act", ["ec2.reboot_instances"]),
    "alarm_ec2_cpu_low_idle": (None, None, "ignore", []),
    "alarm_ec2_cpu_missing_data": (None, None, "ignore", []),
    "alarm_ec2_cpu_set_alarm_state": (None, None, "ignore", []),
    "alarm_ec2_cpu_spike_one_minute": (None, None, "ignore", []),
    "alarm_ecs_cluster_memory": (None, None, "ignore", []),
    "alarm_lambda_errors_canary_alias": ("lambda-rollback", "orders:canary", "act", ["lambda.update_alias"]),
    "alarm_lambda_errors_unaliased": (None, None, "ignore", []),
    "alarm_lambda_errors_version": (None, None, "ignore", []),
    "alarm_system_linux_disk_data_volume": (None, None, "ignore", []),
    "guardduty_sample_flag_text": (None, None, "ignore", []),
    "guardduty_sample_value_form": (None, None, "ignore", []),
    "health_instance_stop": ("ec2-retire", I2, "act", ["ec2.stop_instances", "ec2.start_instances"]),
    "health_persistent_retirement": ("ec2-retire", I2, "act", ["ec2.stop_instances", "ec2.start_instances"]),
    "health_reboot_flexible_maintenance": (None, None, "ignore", []),
    "health_reboot_maintenance": (None, None, "ignore", []),
    "health_retirement_past_deadline": ("ec2-retire", None, "escalate", []),
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """In this process (tests/cli.py); the every-fixture test runs the script in its own."""
    return run_cli("runbooks", *args, env=env)


def plan_json(*files: str, extra: tuple[str, ...] = ()) -> list[dict]:
    done = run("plan", *files, *extra, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["decisions"]


def test_every_fixture_gets_its_decision_in_the_contract_shape() -> None:
    # GIVEN every fixture, in one run, with no AWS reachable (a dead endpoint and no credentials)
    files = sorted(str(p) for p in EVENTS.glob("*.json"))
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    done = run_script("runbooks", "plan", *files, "--json", env=env)  # the command group's one real process
    # THEN one decision per file, in order, each exactly the contract's keys
    assert done.returncode == 0, done.stderr
    decisions = json.loads(done.stdout)["decisions"]
    assert [d["source"] for d in decisions] == [f"{f}:0" for f in files]
    got = {}
    for d in decisions:
        # the contract's keys, and its extension: whether a person is told about an ignore
        assert set(d) == {"source", "runbook", "target", "decision", "reason", "calls", "notify"}
        assert d["decision"] in {"act", "awaiting_approval", "escalate", "ignore"} and d["reason"]
        assert all(set(c) == {"service", "operation", "params"} for c in d["calls"])
        name = d["source"].rsplit("/", 1)[1].removesuffix(".json:0")
        got[name] = (d["runbook"], d["target"], d["decision"], [f"{c['service']}.{c['operation']}" for c in d["calls"]])
    assert got == EXPECTED


def test_escalate_and_ignore_carry_no_calls_and_say_why() -> None:
    decisions = plan_json(
        *(
            str(EVENTS / f"{n}.json")
            for n in (
                "alarm_metric_math_two_instances",
                "alarm_composite",
                "guardduty_sample",
                "guardduty_archived",
                "guardduty_low_severity",
                "guardduty_own_principal",
            )
        )
    )
    reasons = [d["reason"] for d in decisions]
    assert all(d["calls"] == [] for d in decisions)
    assert "2 resources" in reasons[0] and "composite" in reasons[1] and "sample" in reasons[2]
    assert "archived" in reasons[3] and "severity 2 is below 7" in reasons[4]
    assert "selfheal" in reasons[5]


def test_a_finding_whose_instance_carries_selfheals_tag_is_still_decided(tmp_path) -> None:
    # A workload can tag its own instance: without the governor's record of selfheal acting on it
    # (none in an empty state), the tag does not make the finding selfheal's own doing.
    raw = json.loads((EVENTS / "guardduty_cc_activity_b_dns.json").read_text())
    raw["detail"]["resource"]["instanceDetails"]["tags"].append({"key": "selfheal:action", "value": "ec2-isolate"})
    (tmp_path / "marked.json").write_text(json.dumps(raw))
    (d,) = plan_json(str(tmp_path / "marked.json"))
    assert (d["runbook"], d["decision"]) == ("ec2-isolate", "awaiting_approval")
    assert d["calls"]


def test_values_only_a_read_could_tell_are_null() -> None:
    rollback, isolate = plan_json(
        str(EVENTS / "alarm_lambda_errors_alias.json"), str(EVENTS / "guardduty_cc_activity_b.json")
    )
    assert rollback["calls"][0]["params"]["FunctionVersion"] is None
    swaps = [c["params"] for c in isolate["calls"] if c["operation"] == "modify_network_interface_attribute"]
    assert [s["NetworkInterfaceId"] for s in swaps] == ["eni-0aa11bb22cc33dd01", "eni-0aa11bb22cc33dd02"] * 2
    assert all(s["Groups"] == [None] for s in swaps)


def test_a_file_holding_a_list_gives_one_decision_per_event(tmp_path) -> None:
    events = [json.loads((EVENTS / f"{n}.json").read_text()) for n in ("alarm_ec2_cpu", "alarm_ec2_cpu_ok")]
    events.append({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}})
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(events))
    decisions = plan_json(str(path))
    assert [(d["source"], d["decision"]) for d in decisions] == [
        (f"{path}:0", "act"),
        (f"{path}:1", "ignore"),
        (f"{path}:2", "ignore"),
    ]
    assert decisions[2]["runbook"] is None and "not an event selfheal handles" in decisions[2]["reason"]


def test_a_custom_catalog_is_used_and_everything_in_it_is_taken_as_enabled(tmp_path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "runbooks": [
                    {
                        "name": "web-disk",
                        "action": "disk-cleanup",
                        "dry_run": True,
                        "approval": False,
                        "triggers": [{"source": "alarm", "namespace": "CWAgent", "metric": "disk_used_percent"}],
                        "params": {"commands": ["echo hi"]},
                    }
                ]
            }
        )
    )
    (d,) = plan_json(str(EVENTS / "alarm_cwagent_disk.json"), extra=("--catalog", str(catalog)))
    assert (d["runbook"], d["decision"]) == ("web-disk", "act")
    assert d["calls"][0]["params"]["Parameters"]["commands"] == ["echo hi"]


def test_a_bad_catalog_or_event_file_exits_2_with_a_message(tmp_path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"runbooks": [{"name": "x", "triggers": []}]}))
    bad = run("plan", str(EVENTS / "alarm_ec2_cpu.json"), "--catalog", str(catalog), "--json")
    assert bad.returncode == 2 and "runbook catalog runbooks[0] (x).action: unknown runbook 'x'" in bad.stderr
    (tmp_path / "e.json").write_text("{nope")
    broken = run("plan", str(tmp_path / "e.json"), "--json")
    assert broken.returncode == 2 and "not a JSON event file" in broken.stderr and broken.stdout == ""


def test_planning_loads_no_aws_sdk() -> None:
    code = (
        "import sys; sys.path[:0] = ['scripts', 'chalice_app']; import runbooks_cli, pathlib;"
        "runbooks_cli.decisions(sorted(pathlib.Path('tests/events').glob('*.json')), "
        "runbooks_cli.default_catalog());"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_catalog_command_prints_a_catalog_that_plan_accepts(tmp_path) -> None:
    done = run("catalog")
    assert done.returncode == 0
    (tmp_path / "c.json").write_text(done.stdout)
    (d,) = plan_json(str(EVENTS / "alarm_ec2_cpu.json"), extra=("--catalog", str(tmp_path / "c.json")))
    assert d["decision"] == "act"
