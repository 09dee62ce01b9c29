"""Many services, many repositories (issue 14), against the moto server: the catalog from SSM,
log groups routed to their services, one fix branch per service in its own repository."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import boto3
import git
import pytest
import selfheal
from chalice.test import Client
from local_checks import FIX_KEYS
from local_mode import SUMMARY_KEYS, commit_sample_app

from chalicelib import runtime
from chalicelib.adapters.store import to_group, unrouted_key
from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.models import Status
from chalicelib.core.tracebacks import find_in_text
from tests.cli import run_local
from tests.conftest import ROOT
from tests.factories import logs_event, payload
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, bare_repo_of_sample_app, converse_answer
from tests.integration.test_pipeline import deliver, drain_stream
from tests.property.test_services_properties import BEFORE_SERVICES

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration
SAMPLE = ROOT / "scripts" / "sample_app"


def configure(aws, tmp_path: Path, capsys, catalog: dict[str, Any], answers: list[dict], **parameters: str) -> str:
    """The catalog stored through `selfheal configure --services` under a prefix of this test's own,
    a replay model and ``parameters`` beside it; the runtime reads them all from SSM."""
    prefix = f"/t{uuid.uuid4().hex[:10]}/"
    replay = tmp_path / f"answers-{uuid.uuid4().hex[:6]}.json"
    replay.write_text(json.dumps(answers))
    services = tmp_path / "services.json"
    services.write_text(json.dumps(catalog))
    key = boto3.client("kms", endpoint_url=aws.settings.endpoint_url, region_name="us-east-1").create_key()
    capsys.readouterr()
    code = selfheal.main(["configure", "--services", str(services), "--prefix", prefix, "--kms-key-id",
                          key["KeyMetadata"]["KeyId"], "--endpoint-url", aws.settings.endpoint_url])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    for name, value in {"model_id": f"replay:{replay}", **parameters}.items():
        aws.clients.ssm.put_parameter(Name=prefix + name, Value=value, Type="SecureString")
    runtime.use(runtime.Container(settings=replace(aws.settings, parameter_prefix=prefix), clients=aws.clients))
    return prefix


def run_jobs(client: Client, aws) -> None:
    """The stream's records to stream_processor, then every queued job to the fixer."""
    drain_stream(client, aws)
    while (event := aws.sources.queue_event()) is not None:
        response = client.lambda_.invoke("fixer", event).payload
        aws.sources.settle(event, response)


def status(capsys, aws, *options: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    code = selfheal.main(["status", "--json", "--endpoint-url", aws.settings.endpoint_url,
                          "--table", aws.stack.table_name, *options])  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out)["groups"]


def branches(repo: Path) -> list[str]:
    return sorted(h.name for h in git.Repo(repo).heads if h.name.startswith("selfheal/"))


def test_the_same_bug_in_two_services_is_two_groups_and_two_branches_each_in_its_own_repository(
    aws, tmp_path, capsys
) -> None:
    # GIVEN two services running identical code from two repositories
    orders_repo = bare_repo_of_sample_app(tmp_path / "orders")
    billing_repo = bare_repo_of_sample_app(tmp_path / "billing")
    catalog = {"services": [
        {"name": "orders", "log_groups": ["/aws/lambda/orders"], "repo_url": str(orders_repo)},
        {"name": "billing", "log_groups": ["/ecs/billing-*"], "repo_url": str(billing_repo), "labels": ["billing"]},
    ]}  # fmt: skip
    configure(aws, tmp_path, capsys, catalog, [converse_answer([GOOD_EDIT])])
    # WHEN the same traceback arrives from both, deliveries interleaved
    with Client(runtime_app()) as client:
        for log_group in ("/aws/lambda/orders", "/ecs/billing-api", "/aws/lambda/orders", "/ecs/billing-worker"):
            deliver(logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), log_group=log_group)))
        run_jobs(client, aws)
    # THEN two groups, one per service, each fixed on its own branch in its own repository
    groups = {g["service"]: g for g in status(capsys, aws)}
    assert set(groups) == {"orders", "billing"}
    assert groups["orders"]["fingerprint"] != groups["billing"]["fingerprint"]
    assert [g["occurrences"] for g in groups.values()] == [2, 2]
    assert {g["status"] for g in groups.values()} == {Status.PR_OPENED}
    assert branches(orders_repo) == [groups["orders"]["branch"]]
    assert branches(billing_repo) == [groups["billing"]["branch"]]
    assert groups["orders"]["pr_url"].startswith(f"file://{orders_repo}.selfheal-prs/")
    assert groups["billing"]["pr_url"].startswith(f"file://{billing_repo}.selfheal-prs/")
    # AND status filters by service
    assert [g["service"] for g in status(capsys, aws, "--service", "billing")] == ["billing"]
    assert status(capsys, aws, "--service", "default") == []


