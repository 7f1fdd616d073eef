"""Browser-based (POST) uploads with a signed policy, as S3 defines them, for the local
backend: the server issues the same ``upload_meta_fields`` S3 would, and checks a posted form
the way S3 does (signature, expiry, every condition, no unlisted field).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cmpapi.server.storage.sigv4 import ALGORITHM, amz_date, credential, sign_policy

# S3 never asks these to be covered by a condition.
_EXEMPT = frozenset({"policy", "x-amz-signature", "file"})
_REQUIRED = ("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date")


class PostRejected(Exception):
    """A refused POST upload, with the S3 status, error code and message to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _denied(detail: str) -> PostRejected:
    return PostRejected(403, "AccessDenied", f"Invalid according to Policy: {detail}")


@dataclass(frozen=True, slots=True)
class PostSigner:
    """Issues and checks POST policies with one secret (the deployment's local key)."""

    secret: str
    access_key: str
    region: str
    bucket: str

    def fields(self, key: str, *, max_size: int, ttl: int, now: datetime) -> dict[str, str]:
        """The ``upload_meta_fields`` for ``key``, in the CMP's order."""
        stamp = amz_date(now)
        cred = credential(self.access_key, stamp[:8], self.region)
        expiration = (now + timedelta(seconds=ttl)).astimezone(UTC)
        policy = {
            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": [
                {"bucket": self.bucket},
                {"key": key},
                ["content-length-range", 0, max_size],
                {"x-amz-algorithm": ALGORITHM},
                {"x-amz-credential": cred},
                {"x-amz-date": stamp},
            ],
        }
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        return {
            "key": key,
            "policy": encoded,
            "x-amz-algorithm": ALGORITHM,
            "x-amz-credential": cred,
            "x-amz-date": stamp,
            "x-amz-signature": sign_policy(encoded, self.secret, stamp[:8], self.region),
        }

    def verify(self, pairs: Sequence[tuple[str, str]], *, now: datetime) -> AcceptedPost:
        """Check the form fields that preceded ``file``; raise PostRejected like S3 would."""
        form = _form(pairs)
        missing = [name for name in (*_REQUIRED, "x-amz-signature") if name not in form]
        if missing:
            raise PostRejected(
                400, "InvalidArgument", f"Bucket POST must contain a field named '{missing[0]}'"
            )
        self._check_signature(form)
        policy = _decode_policy(form["policy"])
        _check_expiry(policy, now)
        return _check_conditions(policy["conditions"], form, self.bucket)

    def _check_signature(self, form: dict[str, str]) -> None:
        if form["x-amz-algorithm"] != ALGORITHM:
            raise PostRejected(400, "InvalidArgument", "Unsupported x-amz-algorithm")
        parts = form["x-amz-credential"].split("/")
        stamp = form["x-amz-date"]
        if (
            len(parts) != 5
            or parts[0] != self.access_key
            or parts[1] != stamp[:8]
            or parts[2:] != [self.region, "s3", "aws4_request"]
        ):
            raise PostRejected(403, "InvalidAccessKeyId", "The credential is not valid here")
        expected = sign_policy(form["policy"], self.secret, parts[1], self.region)
        if not hmac.compare_digest(expected, form["x-amz-signature"].lower()):
            raise PostRejected(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )


@dataclass(frozen=True, slots=True)
class AcceptedPost:
    """A verified form: where the file goes and how large it may be."""

    key: str
    min_size: int
    max_size: int | None


def _form(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    form: dict[str, str] = {}
    for name, value in pairs:
        lowered = name.lower()
        if lowered in form:
            raise PostRejected(400, "InvalidArgument", f"Field {name} appears more than once")
        form[lowered] = value
    return form


def _decode_policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: not JSON") from exc
    if (
        not isinstance(policy, dict)
        or not isinstance(policy.get("expiration"), str)
        or not isinstance(policy.get("conditions"), list)
    ):
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: missing parts")
    return policy


def _check_expiry(policy: dict[str, Any], now: datetime) -> None:
    try:
        expiration = datetime.fromisoformat(policy["expiration"])
    except ValueError as exc:
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: expiration") from exc
    if expiration.tzinfo is None or now >= expiration:
        raise _denied("Policy expired.")


def _check_conditions(conditions: list[Any], form: dict[str, str], bucket: str) -> AcceptedPost:
    covered: set[str] = set()
    min_size, max_size = 0, None
    for condition in conditions:
        if isinstance(condition, list) and condition[:1] == ["content-length-range"]:
            min_size, max_size = _length_range(condition)
            continue
        name, ok = _evaluate(condition, form, bucket)
        if not ok:
            raise _denied(f"Policy Condition failed: {json.dumps(condition)}")
        covered.add(name)
    extra = sorted(
        name
        for name in form
        if name not in covered and name not in _EXEMPT and not name.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
    return AcceptedPost(form["key"], min_size, max_size)


def _length_range(condition: list[Any]) -> tuple[int, int]:
    if (
        len(condition) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in condition[1:])
        or not 0 <= condition[1] <= condition[2]
    ):
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid content-length-range")
    return condition[1], condition[2]


def _evaluate(condition: Any, form: dict[str, str], bucket: str) -> tuple[str, bool]:
    """(field name, whether the form satisfies the condition)."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, expected),) = condition.items()
        op = "eq"
    elif (
        isinstance(condition, list)
        and len(condition) == 3
        and condition[0]
        in (
            "eq",
            "starts-with",
        )
    ):
        op, name, expected = condition
        if not isinstance(name, str) or not name.startswith("$"):
            raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: condition")
        name = name[1:]
    else:
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: condition")
    name = str(name).lower()
    actual = bucket if name == "bucket" else form.get(name)
    if actual is None or not isinstance(expected, str):
        return name, False
    return name, actual == expected if op == "eq" else actual.startswith(expected)
