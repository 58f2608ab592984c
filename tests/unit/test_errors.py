"""The error tree: classification by status, trimmed bodies, Retry-After, hints."""

from __future__ import annotations

import json

import pytest

import portkit
from portkit.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ServerError,
    ThrottledError,
    api_error_from_status,
    trim_status,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidError),
        (401, ForbiddenError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, InvalidError),
        (429, ThrottledError),
        (500, ServerError),
        (503, ServerError),
        (418, ApiError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[ApiError]) -> None:
    err = api_error_from_status(status, b"", action="get v1 ConfigMap a/b")
    assert type(err) is cls
    assert err.status == status
    assert isinstance(err, portkit.PortkitError)
    assert "get v1 ConfigMap a/b" in str(err)


def test_status_message_and_reason_are_kept() -> None:
    body = json.dumps(
        {
            "kind": "Status",
            "status": "Failure",
            "reason": "AlreadyExists",
            "message": 'configmaps "x" already exists',
            "code": 409,
        }
    )
    err = api_error_from_status(409, body.encode(), action="create ConfigMap a/x")
    assert err.reason == "AlreadyExists"
    assert 'configmaps "x" already exists' in str(err)
    assert err.hint  # says what to do next


def test_bodies_that_are_not_status_never_reach_the_message() -> None:
    secret = {"kind": "Secret", "apiVersion": "v1", "data": {"password": "c3VwZXJzZWNyZXQ="}}
    err = api_error_from_status(500, json.dumps(secret), action="apply Secret a/s")
    assert "c3VwZXJzZWNyZXQ" not in str(err)
    assert trim_status("raw text with supersecret") == "<non-JSON error body, 25 characters>"


def test_long_status_messages_are_trimmed() -> None:
    body = {"kind": "Status", "message": "x" * 5000}
    assert len(trim_status(body)) <= 500


def test_retry_after_from_header_and_details() -> None:
    body = {"kind": "Status", "reason": "TooManyRequests", "details": {"retryAfterSeconds": 3}}
    assert api_error_from_status(429, body, action="x").retry_after == 3.0
    assert api_error_from_status(429, b"", action="x", headers={"Retry-After": "1"}).retry_after == 1.0
    assert api_error_from_status(429, b"", action="x", headers={"Retry-After": "soon"}).retry_after is None


def test_schema_errors_reported_as_500_are_invalid_not_server_errors() -> None:
    body = {
        "kind": "Status",
        "code": 500,
        "message": "failed to create typed patch object (ns/w1; x/v1, "
        "Kind=Widget): .spec.size: expected numeric (int or float), got string",
    }
    err = api_error_from_status(500, body, action="apply Widget ns/w1")
    assert type(err) is InvalidError
    assert ".spec.size: expected numeric" in str(err)