def runtime_app() -> Any:
    from app import app

    return app


def monorepo(tmp_path: Path) -> Path:
    """A bare monorepo holding the sample app twice: under services/billing/ and services/orders/."""
    sample = commit_sample_app(tmp_path / "sample")
    work = tmp_path / "mono"
    for folder in ("services/billing", "services/orders"):
        shutil.copytree(sample, work / folder, ignore=shutil.ignore_patterns(".git"))
    repo = git.Repo.init(work, initial_branch="main")
    repo.index.add([str(p.relative_to(work)) for p in sorted(work.rglob("*.py"))])
    author = git.Actor("t", "t@t.invalid")
    repo.index.commit("two services in one repository", author=author, committer=author)
    bare = tmp_path / "mono.git"
    git.Repo.clone_from(str(work), str(bare), bare=True)
    return bare


def test_a_monorepo_service_is_fixed_in_its_own_folder(aws, tmp_path, capsys) -> None:
    # GIVEN a service whose code lives under services/billing/ of a monorepo that holds the same
    # files for another service too (so only the folder tells them apart), draft PRs configured
    mono = monorepo(tmp_path)
    catalog = {"services": [{"name": "billing", "log_groups": ["/ecs/billing"], "repo_url": str(mono),
                             "repo_folder": "services/billing", "draft": True}]}  # fmt: skip
    edit = {**GOOD_EDIT, "path": "services/billing/shop/pricing.py"}
    configure(aws, tmp_path, capsys, catalog, [converse_answer([edit], confidence=0.95)])
    # WHEN its deployed trace (/var/task/shop/pricing.py) arrives
    with Client(runtime_app()) as client:
        deliver(logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), log_group="/ecs/billing")))
        run_jobs(client, aws)
    # THEN the fix is on one branch that changes the billing folder's file only, and is a draft
    [group] = runtime.store().scan()
    assert (group.service, group.status) == ("billing", Status.PR_OPENED), group.reason
    repo = git.Repo(mono)
    assert repo.git.diff("main", group.branch, "--name-only").split() == ["services/billing/shop/pricing.py"]
    detail = {"fingerprint": {"S": "~detail~" + group.fingerprint}}  # the attempt's report is in the detail item
    item = aws.clients.dynamodb.get_item(TableName=aws.stack.table_name, Key=detail)
    assert item["Item"]["draft"] == {"BOOL": True}
    assert (
        "services/billing/shop/pricing.py"
        in (mono.parent / "mono.git.selfheal-prs").joinpath(group.branch.replace("/", "-") + ".md").read_text()
    )


def test_a_log_group_of_no_service_is_recorded_counted_and_shown_never_dropped(aws, tmp_path, capsys) -> None:
    # GIVEN a catalog that owns only billing's log group
    catalog = {"services": [{"name": "billing", "log_groups": ["/ecs/billing"], "repo_url": "acme/billing"}]}
    configure(aws, tmp_path, capsys, catalog, [converse_answer([GOOD_EDIT])])
    event = logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), log_group="/aws/lambda/stray"))
    # WHEN a delivery from another log group arrives, is retried, and a second one arrives
    capsys.readouterr()
    first = deliver(event)
    deliver(event)
    deliver(logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), log_group="/aws/lambda/stray")))
    emitted = capsys.readouterr().out
    # THEN it is counted in its own SKIPPED item with the reason (the retry counted once), and in a metric
    assert first["unrouted"] == 1 and first["groups"] == 0
    [item] = [i for i in aws.items() if "status" in i]
    unrouted = to_group(item)
    assert unrouted.fingerprint == unrouted_key("/aws/lambda/stray")
    assert (unrouted.status, unrouted.service, unrouted.occurrences) == (Status.SKIPPED, "", 2)
    assert unrouted.reason.startswith("log group /aws/lambda/stray belongs to no service")
    assert item["deliveries"] == {"N": "2"}
    assert '"UnknownLogGroups"' in emitted
    # AND status lists it, no fix job is made of it, and retry refuses it
    [shown] = status(capsys, aws)
    assert shown["reason"] == unrouted.reason and shown["service"] == ""
    with Client(runtime_app()) as client:
        drain_stream(client, aws)
    assert aws.sources.queue_event() is None
    assert selfheal.main(["retry", unrouted.fingerprint[:14], "--endpoint-url", aws.settings.endpoint_url,
                          "--table", aws.stack.table_name]) == 2  # fmt: skip
    assert "belongs to no service" in capsys.readouterr().err


