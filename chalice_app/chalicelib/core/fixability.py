"""Fixability: is a group a fault of the service's own code, or something a code change must not
"fix"? Pure; decided before any model token is spent (usecases/enqueue.py).

    code         the raising frame, or the frame that called into a library with bad arguments, is
                 the service's own: fixed as before
    input        the service rejected bad input as designed: an in-app ``raise`` (the frame's source
                 line is the raise) of a validation / not-found / permission / HTTP 4xx kind, or a
                 framework's HTTP 4xx exception (``abort(404)``, ``get_object_or_404``). A fix that
                 makes it go away weakens the check: never sent to the model
    environment  timeouts, connection errors, throttling, DNS, out of memory, disk full, a
                 dependency's 5xx (anywhere in the chain, or wrapped by an in-app ``raise … from``):
                 a runbook or a person handles it, not a code change
    library      no frame of the service's own code in the whole trace (vendored packages under the
                 deployment root, such as ``/var/task/requests/``, count as library code)

Order: the catalog's ``never_fix`` entries, then ``always_fix``, then environment, input, library,
code. Only ``code`` is fixed, and ``library`` when the service sets ``fix_library``; every class
carries the reason the rule gives, which the group records.

The rules read exception type names (with and without their module), the final exception's
message for a few generic types, errno numbers and AWS error codes in messages, frame paths and
the raising frame's source line. They never execute anything and are linear in the trace's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.frames import is_in_app
from chalicelib.core.notices import Notice

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from chalicelib.core.models import Frame, RaisedException

CODE = "code"
INPUT = "input"
ENVIRONMENT = "environment"
LIBRARY = "library"
KINDS = (CODE, INPUT, ENVIRONMENT, LIBRARY)

# --- environment ------------------------------------------------------------------------------
# Short type names that are an outage, a timeout or an exhausted resource wherever they are raised
# (builtins, socket, asyncio, requests, urllib3, botocore, httpx, aiohttp, redis, kombu, grpc...).
_ENV_TYPES = frozenset({
    "TimeoutError", "timeout", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
    "ConnectTimeoutError", "ReadTimeoutError", "ConnectionError", "ConnectionResetError",
    "ConnectionRefusedError", "ConnectionAbortedError", "BrokenPipeError", "NewConnectionError",
    "MaxRetryError", "ProtocolError", "RemoteDisconnected", "IncompleteRead", "EndpointConnectionError",
    "ConnectionClosedError", "ProxyConnectionError", "SSLError", "ChunkedEncodingError", "gaierror",
    "herror", "MemoryError", "ConnectError", "RemoteProtocolError", "ServerTimeoutError",
    "ClientConnectorError", "ClientConnectionError", "ServerDisconnectedError", "ClientOSError",
    "ServiceUnavailable", "ServiceUnavailableError", "ServiceUnavailableException", "InternalServerError",
    "InternalServerException", "InternalFailure", "ThrottlingException", "ThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "RequestThrottledException", "LimitExceededException", "SlowDown", "KMSInternalException",
    "DeadlineExceeded", "BusyLoadingError", "OperationTimedOut",
})  # fmt: skip
# AWS error codes (botocore ClientError "An error occurred (<code>) when calling ...") that are
# throttling or a service's own failure.
_AWS_ENV_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestThrottled",
    "RequestThrottledException", "SlowDown", "PriorRequestNotComplete", "BandwidthLimitExceeded",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalFailure",
    "InternalServerError", "InternalServerException", "RequestTimeout", "RequestTimeoutException",
    "KMSInternalException", "EC2ThrottledException", "TransactionConflictException", "LimitExceededException",
})  # fmt: skip
_AWS_CODE = re.compile(r"An error occurred \((\w{1,80})\)")
# errno values of an exhausted or unreachable environment: ENOMEM 12, ENFILE 23, EMFILE 24,
# ENOSPC 28, ENETDOWN 100, ENETUNREACH 101, ECONNABORTED 103, ECONNRESET 104, ENOBUFS 105,
# ETIMEDOUT 110, ECONNREFUSED 111, EHOSTDOWN 112, EHOSTUNREACH 113, EDQUOT 122; getaddrinfo's
# EAI_NONAME -2, EAI_AGAIN -3 (DNS).
_ENV_ERRNO = frozenset({12, 23, 24, 28, 100, 101, 103, 104, 105, 110, 111, 112, 113, 122, -2, -3, -5})
_ERRNO = re.compile(r"^\[Errno (-?\d{1,4})\]")
# A dependency's 5xx as requests / httpx / urllib / aiohttp print it.
_HTTP_5XX = re.compile(r"^(?:5\d\d (?:Server Error|[A-Z])|HTTP Error 5\d\d\b|Server error '5\d\d|5\d\d, message=)")
# Database drivers' operational errors that are a connection or capacity problem.
_DB_OPERATIONAL = re.compile(
    r"could not connect|connection (?:refused|reset|timed out|to server)|can't connect|lost connection"
    r"|server closed the connection|too many connections|timeout expired|timed out|name or service not known"
    r"|temporary failure in name resolution|deadlock detected|the database system is (?:starting|shutting)",
    re.IGNORECASE,
)

# --- input ------------------------------------------------------------------------------------
# Framework exceptions that are an HTTP 4xx answer by design, wherever they are raised (flask's
# abort() and django's get_object_or_404 raise them inside the framework).
_HTTP_4XX_TYPES = frozenset({
    "BadRequest", "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed", "NotAcceptable",
    "Conflict", "Gone", "LengthRequired", "PreconditionFailed", "RequestEntityTooLarge",
    "UnsupportedMediaType", "UnprocessableEntity", "TooManyRequests", "Http404", "PermissionDenied",
    "SuspiciousOperation", "DisallowedHost", "BadRequestError", "UnauthorizedError", "ForbiddenError",
    "NotFoundError", "ConflictError", "UnprocessableEntityError", "TooManyRequestsError",
    "RequestValidationError", "NotAuthenticated", "AuthenticationFailed", "ParseError", "Throttled",
    "HTTPBadRequest", "HTTPUnauthorized", "HTTPForbidden", "HTTPNotFound", "HTTPConflict",
    "HTTPUnprocessableEntity", "HTTPMethodNotAllowed",
})  # fmt: skip
# Modules whose exceptions of those names are the framework's 4xx (a same-named app class is
# judged by the in-app raise rule instead).
_HTTP_MODULES = (
    "werkzeug.",
    "flask.",
    "django.",
    "rest_framework.",
    "fastapi.",
    "starlette.",
    "chalice.",
    "aiohttp.web",
    "falcon.",
    "pyramid.httpexceptions",
    "tornado.web",
    "sanic.exceptions",
    "aws_lambda_powertools.",
)
# HTTPException with a 4xx status: starlette / fastapi print "404: Not Found", werkzeug
# "404 Not Found: ...", tornado "HTTP 404: Not Found".
_HTTP_4XX_MESSAGE = re.compile(r"^(?:HTTP )?4\d\d(?::| [A-Z])")
# Type names of a designed rejection when the app raises them itself.
_INPUT_NAME = re.compile(
    r"Validation|Invalid|NotFound|DoesNotExist|NoSuch|Missing|Forbidden|PermissionDenied|NotPermitted"
    r"|Unauthori[sz]ed|Unauthenticated|AccessDenied|BadRequest|Rejected|NotAllowed|Unprocessable|Malformed"
    r"|Unsupported|Duplicate|AlreadyExists|Conflict|Expired|OutOfStock|Insufficient|LimitExceeded|Quota",
)
# Generic types that are a rejection only with a message that reads like one.
_GENERIC_INPUT_TYPES = frozenset({"ValueError", "KeyError", "LookupError", "PermissionError", "TypeError"})
_INPUT_MESSAGE = re.compile(
    r"\b(?:invalid|not valid|must be|must not|should be|is required|are required|required field|missing"
    r"|not found|unknown|no such|does not exist|doesn't exist|not allowed|not permitted|forbidden|denied"
    r"|unauthori[sz]ed|expected|unsupported|out of range|too (?:long|short|large|small|many|few)"
    r"|exceeds?|already exists|malformed|bad request|not a valid|cannot be empty|empty)\b",
    re.IGNORECASE,
)
_RAISE = re.compile(r"^\s*raise\b")

# --- library ----------------------------------------------------------------------------------
# Third-party packages that Lambda zips vendor next to the handler (``/var/task/requests/...``):
# their frames are library frames although no site-packages directory names them.
_VENDORED = frozenset({
    "requests", "urllib3", "botocore", "boto3", "s3transfer", "certifi", "charset_normalizer", "idna",
    "chardet", "pydantic", "pydantic_core", "jsonschema", "marshmallow", "werkzeug", "flask", "django",
    "rest_framework", "fastapi", "starlette", "sqlalchemy", "psycopg2", "psycopg", "pymysql", "redis",
    "aws_lambda_powertools", "chalice", "httpx", "httpcore", "aiohttp", "anyio", "dateutil", "yaml",
    "jinja2", "six", "attr", "attrs", "mangum", "uvicorn", "gunicorn", "kombu", "celery", "grpc",
    "google", "jwt", "cryptography", "stripe", "pymongo", "elasticsearch", "opensearchpy", "numpy", "pandas",
})  # fmt: skip


@dataclass(frozen=True)
class FixPolicy:
    """A service's overrides (core/services.py): entries are exception types (full or short name)
    or modules (dotted, or a path fragment) — ``never_fix`` wins over ``always_fix``;
    ``fix_library`` lets a group with no in-app frame reach the fixer."""

    always_fix: tuple[str, ...] = ()
    never_fix: tuple[str, ...] = ()
    fix_library: bool = False


@dataclass(frozen=True)
class Fixability:
    """The class of a group, why, and whether the fixer may spend tokens on it."""

    kind: str
    reason: str
    fix: bool

    def stored_reason(self) -> str:
        """The group's ``reason`` when the class skips it."""
        return f"not a code fault ({self.kind}): {self.reason}"


