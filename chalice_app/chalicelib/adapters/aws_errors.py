"""One translator from botocore's ClientError to the SelfHealError family (Chalice's awsclient idea).

Every adapter that calls AWS catches ``ClientError`` narrowly and raises ``translate(exc, what)``, so
that what the caller should do (retry, fail loudly, record a lost race) is decided in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.errors import ConfigError, Conflict, NotFound, SelfHealError, TransientError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# Codes AWS documents as "try again later" across the services selfheal calls.
TRANSIENT = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "LimitExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalServerException",
        "InternalFailure",
        "InternalError",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "TransactionInProgressException",
    }
)
ACCESS = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"})
CONFLICT = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})
NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundException", "NotFoundFault")


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ('' when the answer carried none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: ClientError, what: str) -> SelfHealError:
    """The SelfHealError that says what to do about ``exc``; ``what`` names the call for the message.

    Throttling and 5xx → TransientError (retry); access denied → ConfigError (the deployment is
    wrong); a failed condition → Conflict (a lost race, a result); a missing resource → NotFound;
    anything else → SelfHealError with the code and AWS's message.
    """
    code = error_code(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code in TRANSIENT or status >= 500:
        return TransientError(f"{what}: {code or status}")
    if code in ACCESS:
        return ConfigError(f"{what}: {code}: {message}")
    if code in CONFLICT:
        return Conflict(f"{what}: {code}")
    # Route 53 and S3 say NoSuchHealthCheck / NoSuchHostedZone / NoSuchKey for a missing resource.
    if code.endswith(NOT_FOUND_SUFFIXES) or code.startswith(("InvalidInstanceID", "NoSuch")):
        return NotFound(f"{what}: {code}: {message}")
    return SelfHealError(f"{what} failed: {code}: {message}")
