"""Our signatures against botocore's (the reference implementation of AWS SigV4), and the
local backend's POST-policy and URL checks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.session
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials

from cmpapi.server.storage.postpolicy import PostRejected, PostSigner
from cmpapi.server.storage.sigv4 import Credentials, presign_url
from cmpapi.server.storage.urlsign import UrlSigner, load_or_create_secret

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _botocore_url(method: str, url: str, token: str | None) -> str:
    auth = S3SigV4QueryAuth(BotoCredentials(KEY, SECRET, token), "s3", "eu-west-3", expires=900)
    request = AWSRequest(method=method, url=url)
    auth.add_auth(request)
    return str(request.url)


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////session+token="])
@pytest.mark.parametrize(
    ("method", "origin", "path", "query"),
    [
        (
            "GET",
            "https://s3.eu-west-3.amazonaws.com",
            "/bucket/0123abcd/4567ef",
            {
                "response-content-disposition": 'attachment; filename="a b.pdf"; '
                "filename*=UTF-8''R%C3%A9sum%C3%A9.pdf",
                "response-content-type": "application/pdf",
            },
        ),
        (
            "PUT",
            "http://127.0.0.1:9000",
            "/bucket/k/part~1.bin",
            {"partNumber": "17", "uploadId": "a.b_c-d~e/f+g=h"},
        ),
        ("GET", "https://bucket.s3.eu-west-3.amazonaws.com", "/key", {}),
    ],
)
def test_presigned_urls_match_botocore(
    method: str, origin: str, path: str, query: dict[str, str], token: str | None
) -> None:
    # Let botocore sign first, then sign the same request at the same instant.
    reference_url = f"{origin}{path}"
    if query:
        reference_url += "?" + "&".join(
            f"{k}={v}" for k, v in ((k, _encode(v)) for k, v in query.items())
        )
    reference = _botocore_url(method, reference_url, token)
    stamp = dict(parse_qsl(urlsplit(reference).query))["X-Amz-Date"]
    now = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    creds = Credentials(KEY, SECRET, "eu-west-3", token)
    ours = presign_url(
        creds, method=method, origin=origin, path=path, query=query, expires=900, now=now
    )
    assert urlsplit(ours)[:3] == urlsplit(reference)[:3]
    assert dict(parse_qsl(urlsplit(ours).query)) == dict(parse_qsl(urlsplit(reference).query))


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def test_local_post_form_is_accepted() -> None:
    signer = PostSigner("secret", "cmpapi", "us-east-1", "cmpapi-local")
    now = datetime.now(UTC)
    fields = signer.fields("a" * 32, max_size=100, ttl=3600, now=now)
    assert list(fields) == [
        "key",
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": "a" * 32} in policy["conditions"]
    assert ["content-length-range", 0, 100] in policy["conditions"]
    accepted = signer.verify(list(fields.items()), now=now)
    assert (accepted.key, accepted.min_size, accepted.max_size) == ("a" * 32, 0, 100)
    # Field names are case-insensitive and x-ignore-* fields need no condition (as in S3).
    upper = [(name.upper(), value) for name, value in fields.items()]
    assert signer.verify([*upper, ("x-ignore-me", "1")], now=now).key == "a" * 32


def _rejection(signer: PostSigner, pairs: list[tuple[str, str]], now: datetime) -> PostRejected:
    with pytest.raises(PostRejected) as info:
        signer.verify(pairs, now=now)
    return info.value


def test_local_post_form_refusals() -> None:
    signer = PostSigner("secret", "cmpapi", "us-east-1", "cmpapi-local")
    now = datetime.now(UTC)
    fields = signer.fields("a" * 32, max_size=100, ttl=3600, now=now)

    def changed(**values: str) -> list[tuple[str, str]]:
        return list({**fields, **values}.items())

    bad_sig = _rejection(signer, changed(**{"x-amz-signature": "0" * 64}), now)
    assert (bad_sig.status, bad_sig.code) == (403, "SignatureDoesNotMatch")
    other_key = _rejection(signer, changed(key="b" * 32), now)
    assert (other_key.status, other_key.code) == (403, "AccessDenied")
    assert "Condition failed" in other_key.message
    expired = _rejection(signer, list(fields.items()), now + timedelta(seconds=3601))
    assert expired.status == 403
    assert expired.message == "Invalid according to Policy: Policy expired."
    extra = _rejection(signer, [*fields.items(), ("Content-Type", "text/html")], now)
    assert "Extra input fields: content-type" in extra.message
    missing = _rejection(signer, [p for p in fields.items() if p[0] != "policy"], now)
    assert (missing.status, missing.code) == (400, "InvalidArgument")
    duplicate = _rejection(signer, [*fields.items(), ("key", "a" * 32)], now)
    assert duplicate.status == 400
    other_secret = PostSigner("other", "cmpapi", "us-east-1", "cmpapi-local")
    assert _rejection(other_secret, list(fields.items()), now).code == "SignatureDoesNotMatch"
    foreign = _rejection(signer, changed(**{"x-amz-credential": "AKID/20200101/x/s3/r"}), now)
    assert foreign.code == "InvalidAccessKeyId"


def test_tampered_policy_fails_its_signature() -> None:
    signer = PostSigner("secret", "cmpapi", "us-east-1", "cmpapi-local")
    now = datetime.now(UTC)
    fields = signer.fields("a" * 32, max_size=100, ttl=3600, now=now)
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"][2] = ["content-length-range", 0, 10**12]
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert _rejection(signer, list(fields.items()), now).code == "SignatureDoesNotMatch"


def test_botocore_post_policies_verify_with_our_checker() -> None:
    """The local checker accepts exactly what botocore signs for S3: same algorithm."""
    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    post = client.generate_presigned_post(
        "bucket", "k" * 32, Conditions=[["content-length-range", 1, 50]], ExpiresIn=600
    )
    signer = PostSigner(SECRET, KEY, "us-east-1", "bucket")
    accepted = signer.verify(list(post["fields"].items()), now=datetime.now(UTC))
    assert (accepted.key, accepted.min_size, accepted.max_size) == ("k" * 32, 1, 50)


def test_url_signer_checks_every_signed_part() -> None:
    signer = UrlSigner("secret")
    now = 1_000_000.0
    query = signer.sign("download", "/files/a", {"filename": "x", "type": "t"}, ttl=60, now=now)
    names = ("filename", "type")
    assert signer.verify("download", "/files/a", query, names, now) is None
    assert signer.verify("download", "/files/b", query, names, now) is not None
    assert signer.verify("part", "/files/a", query, names, now) is not None
    assert signer.verify("download", "/files/a", {**query, "type": "u"}, names, now) is not None
    assert signer.verify("download", "/files/a", query, names, now + 61) == (
        "AccessDenied",
        "Request has expired",
    )
    assert signer.verify("download", "/files/a", {**query, "expires": "9" * 30}, names, now)
    assert signer.verify("download", "/files/a", {}, names, now) is not None


def test_secret_is_created_once(tmp_path: Path) -> None:
    data_dir = tmp_path
    first = load_or_create_secret(data_dir)
    assert len(first) == 64
    assert load_or_create_secret(data_dir) == first
    assert (data_dir / "storage-secret").stat().st_mode & 0o777 == 0o600
