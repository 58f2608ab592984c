"""The portkit error tree.

Every error portkit raises derives from :class:`PortkitError`. Each message says what happened and what
to do next; the original exception is chained (``raise ... from exc``). Messages built from API responses
go through :func:`trim_status` so that object bodies (which may hold Secret data) never reach a message.

::

    PortkitError
    ├── InputError                  bad input from the user: flags, files, kubeconfigs (CLI exit code 2)
    │   ├── ConfigurationError      bad input, kubeconfig, options
    │   │   └── InvalidNameError    a name or namespace no Kubernetes object can have (checked before any request)
    │   └── BundleError             a bundle or manifest file is missing, unsafe, corrupt, edited or of
    │       │                       another format; an object in it is invalid or duplicated
    │       ├── UnsafeFileError     a symlink, FIFO, device or other non-regular file where a file belongs
    │       ├── FileTooLargeError   a file, or a whole bundle, is over its size limit
    │       ├── DocumentTooComplexError  YAML/JSON nested too deep, or YAML aliases expanding too far
    │       └── DuplicateKeyError   a YAML/JSON mapping holds the same key twice
    ├── BundleWriteError            a bundle could not be written (disk full, permissions)
    ├── ClusterUnreachableError     connection refused, TLS, DNS, timeouts
    │   └── CertificateError        the server's TLS certificate did not verify (not retried)
    ├── ApiError                    the API server answered with an error status
    │   ├── NotFoundError           404
    │   ├── ConflictError           409 (already exists, field-manager conflicts, stale resourceVersion)
    │   ├── ForbiddenError          401 / 403
    │   ├── InvalidError            400 / 422 (validation, immutable fields, admission)
    │   ├── ThrottledError          429 (after retries ran out)
    │   ├── GoneError               410 (expired continue token)
    │   ├── ServerError             5xx (after retries ran out)
    │   └── ServerResponseError     an answer portkit cannot use: malformed HTTP, a body that is not JSON,
    │                               a document of the wrong shape
    ├── TranslationError            a translator, profile or rule cannot be used
    │   └── UnknownProviderError    no provider profile of that name (also an InputError)
    ├── PlanError / ApplyError      replay
    │   ├── ClusterMismatchError    a journal / work directory of another cluster (also an InputError)
    │   └── JournalError            an apply journal with an unusable record (also an InputError)
    ├── VolumeMoveError             Velero backup/restore failed
    └── LocalClusterError           a local test cluster could not be built or started

Exit codes are decided by class, not by message: the CLI (:func:`portkit.cli._common.exit_code_for`) exits
2 ("usage or bad input") for every :class:`InputError` and 1 ("failed") for every other
:class:`PortkitError`. To make a new kind of error a bad-input error, derive it from :class:`InputError` —
alone, or next to the class it belongs with::

    class UnknownProviderError(TranslationError, InputError):
        ...  # the provider named on the command line is not known

``isinstance(err, InputError)`` is then true and the CLI exits 2; ``except TranslationError`` still
catches it. Nothing else needs to change (no message matching, no list of classes in the CLI).
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiError",
    "ApplyError",
    "BundleError",
    "BundleWriteError",
    "CertificateError",
    "ClusterMismatchError",
    "ClusterUnreachableError",
    "ConfigurationError",
    "ConflictError",
    "DocumentTooComplexError",
    "DuplicateKeyError",
    "FileTooLargeError",
    "ForbiddenError",
    "GoneError",
    "InputError",
    "InvalidError",
    "InvalidNameError",
    "JournalError",
    "LocalClusterError",
    "NotFoundError",
    "PlanError",
    "PortkitError",
    "ServerError",
    "ServerResponseError",
    "ThrottledError",
    "TranslationError",
    "UnknownProviderError",
    "UnsafeFileError",
    "VolumeMoveError",
    "api_error_from_status",
    "parse_retry_after",
    "trim_status",
]

_MAX_MESSAGE = 500


class PortkitError(Exception):
    """Base of every error portkit raises.

    Args:
        message: what happened.
        hint: what to do next (appended to the message).
    """

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}".strip()
        return self.message


class InputError(PortkitError):
    """Base of the errors about bad input from the user (flags, files, kubeconfigs, bundles, a work directory
    of another cluster) rather than a failure.

    The CLI exits 2 for these ("usage or bad input") and 1 for every other :class:`PortkitError`. Derive a
    new error from it next to its topical base to make it a bad-input error (e.g. ``class
    JournalError(ApplyError, InputError)``).
    """


class ConfigurationError(InputError):
    """Bad configuration or input: a kubeconfig, a context, an option, a file the user gave."""


class InvalidNameError(ConfigurationError):
    """A name or namespace that no Kubernetes object can have (empty, ``/``, ``%``, control characters...).

    Raised before any request is sent, so such a name never reaches a request line or a header.
    """


class ClusterUnreachableError(PortkitError):
    """The API server could not be reached (connection refused, TLS failure, DNS, timeout)."""

    default_hint = "Check that the cluster is running and that the kubeconfig points at the right server."


class CertificateError(ClusterUnreachableError):
    """The API server's TLS certificate did not verify (unknown CA, wrong host name, expired). Not retried."""

    default_hint = (
        "Check the kubeconfig's certificate-authority(-data), server and tls-server-name entries; the "
        "certificate must name the server in its subjectAltName (the common name is never used)."
    )


