"""The service catalog (core/services.py): validation, routing, repository keys and folders; the
per-service fix configuration (adapters/parameters.py) and the monorepo view (usecases/service_fixers.py)."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.adapters.parameters import service_config
from chalicelib.core.models import ErrorGroup, FixOutcome, Status
from chalicelib.core.notices import burst_notice, fix_notice
from chalicelib.core.services import DEFAULT, Service, ServiceCatalog, parse_service, repo_key
from chalicelib.errors import ConfigError, FixRejected
from chalicelib.usecases.service_fixers import FolderView, ServiceFixers


def catalog(*entries: dict) -> ServiceCatalog:
    return ServiceCatalog.parse(json.dumps({"services": list(entries)}))


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "billing", "log_groups": ["/a"], "repo": "x"}, "service 'billing': unknown field(s) repo"),
        ({"name": "Billing", "log_groups": ["/a"]}, "service 'Billing': name must match"),
        ({"name": "billing"}, "service 'billing': log_groups is required"),
        ({"name": "billing", "log_groups": []}, "service 'billing': log_groups must name at least one"),
        ({"name": "billing", "log_groups": ["/a*b"]}, "service 'billing': log_groups entry '/a*b'"),
        ({"name": "billing", "log_groups": ["/a b"]}, "service 'billing': log_groups entry '/a b'"),
        ({"name": "billing", "log_groups": ["/a"], "min_occurrences": 0}, "service 'billing': min_occurrences"),
        ({"name": "billing", "log_groups": ["/a"], "draft": "yes"}, "service 'billing': draft must be true or false"),
        ({"name": "billing", "log_groups": ["/a"], "repo_folder": "../x"}, "service 'billing': repo_folder"),
        ({"name": "billing", "log_groups": ["/a"], "repo_url": "https://u:p@h.io/a/b"}, "service 'billing': repo_url"),
        ({"name": "billing", "log_groups": ["/a"], "reviewers": ["not a login"]}, "service 'billing': reviewers"),
        ({"name": "billing", "log_groups": ["/a"], "fixes_per_day": -1}, "service 'billing': fixes_per_day"),
        ({"log_groups": ["/a"]}, "service #1: name must match"),
    ],
)
def test_an_invalid_entry_is_refused_naming_the_entry_and_the_field(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        catalog(entry)


def test_names_and_log_groups_are_unique_across_services() -> None:
    with pytest.raises(ConfigError, match="service 'a': name used twice"):
        catalog({"name": "a", "log_groups": ["/x"]}, {"name": "a", "log_groups": ["/y"]})
    with pytest.raises(ConfigError, match="service 'b': log_groups entry '/ecs/\\*' is also service 'a'"):
        catalog({"name": "a", "log_groups": ["/ecs/*"]}, {"name": "b", "log_groups": ["/ecs/*"]})


def test_unknown_top_level_fields_and_non_json_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown field"):
        ServiceCatalog.parse('{"services": [], "extra": 1}')
    with pytest.raises(ConfigError, match="not JSON"):
        ServiceCatalog.parse("{")


def test_null_fields_are_absent_as_terraform_writes_optional_ones() -> None:
    # GIVEN an entry as Terraform's jsonencode writes optional() attributes left unset
    entry = {"name": "billing", "log_groups": ["/aws/lambda/billing"], "repo_url": None, "repo_folder": None,
             "path_prefixes": None, "labels": None, "reviewers": None, "model": None, "min_occurrences": None,
             "draft": None, "fixes_per_hour": None, "fixes_per_day": None, "tokens_per_day": None}  # fmt: skip
    # THEN every one of them means "the global value" or "none"
    assert parse_service(entry) == Service("billing", ("/aws/lambda/billing",))


def test_absent_empty_or_missing_catalog_is_the_default_service_owning_everything() -> None:
    for text in (None, "", '{"services": []}', "[]"):
        parsed = ServiceCatalog.parse(text)
        assert parsed.services == (DEFAULT,) and not parsed.configured
        assert parsed.route("/any/log/group") == DEFAULT


def test_a_catalog_round_trips_through_its_stored_form() -> None:
    original = catalog(
        {"name": "billing", "log_groups": ["/ecs/billing-*"], "repo_url": "acme/mono",
         "repo_folder": "/services/billing/", "labels": [], "reviewers": ["alice", "acme/billing-team"],
         "draft": True, "min_occurrences": 2, "fixes_per_hour": 3, "fixes_per_day": 10, "tokens_per_day": 100000,
         "model": "m.x", "path_prefixes": ["/srv/"]},
    )  # fmt: skip
    assert original.services[0].repo_folder == "services/billing"
    assert ServiceCatalog.parse(original.to_json()) == original
    assert original.services[0].labels == ()  # an explicit "no labels" is not "the global labels"


# --- routing ------------------------------------------------------------------------------------


def test_exact_name_beats_any_prefix_and_the_longest_prefix_wins() -> None:
    services = catalog(
        {"name": "everything", "log_groups": ["*"]},
        {"name": "ecs", "log_groups": ["/ecs/*"]},
        {"name": "billing", "log_groups": ["/ecs/billing-*"]},
        {"name": "exact", "log_groups": ["/ecs/billing-api"]},
    )
    assert services.route("/ecs/billing-api").name == "exact"
    assert services.route("/ecs/billing-worker").name == "billing"
    assert services.route("/ecs/orders").name == "ecs"
    assert services.route("/aws/lambda/x").name == "everything"


def test_a_log_group_no_service_owns_routes_nowhere() -> None:
    assert catalog({"name": "billing", "log_groups": ["/ecs/billing-*"]}).route("/ecs/orders") is None


def test_groups_from_before_services_belong_to_default_even_when_the_catalog_omits_it() -> None:
    services = catalog({"name": "billing", "log_groups": ["/b"]})
    assert services.get("default") == DEFAULT
    assert services.get("gone") is None and services.get("") is None  # "": a log group of no service


# --- repositories and folders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("acme/Shop", "github.com/acme/shop"),
        ("https://github.com/Acme/shop.git", "github.com/acme/shop"),
        ("git@ghe.example.com:team/api.git", "ghe.example.com/team/api"),
        ("ssh://git@ghe.example.com:2222/team/api.git", "ghe.example.com/team/api"),
        ("/srv/repos/My Repo.git", "local/srv/repos/my-repo.git"),
    ],
)
def test_repo_key_is_host_owner_name_in_lower_case_with_safe_characters(url: str, key: str) -> None:
    assert repo_key(url) == key


def test_secrets_are_per_repository_and_fall_back_to_the_global_ones() -> None:
    values = {
        "repo_url": "acme/shop",
        "model_id": "m.global",
        "github_token": "global-token",
        "labels": "selfheal,bot",
        "repos/github.com/acme/billing/github_token": "billing-token",
    }
    billing = service_config(values, Service("billing", ("/b",), repo_url="acme/billing", model="m.billing",
                                             repo_folder="svc", draft=True, reviewers=("alice",)))  # fmt: skip
    assert (billing.repo_url, billing.github_token, billing.model_id) == ("acme/billing", "billing-token", "m.billing")
    assert (billing.repo_folder, billing.draft, billing.reviewers, billing.labels) == ("svc", True, ("alice",),
                                                                                       ("selfheal", "bot"))  # fmt: skip
    default = service_config(values, DEFAULT)
    assert (default.repo_url, default.github_token, default.model_id) == ("acme/shop", "global-token", "m.global")
    assert "billing-token" not in repr(billing)  # secrets never in a repr


class _Repo:
    default_branch = "main"

    def __init__(self) -> None:
        self.files = {"services/billing/shop/orders.py": "a", "services/orders/shop/orders.py": "b", "README": "c"}
        self.published: dict = {}

    def __enter__(self) -> _Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def paths(self) -> list[str]:
        return list(self.files)

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def publish(self, branch: str, files: dict, message: str) -> str:
        self.published = dict(files)
        return "sha"


def test_a_monorepo_service_sees_only_its_folder_by_full_paths_and_cannot_publish_outside_it() -> None:
    repo = _Repo()
    with FolderView(repo, "services/billing") as view:
        assert view.paths() == ["services/billing/shop/orders.py"]
        assert view.read("services/orders/shop/orders.py") is None
        assert view.read("services/billing/shop/orders.py") == "a"
        assert view.default_branch == "main"
        view.publish("b", {"services/billing/shop/orders.py": "fixed"}, "m")
        with pytest.raises(FixRejected, match="outside the service's folder"):
            view.publish("b", {"services/orders/shop/orders.py": "x"}, "m")
    assert repo.published == {"services/billing/shop/orders.py": "fixed"}


# --- one fixer per service ----------------------------------------------------------------------


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def fix(self, group: ErrorGroup, lease: object) -> FixOutcome:
        return FixOutcome(Status.PR_OPENED, pr_url=f"pr-of-{self.name}")


def test_each_group_goes_to_its_services_fixer_built_once() -> None:
    services = catalog({"name": "billing", "log_groups": ["/b"]}, {"name": "orders", "log_groups": ["/o"]})
    built: list[str] = []

    def build(service: Service) -> _Named:
        built.append(service.name)
        if service.name == "default":
            raise ConfigError("no repo_url")
        return _Named(service.name)

    fixers = ServiceFixers(lambda: services, build)
    for name in ("billing", "orders", "billing"):
        assert fixers.fix(ErrorGroup("f" * 32, "FIXING", service=name), None).pr_url == f"pr-of-{name}"
    assert built == ["billing", "orders"]
    gone = fixers.fix(ErrorGroup("f" * 32, "FIXING", service="gone"), None)
    assert (gone.status, gone.reason) == ("SKIPPED", "service 'gone' is not in the service catalog")
    with pytest.raises(FixRejected, match="service 'default' is misconfigured: no repo_url"):
        fixers.fix(ErrorGroup("f" * 32, "FIXING"), None)


def test_notices_name_the_service() -> None:
    opened = fix_notice("PR_OPENED", fingerprint="a" * 32, exception_type="KeyError", pr_url="u", service="billing")
    assert "in billing" in opened.title and "Service: billing" in opened.description
    assert opened.context["service"] == "billing"
    failed = fix_notice("FAILED", fingerprint="a" * 32, exception_type="KeyError", reason="r")
    assert "in default" in failed.title
    burst = burst_notice(new_groups=3, queued=3, over_budget=0, budget=5, services={"orders": 1, "billing": 2})
    assert "Services: billing 2, orders 1" in burst.description