def short(type_name: str) -> str:
    """A type's name without its module (``botocore.exceptions.ClientError`` → ``ClientError``)."""
    return type_name.rsplit(".", 1)[-1].strip()


def _all(exceptions: Sequence[RaisedException]) -> Iterator[RaisedException]:
    for exc in exceptions:
        yield exc
        yield from _all(exc.children)


def app_frame(path: str) -> bool:
    """Whether ``path`` is the service's own code: in-app by core/frames.py's rule, and not a
    vendored third-party package under the deployment root."""
    if not is_in_app(path):
        return False
    parts = path.replace("\\", "/").split("/")
    return not any(part in _VENDORED for part in parts[:-1])


def _env_why(exc: RaisedException) -> str:
    """Why ``exc`` alone is an environment failure ('' when it is not)."""
    name = short(exc.type)
    message = exc.message.strip()
    if name in _ENV_TYPES:
        return f"{exc.type} is a timeout, connection, throttling or capacity failure"
    code = _AWS_CODE.search(message)
    if code and code.group(1) in _AWS_ENV_CODES:
        return f"AWS answered {code.group(1)} (throttling or a service failure)"
    errno = _ERRNO.match(message)
    if errno and int(errno.group(1)) in _ENV_ERRNO:
        return f"{exc.type} errno {errno.group(1)} (resources, network or DNS): {message[:80]}"
    if _HTTP_5XX.match(message):
        return f"a dependency answered {message[:3] if message[0].isdigit() else 'a 5xx'}: {message[:80]}"
    if name in ("OperationalError", "InterfaceError", "DatabaseError") and _DB_OPERATIONAL.search(message):
        return f"{exc.type}: the database is unreachable or overloaded ({message[:80]})"
    return ""