def test_a_group_stored_before_services_reads_as_default_and_keeps_its_fingerprint(aws, tmp_path, capsys) -> None:
    # GIVEN a group item written before services existed (no service attribute)
    [tb] = find_in_text(NONE_DISCOUNT_TRACE)
    old = fingerprint(tb)
    aws.clients.dynamodb.put_item(
        TableName=aws.stack.table_name,
        Item={"fingerprint": {"S": old}, "status": {"S": Status.PR_OPENED}, "occurrences": {"N": "7"},
              "exception_type": {"S": "AttributeError"}, "attempts": {"N": "1"}, "last_seen": {"N": "1"}},
    )  # fmt: skip
    assert runtime.store().get(old).service == "default"
    # AND a catalog where the default service still owns every other log group
    catalog = {"services": [{"name": "default", "log_groups": ["*"]}, {"name": "billing", "log_groups": ["/b"]}]}
    configure(aws, tmp_path, capsys, catalog, [converse_answer([GOOD_EDIT])])
    # WHEN the same bug occurs again in an old log group
    deliver(logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), log_group="/aws/lambda/shop")))
    # THEN it counts on the same group, which is the default service's
    [group] = runtime.store().scan()
    assert (group.fingerprint, group.occurrences, group.service) == (old, 8, "default")
    assert [g["service"] for g in status(capsys, aws, "--service", "default")] == ["default"]


def test_configure_refuses_an_invalid_catalog_naming_the_entry_and_field(aws, tmp_path, capsys) -> None:
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"services": [{"name": "billing", "log_groups": ["/b"], "min_occurences": 2}]}))
    code = selfheal.main(["configure", "--services", str(services), "--prefix", "/bad-catalog/",
                          "--endpoint-url", aws.settings.endpoint_url])  # fmt: skip
    assert code == 2
    assert "service 'billing': unknown field(s) min_occurences" in capsys.readouterr().err
    with pytest.raises(aws.clients.ssm.exceptions.ParameterNotFound):
        aws.clients.ssm.get_parameter(Name="/bad-catalog/services/catalog")


def test_local_services_runs_several_services_at_once_and_names_each_groups_service(tmp_path) -> None:
    # GIVEN a services file with relative paths: the default service and another, each with its
    # own repository and logs, the sample app's recorded answers
    for name in ("shop", "billing"):
        bare_repo_of_sample_app(tmp_path / name)
    shutil.copy(SAMPLE / "logs" / "app.log", tmp_path / "shop.log")
    shutil.copy(SAMPLE / "logs" / "lambda.jsonl", tmp_path / "billing.log")
    shutil.copy(SAMPLE / "replay.json", tmp_path / "replay.json")
    services = {"services": [
        {"name": "default", "logs": "shop.log", "repo": "shop/sample.git", "model": "replay:replay.json"},
        {"name": "billing", "logs": ["billing.log"], "repo": "billing/sample.git", "model": "replay:replay.json",
         "path_prefixes": ["/var/task/"]},
    ]}  # fmt: skip
    (tmp_path / "services.json").write_text(json.dumps(services))
    # WHEN (from another directory)
    run = run_local("--services", "services.json", "--json", cwd=tmp_path)  # in this process (tests/cli.py)
    # THEN the local --json document, with the service of every group
    assert run.returncode == 0, run.stderr
    groups = json.loads(run.stdout)["groups"]
    assert all(set(g) == {*SUMMARY_KEYS, *FIX_KEYS, "service"} for g in groups)  # FIX_KEYS: CI as the judge
    by_service = {s: [g for g in groups if g["service"] == s] for s in ("default", "billing")}
    assert [len(v) for v in by_service.values()] == [5, 5] and len(groups) == 10
    assert {g["status"] for g in groups} == {Status.PR_OPENED}
    assert {g["fingerprint"] for g in by_service["default"]} == BEFORE_SERVICES
    assert not {g["fingerprint"] for g in by_service["billing"]} & BEFORE_SERVICES
    for name, service in (("shop", "default"), ("billing", "billing")):
        assert branches(tmp_path / name / "sample.git") == sorted(g["branch"] for g in by_service[service])