class ApiError(PortkitError):
    """The API server answered with an error status.

    Attributes:
        status: the HTTP status code.
        reason: the Status ``reason`` (e.g. ``AlreadyExists``, ``Invalid``), if any.
        retry_after: seconds the server asked us to wait, if it said.
        causes: the Status ``details.causes`` as ``(type, field, message)`` tuples (e.g. one per
            field-manager conflict). The message is kept only for field-manager conflicts (it names the
            other manager); other causes' messages may quote values and are dropped.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        retry_after: float | None = None,
        hint: str | None = None,
        causes: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        self.causes = causes
        super().__init__(message, hint=hint)


class NotFoundError(ApiError):
    """404: the object or the kind does not exist."""


class ConflictError(ApiError):
    """409: already exists, a field-manager conflict, or a stale resourceVersion."""

    default_hint = "Re-read the object, or apply with force=True to take ownership of conflicting fields."


class ForbiddenError(ApiError):
    """401/403: the credentials may not do this."""

    default_hint = "Check the RBAC permissions of the kubeconfig's user (kubectl auth can-i)."


class InvalidError(ApiError):
    """400/422: the API rejected the object (schema, immutable field, admission)."""

    default_hint = "Fix the object (or add a translation rule for it) and try again."


class ThrottledError(ApiError):
    """429: the API server kept asking us to slow down after every retry."""

    default_hint = "The API server is overloaded; lower the concurrency or try again later."


class GoneError(ApiError):
    """410: a list continue token expired."""


class ServerError(ApiError):
    """5xx: the API server failed, and kept failing through the retries."""

    default_hint = "The API server is failing; check its health and try again."


class ServerResponseError(ApiError):
    """The API server (or something in between) answered with something portkit cannot use.

    A malformed HTTP response (bad status line, framing), a body that is not JSON, or a JSON document of
    the wrong shape. The message names the request; the body itself is never quoted.
    """

    default_hint = (
        "Check that the kubeconfig's server is a Kubernetes API server (not a web page or a proxy's error "
        "page) and that it is healthy."
    )


class BundleError(InputError):
    """A bundle or manifest file is missing, unsafe, corrupt, edited or written in another format version,
    or an object in it is invalid or duplicated."""


class UnsafeFileError(BundleError):
    """A symbolic link, FIFO, device or other non-regular file where portkit reads or writes a file.

    portkit reads only regular files inside a bundle (never through a symlink, never from a FIFO that
    would block) and never writes through, or deletes, an entry it did not write.
    """


class FileTooLargeError(BundleError):
    """A file, or all files of one bundle together, are over the size limit (:class:`portkit.limits.ReadLimits`)."""


class DocumentTooComplexError(BundleError):
    """A YAML or JSON document nests deeper, or expands through YAML aliases further, than the limits allow."""


class DuplicateKeyError(BundleError):
    """A YAML or JSON mapping holds the same key twice (kubectl refuses such files too)."""


class BundleWriteError(PortkitError):
    """A bundle could not be written: the disk is full, or a directory is not writable."""


class TranslationError(PortkitError):
    """A translator, provider profile, mapping or rule cannot be used."""


class UnknownProviderError(TranslationError, InputError):
    """No provider profile of that name (built in, from a plugin or registered)."""


class PlanError(PortkitError):
    """A plan cannot be made or is blocked."""


class ApplyError(PortkitError):
    """Applying a plan failed; the journal keeps what was done, so a second apply resumes."""


class ClusterMismatchError(ApplyError, InputError):
    """A journal or work directory belongs to another cluster than the one given; nothing was done.

    Attributes:
        recorded: how the journal / work directory names its cluster (server and kube-system uid).
        given: the same for the cluster portkit was pointed at.
    """

    def __init__(self, message: str, *, recorded: str = "", given: str = "", hint: str | None = None) -> None:
        self.recorded = recorded
        self.given = given
        super().__init__(message, hint=hint)


class JournalError(ApplyError, InputError):
    """An apply journal holds a record portkit cannot use (the message names the file and the line)."""


class VolumeMoveError(PortkitError):
    """A volume move (Velero backup or restore) failed."""


class LocalClusterError(PortkitError):
    """A local test cluster could not be built, started or stopped."""


def trim_status(body: Any, limit: int = _MAX_MESSAGE) -> str:
    """Return a short, safe description of an API error body.

    Only the Status fields ``message``, ``reason`` and ``details.causes`` are used: a body that is not a
    Status (it might echo an object, Secret data included) is reduced to its length.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    data: Any = body
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return f"<non-JSON error body, {len(body)} characters>" if body else ""
    if not isinstance(data, dict) or data.get("kind") != "Status":
        return "<error body that is not a Status, omitted>" if data else ""
    text = str(data.get("message") or data.get("reason") or "")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidError,
    401: ForbiddenError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidError,
    429: ThrottledError,
}