def _has_app_code(exc: RaisedException) -> bool:
    """A frame, or the location of a SyntaxError, in the service's own code."""
    where = exc.syntax_error
    return any(app_frame(f.file) for f in exc.frames) or (where is not None and app_frame(where.file))


def _innermost(exc: RaisedException) -> Frame | None:
    return exc.frames[-1] if exc.frames else None


def _is_http_4xx(exc: RaisedException) -> bool:
    name = short(exc.type)
    if name in _HTTP_4XX_TYPES and (exc.type.startswith(_HTTP_MODULES) or exc.type == name):
        return True
    # A client library's HTTPError (requests, urllib, httpx) is a dependency's answer to us, not ours.
    framework = exc.type.startswith(_HTTP_MODULES) or exc.type == "HTTPException"
    return (
        framework
        and name in ("HTTPException", "HTTPError", "APIException")
        and bool(_HTTP_4XX_MESSAGE.match(exc.message))
    )


def _input_why(exc: RaisedException) -> str:
    """Why the final exception is a designed rejection of bad input ('' when it is not)."""
    frame = _innermost(exc)
    in_app = frame is not None and app_frame(frame.file)
    if _is_http_4xx(exc) and any(app_frame(f.file) for f in exc.frames):
        return f"{exc.type} is an HTTP 4xx answer by design"
    if not in_app or frame is None or not _RAISE.match(frame.source or ""):
        return ""  # not raised by the service's own `raise` statement: a bug, or no evidence
    where = f"{frame.file}:{frame.line or '?'}"
    name = short(exc.type)
    if _INPUT_NAME.search(name) or _is_http_4xx(exc):
        return f"{exc.type} raised on purpose at {where}"
    if name in _GENERIC_INPUT_TYPES and _INPUT_MESSAGE.search(exc.message):
        return f"{exc.type} raised on purpose at {where} with a validation message"
    return ""