def test_repository_secrets_are_stored_per_repository_and_used_only_for_it(aws, capsys) -> None:
    from chalicelib.adapters.parameters import load_parameters, service_config
    from chalicelib.core.services import DEFAULT, Service

    # GIVEN a global token, and one stored for billing's repository only
    prefix = f"/t{uuid.uuid4().hex[:10]}/"
    key = boto3.client("kms", endpoint_url=aws.settings.endpoint_url, region_name="us-east-1").create_key()
    options = ["--prefix", prefix, "--kms-key-id", key["KeyMetadata"]["KeyId"], "--endpoint-url",
               aws.settings.endpoint_url]  # fmt: skip
    billing_token, global_token = "ghp_" + "B" * 36, "ghp_" + "G" * 36
    assert selfheal.main(["configure", "--repo-secrets-for", "Acme/Billing", "--github-token", billing_token,
                          *options]) == 0  # fmt: skip
    assert selfheal.main(["configure", "--non-interactive", "--repo-url", "acme/shop", "--model-id", "a.b",
                          "--github-token", global_token, *options]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert billing_token not in out + err and "not a selfheal setting" not in err
    # WHEN each service's configuration is read
    values = load_parameters(aws.clients.ssm, prefix)
    billing = service_config(values, Service("billing", ("/b",), repo_url="acme/billing"))
    # THEN billing's repository uses its token, every other repository the global one
    assert values["repos/github.com/acme/billing/github_token"] == billing_token
    assert (billing.github_token, service_config(values, DEFAULT).github_token) == (billing_token, global_token)
    # AND a malformed secret is refused before anything is stored
    assert selfheal.main(["configure", "--repo-secrets-for", "acme/x", "--github-token", "nope", *options]) == 2


def test_the_catalog_is_read_from_ssm_once_a_minute_and_absent_means_the_default_service(aws) -> None:
    from chalicelib.adapters.service_catalog import CATALOG_SECONDS, ServiceCatalogConfig

    prefix = f"/t{uuid.uuid4().hex[:10]}/"
    now = [0.0]
    config = ServiceCatalogConfig(aws.clients.ssm, prefix, clock=lambda: now[0])
    assert not config.catalog().configured  # absent
    aws.clients.ssm.put_parameter(Name=f"{prefix}services/catalog", Type="SecureString",
                                  Value=json.dumps({"services": [{"name": "b", "log_groups": ["/b"]}]}))  # fmt: skip
    assert not config.catalog().configured  # cached
    now[0] += CATALOG_SECONDS + 1
    assert config.catalog().names == ("b",)


def test_local_services_refuses_a_wrong_services_file_with_one_line(tmp_path) -> None:
    (tmp_path / "services.json").write_text(json.dumps({"services": [{"name": "a", "logs": "missing.log",
                                                                      "repo": "r", "model": "replay:x"}]}))  # fmt: skip
    run = run_local("--services", str(tmp_path / "services.json"))  # in this process (tests/cli.py)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == f"selfheal local: service 'a': logs: no file {tmp_path / 'missing.log'}"


def test_a_services_pull_requests_are_read_in_its_own_repository_with_its_own_token(aws, tmp_path, capsys) -> None:
    # GIVEN the global repository and token, and billing's repository with a token of its own
    catalog = {"services": [{"name": "billing", "log_groups": ["/ecs/billing"], "repo_url": "acme/billing"}]}
    configure(
        aws, tmp_path, capsys, catalog, [],
        repo_url="acme/shop", github_token="ghp_" + "g" * 36,
        **{"repos/github.com/acme/billing/github_token": "ghp_" + "b" * 36},
    )  # fmt: skip
    # WHEN the fate of a group's PR is read (the webhook's commands, the lazy read, the heal checker)
    billing, default, gone = (runtime.github_reads(s) for s in ("billing", "default", "left-the-catalog"))
    # THEN billing's PRs are read in billing's repository with billing's token; the default service
    # (and one the catalog no longer has) with the global ones, as the fixer that opened them did
    assert (billing._name, billing._token) == ("acme/billing", "ghp_" + "b" * 36)
    assert (default._name, default._token) == ("acme/shop", "ghp_" + "g" * 36)
    assert (gone._name, gone._token) == ("acme/shop", "ghp_" + "g" * 36)
