"""The state a `selfheal local` run leaves behind, so later commands can read and change it.

A moto server keeps its state in memory only: when ``local`` ends, its embedded server and the
tables go with it. So ``local`` writes what the commands after it need to a state directory
(``--state-dir``, else ``$SELFHEAL_STATE_DIR``, else ``~/.selfheal/local``):

- ``state.json``: where the stack was (the endpoint, when ``local`` used a standing one given with
  ``--endpoint-url``; empty for the embedded server), its table names, region, the repository;
- ``tables.json``: for the embedded server, every DynamoDB table's definition and items, and the
  SSM parameters (mode 0600: a parameter may be a secret).

``local --infra`` keeps its estate's governor table and parameters the same way (the code
groups of an earlier ``local`` run are kept beside them), so ``actions --local``, ``approve
--local`` and ``kill-switch --local`` work on the incident's audit afterwards.

A command given ``--local`` (``status``, ``show``, ``retry``, ``actions``, ``approve``, ``deny``,
``resume``, ``kill-switch``, ``runbooks list``) opens the state: a standing endpoint is used as
it is; a dumped one is loaded into a fresh embedded moto server for the command's duration and,
for a command that writes (``retry``, ``approve``, …), dumped back afterwards. The next ``local``
run for the same repository loads it too, so a group re-opened by ``retry`` (status NEW) becomes
a fix job of that run, and groups already fixed are counted, not fixed again. A ``local`` run for
another repository starts from an empty stack and replaces the state.
"""

from __future__ import annotations

import base64
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

STATE_FILE = "state.json"
DUMP_FILE = "tables.json"
ENV_STATE_DIR = "SELFHEAL_STATE_DIR"


@dataclass(frozen=True)
class LocalState:
    """Where a local run's stack is, and what it was run on."""

    endpoint_url: str  # '' when the stack was the embedded server's (then it is in tables.json)
    table_name: str
    governor_table_name: str = ""
    parameter_prefix: str = ""  # the runbooks' catalog and kill switch (local --infra)
    region: str = "us-east-1"
    repo: str = ""
    saved_at: int = 0  # epoch seconds


def state_dir(explicit: str | None = None) -> Path:
    """The state directory: ``explicit``, else ``$SELFHEAL_STATE_DIR``, else ``~/.selfheal/local``."""
    return Path(explicit or os.environ.get(ENV_STATE_DIR) or Path.home() / ".selfheal" / "local").expanduser()


def load(directory: Path) -> LocalState | None:
    """The saved state, None when there is none (or it cannot be read)."""
    try:
        doc = json.loads((directory / STATE_FILE).read_text())
        return LocalState(**{k: v for k, v in doc.items() if k in LocalState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def _encode(value: Any) -> Any:
    """DynamoDB attribute values as JSON: bytes become ``{"$b64": …}``."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _definition(ddb: Any, name: str) -> dict[str, Any]:
    """What create_table needs to make the table again (keys, indexes, stream, TTL)."""
    table = ddb.describe_table(TableName=name)["Table"]
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in table.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    if table.get("StreamSpecification", {}).get("StreamEnabled"):
        definition["StreamSpecification"] = table["StreamSpecification"]
    ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        definition["$ttl"] = ttl["AttributeName"]
    return definition


def dump(clients: Any) -> dict[str, Any]:
    """Every table (definition and items) and SSM parameter at the clients' endpoint."""
    ddb = clients.dynamodb
    tables = []
    for name in ddb.list_tables().get("TableNames", []):
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=name):
            items.extend(page["Items"])
        tables.append({"definition": _definition(ddb, name), "items": items})
    parameters = []
    for page in clients.ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/", Recursive=True, WithDecryption=True
    ):
        parameters += [{"Name": p["Name"], "Type": p["Type"], "Value": p["Value"]} for p in page["Parameters"]]
    return _encode({"tables": tables, "parameters": parameters})