def _matches(entry: str, exceptions: Sequence[RaisedException]) -> bool:
    """Whether a policy entry names an exception type of the chain or a module of a frame."""
    entry = entry.strip()
    if not entry:
        return False
    for exc in _all(exceptions):
        if entry in (exc.type, short(exc.type)):
            return True
    fragment = entry if "/" in entry or entry.endswith(".py") else entry.replace(".", "/")
    fragment = fragment.removesuffix(".py")
    for exc in _all(exceptions):
        for frame in exc.frames:
            path = "/" + frame.file.replace("\\", "/").removesuffix(".py")
            if f"/{fragment}/" in path + "/":
                return True
    return False


def classify(exceptions: Sequence[RaisedException], policy: FixPolicy | None = None) -> Fixability:
    """The class of a trace's exception chain (oldest first, the final exception last)."""
    policy = policy or FixPolicy()
    if not exceptions:
        return Fixability(LIBRARY, "the trace holds no exception", policy.fix_library)
    for entry in policy.never_fix:
        if _matches(entry, exceptions):
            return Fixability(_natural(exceptions).kind, f"the service's catalog never fixes {entry}", False)
    for entry in policy.always_fix:
        if _matches(entry, exceptions):
            return Fixability(CODE, f"the service's catalog always fixes {entry}", True)
    found = _natural(exceptions)
    return Fixability(found.kind, found.reason, found.kind == CODE or (found.kind == LIBRARY and policy.fix_library))


def _natural(exceptions: Sequence[RaisedException]) -> Fixability:
    """The class by the rules alone (no policy)."""
    final = exceptions[-1]
    if why := _env_why(final):
        return Fixability(ENVIRONMENT, why, False)
    # An outage wrapped by the service (`raise ServiceDown(...) from exc`): the cause decides. A
    # failure while handling it (the context link) is a bug of the handler, so only "cause" counts.
    frame = _innermost(final)
    wrapped = frame is not None and app_frame(frame.file) and _RAISE.match(frame.source or "")
    if wrapped and len(exceptions) > 1 and exceptions[-2].link == "cause" and (why := _env_why(exceptions[-2])):
        return Fixability(ENVIRONMENT, f"{final.type} wraps an outage: {why}", False)
    for leaf in _all(final.children):
        if why := _env_why(leaf):
            return Fixability(ENVIRONMENT, f"a sub-exception of {final.type}: {why}", False)
    if why := _input_why(final):
        return Fixability(INPUT, why, False)
    if not any(_has_app_code(exc) for exc in _all(exceptions)):
        return Fixability(LIBRARY, "no frame of the service's own code in the trace", False)
    return Fixability(CODE, "raised in or called from the service's own code", True)


def environment_notice(
    groups: Sequence[tuple[str, str, str]], service_of: Mapping[str, str] | None = None
) -> Notice | None:
    """One notice for the groups of a batch classed ``environment`` — (fingerprint, exception type,
    reason) each — that a runbook or a person must handle; None when there are none."""
    if not groups:
        return None
    shown = [f"- {fp[:12]} {etype}: {why}" for fp, etype, why in groups[:10]]
    if len(groups) > len(shown):
        shown.append(f"- … and {len(groups) - len(shown)} more")
    services = sorted({(service_of or {}).get(fp, "") for fp, _, _ in groups} - {""})
    return Notice(
        kind="selfheal.fix.environment",
        title=f"🌩 {len(groups)} error group(s) are environment failures, not code faults",
        description="\n".join(
            ["Timeouts, connection errors, throttling or exhausted resources: no fix was attempted.", *shown]
        ),
        next_steps=("Check the dependency or the capacity named; a runbook or a person handles it",
                    "Fix it anyway: add the type to the service's always_fix (catalog) and `selfheal.py retry`"),
        keywords=("selfheal", "environment"),
        thread_id="selfheal/environment",
        context={"groups": str(len(groups)), **({"services": ", ".join(services)} if services else {})},
    )  # fmt: skip