#: Messages of HTTP 500 answers that are really client errors: server-side apply of an object that does not
#: fit the schema (e.g. a string where a CRD declares an integer) fails this way. Retrying them is useless.
_INVALID_500_MARKERS = ("failed to create typed patch object", "failed to create typed live object")


#: The longest wait a server may ask for that portkit takes at its word (the retry policy caps it further).
MAX_RETRY_AFTER = 3600.0

_SECONDS = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,6})?")


def parse_retry_after(value: Any) -> float | None:
    """Seconds from a ``Retry-After`` header or a Status ``retryAfterSeconds``; None when unusable.

    Accepts a number of seconds (``"3"``, ``3``, ``"1.5"``) or an HTTP date; the result is finite and within
    ``[0, MAX_RETRY_AFTER]``. ``nan``, ``inf``, negative numbers, booleans and anything else are ignored
    (None), so a hostile or broken server can neither stall nor crash the retry loop.
    """
    seconds: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _SECONDS.fullmatch(text):
            seconds = float(text)
        elif text:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - time.time()
            seconds = max(seconds, 0.0)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def api_error_from_status(
    status: int,
    body: Any,
    *,
    action: str,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """Build the right :class:`ApiError` subclass for an HTTP status and a (trimmed) Status body.

    Args:
        status: HTTP status code.
        body: the response body (bytes, str or dict); only Status fields are used.
        action: what portkit was doing, e.g. ``"apply apps/v1 Deployment shop/web"``.
        headers: response headers, for ``Retry-After``.
    """
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    detail = trim_status(body)
    if status == 500 and any(marker in detail for marker in _INVALID_500_MARKERS):
        cls = InvalidError  # the API server reports these schema errors of apply patches as 500
    reason = ""
    retry_after: float | None = None
    causes: list[tuple[str, str, str]] = []
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
    if isinstance(data, dict) and data.get("kind") == "Status":
        reason = str(data.get("reason") or "")
        details = data.get("details")
        if isinstance(details, dict):
            retry_after = parse_retry_after(details.get("retryAfterSeconds"))
            found = details.get("causes")
            for cause in found if isinstance(found, list) else ():
                if isinstance(cause, dict):
                    kind = str(cause.get("reason") or "")
                    # only conflict messages are kept ('conflict with "x" using v1'); others may quote values
                    said = str(cause.get("message") or "")[:200] if kind == "FieldManagerConflict" else ""
                    causes.append((kind, str(cause.get("field") or ""), said))
    if headers:
        for key, value in headers.items():
            if key.lower() == "retry-after":
                parsed = parse_retry_after(value)
                if parsed is not None:
                    retry_after = parsed
    message = f"{action} failed: HTTP {status}" + (f" {reason}" if reason else "")
    if detail:
        message += f": {detail}"
    message = message.rstrip(".") + "."
    return cls(message, status=status, reason=reason, retry_after=retry_after, causes=tuple(causes))