def restore(clients: Any, doc: dict[str, Any], replace: bool = False) -> int:
    """Create the dumped tables (those that do not exist yet, or every one when ``replace``) with
    their items, and the parameters; returns the number of items written."""
    doc = _decode(doc)
    ddb = clients.dynamodb
    existing = set(ddb.list_tables().get("TableNames", []))
    written = 0
    for table in doc.get("tables", []):
        definition = dict(table["definition"])
        ttl = definition.pop("$ttl", None)
        name = definition["TableName"]
        if replace and name in existing:  # see local_stack.clear_stack: a shared in-process backend
            ddb.delete_table(TableName=name)
            existing.discard(name)
        if name not in existing:
            ddb.create_table(**definition)
            ddb.get_waiter("table_exists").wait(TableName=name)
            if ttl:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
        for item in table["items"]:
            ddb.put_item(TableName=name, Item=item)
            written += 1
    for parameter in doc.get("parameters", []):
        clients.ssm.put_parameter(**parameter, Overwrite=True)
    return written


def save(directory: Path, state: LocalState, clients: Any = None) -> Path:
    """Write the state (and, for the embedded server, the dump of ``clients``' endpoint)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamped = LocalState(**{**asdict(state), "saved_at": int(time.time())})
    if not state.endpoint_url and clients is not None:
        dump_path = directory / DUMP_FILE
        fd = os.open(dump_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(dump(clients), handle)
    elif state.endpoint_url:
        (directory / DUMP_FILE).unlink(missing_ok=True)
    (directory / STATE_FILE).write_text(json.dumps(asdict(stamped), indent=2) + "\n")
    return directory


def saved_dump(directory: Path) -> dict[str, Any] | None:
    """The dumped tables and parameters, None when there are none."""
    try:
        return json.loads((directory / DUMP_FILE).read_text())
    except (OSError, ValueError):
        return None


ENV_NAMES = {
    "endpoint_url": "SELFHEAL_ENDPOINT_URL",
    "table_name": "SELFHEAL_TABLE_NAME",
    "governor_table_name": "SELFHEAL_GOVERNOR_TABLE_NAME",
    "parameter_prefix": "SELFHEAL_PARAMETER_PREFIX",
    "region": "AWS_REGION",
}


@contextmanager
def opened(directory: Path, write_back: bool, say: Callable[[str], None]) -> Iterator[LocalState]:
    """The saved stack, reachable for the block through the ``SELFHEAL_*`` environment: a standing
    endpoint as it is, a dumped stack loaded into a fresh embedded moto server (dumped back
    afterwards when ``write_back``). ``LookupError`` when there is no state."""
    state = load(directory)
    if state is None:
        raise LookupError(f"no local state in {directory}: run `selfheal local` first (or give --state-dir)")
    saved = {name: os.environ.get(name) for name in ENV_NAMES.values()}
    try:
        if state.endpoint_url:
            _export(state, state.endpoint_url)
            yield state
            return
        from local_stack import local_aws

        from chalicelib.adapters.clients import Clients
        from chalicelib.adapters.settings import Settings

        with local_aws("", lambda _: None) as endpoint:
            clients = Clients(Settings(endpoint_url=endpoint, region=state.region))
            restore(clients, saved_dump(directory) or {}, replace=True)
            _export(state, endpoint)
            say(f"local state: {directory} (saved {time.strftime('%Y-%m-%d %H:%M', time.localtime(state.saved_at))})")
            yield state
            if write_back:
                save(directory, state, clients)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _export(state: LocalState, endpoint: str) -> None:
    values = {**asdict(state), "endpoint_url": endpoint}
    for field, name in ENV_NAMES.items():
        if values.get(field):
            os.environ[name] = str(values[field])


def save_infra(directory: Path, clients: Any, governor_table: str, prefix: str) -> Path:
    """Keep a ``local --infra`` run's stack: its tables and parameters, merged over the dump an
    earlier ``local`` run left (its error groups stay readable), and the governor's names."""
    previous = load(directory)
    earlier = saved_dump(directory) if previous is not None and not previous.endpoint_url else None
    doc = dump(clients)
    if earlier:
        names = {t["definition"]["TableName"] for t in doc["tables"]}
        doc["tables"] += [t for t in earlier.get("tables", []) if t["definition"]["TableName"] not in names]
        known = {p["Name"] for p in doc["parameters"]}
        doc["parameters"] += [p for p in earlier.get("parameters", []) if p["Name"] not in known]
    base = previous if earlier else LocalState("", "")
    state = LocalState(**{**asdict(base), "governor_table_name": governor_table, "parameter_prefix": prefix,
                          "saved_at": int(time.time())})  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / DUMP_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(doc, handle)
    (directory / STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n")
    return directory
