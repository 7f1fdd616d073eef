"""Uploader: getUploadUrl, createMultipartUpload, completeMultipartUpload,
getMultipartUploadStatus, through the contract-checking client on SQLite and PostgreSQL
(local storage backend; the S3 backend's flows are in tests/storage/test_upload_flow.py)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from cmpapi.server.errors import Invalid
from cmpapi.server.http.deps import Db
from cmpapi.server.resources.uploader.service import (
    assemble_multipart,
    part_problems,
    plan_multipart,
)
from cmpapi.server.storage import require_upload_key
from cmpapi.server.storage.tables import MultipartUpload
from tests.support.world import World, build_world

MiB = 1024 * 1024

pytestmark = pytest.mark.worker


def test_get_upload_url_issues_a_signed_form(client: Any, db: Session, world: World) -> None:
    r = client.get("/v3/upload-url", headers=world.auth("member"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"] == "https://testserver/uploads"
    fields = body["upload_meta_fields"]
    assert list(fields) == [
        "key",
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ]
    assert len(fields["key"]) == 32
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = json.loads(base64.b64decode(fields["policy"]))
    expires = datetime.fromisoformat(policy["expiration"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(minutes=60)
    assert {"key": fields["key"]} in policy["conditions"]
    assert ["content-length-range", 0, 5 * 1024**3] in policy["conditions"]
    # The key is now this organization's, and nobody else's.
    require_upload_key(db, world.org.id, fields["key"])
    other = build_world(db, org_name="Other", prefix="other-")
    with pytest.raises(Invalid):
        require_upload_key(db, other.org.id, fields["key"])


def test_upload_url_needs_a_token_and_write_access(client: Any, world: World) -> None:
    assert client.get("/v3/upload-url").status_code == 401
    r = client.get("/v3/upload-url", headers=world.auth("viewer"))
    assert r.status_code == 403
    assert r.json() == {"message": "You do not have the permission to perform this operation"}


def create_upload(client: Any, world: World, who: str = "member", **body: int) -> Any:
    return client.post("/v3/multipart-uploads", json=body, headers=world.auth(who))


def test_create_multipart_upload_is_gzip_encoded(
    raw_client: Any, client: Any, world: World
) -> None:
    with raw_client.stream(
        "POST", "/v3/multipart-uploads", json={"file_size": 12 * MiB + 1}, headers=world.auth()
    ) as r:
        assert r.status_code == 201
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["content-type"] == "application/json"
        raw = b"".join(r.iter_raw())
    assert json.loads(gzip.decompress(raw))["upload_part_count"] == 3
    r = create_upload(client, world, file_size=12 * MiB + 1)
    body = r.json()
    assert body["upload_part_count"] == 3
    assert len(body["upload_part_urls"]) == 3
    upload_id = body["id"]
    assert body["links"] == {
        "complete": f"https://testserver/v3/multipart-uploads/{upload_id}/complete",
        "status": f"https://testserver/v3/multipart-uploads/{upload_id}/status",
    }
    assert body["upload_part_urls"][0].startswith(
        f"https://testserver/uploads/parts/{upload_id}/1?size={5 * MiB}&expires="
    )
    assert body["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"file_size": 0}, "file_size"),
        ({"file_size": 5 * 1024**4 + 1}, "file_size"),
        ({"file_size": 100, "part_size": 5 * MiB - 1}, "part_size"),
        ({"file_size": 100, "part_size": 5 * 1024**3 + 1}, "part_size"),
        ({"file_size": 10_001 * 5 * MiB}, "part_size"),  # 10,001 parts at the default size
        ({}, "file_size"),
    ],
)
def test_create_multipart_upload_limits(
    client: Any, world: World, body: dict[str, int], field: str
) -> None:
    r = create_upload(client, world, **body)
    assert r.status_code == 422, r.text
    assert field in r.json()["errors"]


def test_ten_thousand_parts_is_the_maximum(client: Any, world: World) -> None:
    r = create_upload(client, world, file_size=10_000 * 5 * MiB)
    assert r.status_code == 201
    assert r.json()["upload_part_count"] == 10_000
    assert len(set(r.json()["upload_part_urls"])) == 10_000


def put_parts(client: Any, urls: list[str], data: bytes, part_size: int) -> None:
    for index, url in enumerate(urls):
        part = data[index * part_size : (index + 1) * part_size]
        r = client.put(url, content=part)
        assert r.status_code == 200, r.text
        assert r.headers["etag"]


def wait_for(client: Any, world: World, upload_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(
            f"/v3/multipart-uploads/{upload_id}/status", headers=world.auth("viewer")
        ).json()
        if body["status"] not in ("UPLOAD_COMPLETION_IN_PROGRESS",):
            return body
        time.sleep(0.05)
    raise AssertionError("assembly did not finish")


def test_multipart_round_trip(client: Any, db: Session, world: World) -> None:
    data = bytes(range(256)) * (44 * 1024)  # 11 MiB: parts of 5, 5 and 1 MiB
    created = create_upload(client, world, file_size=len(data)).json()
    upload_id = created["id"]
    status = client.get(f"/v3/multipart-uploads/{upload_id}/status", headers=world.auth()).json()
    assert status["status"] == "UPLOAD_COMPLETION_NOT_STARTED"
    assert status["status_message"] is None
    key = status["key"]
    assert key.endswith(f"/{upload_id}") and len(key) == 65
    put_parts(client, created["upload_part_urls"], data, 5 * MiB)
    r = client.post(f"/v3/multipart-uploads/{upload_id}/complete", headers=world.auth("member"))
    assert r.status_code == 202, r.text
    assert r.json() == {
        "key": key,
        "links": {"status": f"https://testserver/v3/multipart-uploads/{upload_id}/status"},
    }
    done = wait_for(client, world, upload_id)
    assert done["status"] == "UPLOAD_COMPLETION_SUCCEEDED", done
    require_upload_key(db, world.org.id, key)
    # Completing again changes nothing; parts are no longer accepted.
    again = client.post(f"/v3/multipart-uploads/{upload_id}/complete", headers=world.auth())
    assert again.status_code == 202
    late = client.put(created["upload_part_urls"][0], content=data[: 5 * MiB])
    assert late.status_code == 404
    assert b"NoSuchUpload" in late.content


def test_missing_parts_fail_with_a_message_and_can_be_retried(client: Any, world: World) -> None:
    data = b"z" * (10 * MiB + 5)
    created = create_upload(client, world, file_size=len(data)).json()
    upload_id, urls = created["id"], created["upload_part_urls"]
    put_parts(client, urls[:1], data, 5 * MiB)
    client.post(f"/v3/multipart-uploads/{upload_id}/complete", headers=world.auth())
    failed = wait_for(client, world, upload_id)
    assert failed["status"] == "UPLOAD_COMPLETION_FAILED"
    assert failed["status_message"] == "Missing parts: 2, 3"
    # Resume: send what was missing, complete again.
    r = client.put(urls[1], content=data[5 * MiB : 10 * MiB])
    assert r.status_code == 200
    r = client.put(urls[2], content=data[10 * MiB :])
    assert r.status_code == 200
    client.post(f"/v3/multipart-uploads/{upload_id}/complete", headers=world.auth())
    assert wait_for(client, world, upload_id)["status"] == "UPLOAD_COMPLETION_SUCCEEDED"


def test_parts_of_the_wrong_size_are_refused(client: Any, world: World) -> None:
    created = create_upload(client, world, file_size=6 * MiB).json()
    first, last = created["upload_part_urls"]
    too_short = client.put(first, content=b"a" * 100)
    assert too_short.status_code == 400
    assert b"<Code>IncompleteBody</Code>" in too_short.content
    too_long = client.put(last, content=b"a" * (MiB + 1))
    assert too_long.status_code == 400
    assert b"<Code>EntityTooLarge</Code>" in too_long.content
    forged = client.put(first.replace("size=5242880", "size=100"), content=b"a" * 100)
    assert forged.status_code == 403
    assert b"SignatureDoesNotMatch" in forged.content


def test_other_organizations_get_404(client: Any, db: Session, world: World) -> None:
    created = create_upload(client, world, file_size=100).json()
    other = build_world(db, org_name="Other", prefix="other-")
    for method, path in (
        ("get", f"/v3/multipart-uploads/{created['id']}/status"),
        ("post", f"/v3/multipart-uploads/{created['id']}/complete"),
        ("get", "/v3/multipart-uploads/nope/status"),
    ):
        r = client.request(method, path, headers=other.auth())
        assert r.status_code == 404
        assert r.json() == {"message": "Resource not found"}


def test_viewers_may_watch_but_not_upload(client: Any, world: World) -> None:
    assert create_upload(client, world, who="viewer", file_size=10).status_code == 403
    created = create_upload(client, world, file_size=10).json()
    path = f"/v3/multipart-uploads/{created['id']}"
    assert client.post(f"{path}/complete", headers=world.auth("viewer")).status_code == 403
    assert client.get(f"{path}/status", headers=world.auth("viewer")).status_code == 200


def test_expired_uploads_cannot_complete(client: Any, db: Session, world: World) -> None:
    created = create_upload(client, world, file_size=10).json()
    past = datetime.now(UTC) - timedelta(minutes=1)
    db.execute(
        update(MultipartUpload).where(MultipartUpload.id == created["id"]).values(expires_at=past)
    )
    db.commit()
    r = client.post(f"/v3/multipart-uploads/{created['id']}/complete", headers=world.auth())
    assert r.status_code == 422
    assert r.json()["message"] == "The multipart upload has expired"
    assert client.put(created["upload_part_urls"][0], content=b"x" * 10).status_code == 404


def test_part_checks_and_plans() -> None:
    assert part_problems({1: 5, 2: 5, 3: 1}, [5, 5, 1]) is None
    assert part_problems({2: 5}, [5, 5, 1]) == "Missing parts: 1, 3"
    many = part_problems({}, [5] * 25)
    assert many == "Missing parts: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 15 more"
    assert part_problems({1: 4, 2: 5, 3: 2}, [5, 5, 1]) == (
        "Part 1 has 4 bytes, expected 5; 1 more part(s) of the wrong size"
    )
    assert plan_multipart(11, 5).part_sizes == [5, 5, 1]
    assert plan_multipart(10, 5).part_sizes == [5, 5]
    with pytest.raises(Invalid) as info:
        plan_multipart(5 * 1024**4, 5 * MiB)
    assert "part_size >= 549755814" in info.value.message


def test_assembly_runs_once(app: Any, client: Any, world: World) -> None:
    created = create_upload(client, world, file_size=10).json()
    put_parts(client, created["upload_part_urls"], b"0123456789", 10)
    client.post(f"/v3/multipart-uploads/{created['id']}/complete", headers=world.auth())
    assert wait_for(client, world, created["id"])["status"] == "UPLOAD_COMPLETION_SUCCEEDED"
    db = Db(app.state.db_runner, app.state.sessionmaker)
    again = asyncio.run(assemble_multipart(app.state.store, db, created["id"]))
    assert again is None  # a retried job finds nothing to do
