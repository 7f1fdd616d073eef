"""What a DAM-sync integration does, over real HTTP against a live server with its embedded
worker: token, upload, asset in a folder, field value and label, renditions, file bytes,
filtered listing walked to the end. Every /v3 response is checked against the spec."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time

import httpx
import pytest
from PIL import Image
from sqlalchemy.orm import Session

from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library import renditions
from tests.resources.test_fields import make_field
from tests.support.world import World

pytestmark = pytest.mark.worker


def token(http: httpx.Client, world: World) -> dict[str, str]:
    body = {
        "grant_type": "client_credentials",
        "client_id": world.app.client_id,
        "client_secret": world.client_secret,
    }
    r = http.post("/o/oauth2/v1/token", data=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def photo(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320 + seed, 200), (seed * 20 % 255, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def upload(http: httpx.Client, auth: dict[str, str], data: bytes) -> str:
    form = http.get("/v3/upload-url", headers=auth).json()
    fields = form["upload_meta_fields"]
    # Every meta field in the order received, then the binary as "file", last.
    r = httpx.post(form["url"], data=fields, files={"file": ("photo.jpg", data, "image/jpeg")})
    assert r.status_code == 204, r.text
    return str(fields["key"])


def test_dam_sync_flow(http: httpx.Client, db: Session, world: World) -> None:
    renditions.create_config(db, world.org.id, name="thumb", width=64, height=64)
    region = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    channel = make_field(db, world.org.id, "dropdown", "Channel")
    db.commit()
    emea, web = region.values[0].id, channel.choices[0].id
    auth = token(http, world)

    folder = http.post("/v3/folders", json={"name": "Campaign 2027"}, headers=auth).json()
    originals: dict[str, bytes] = {}
    for i in range(5):
        data = photo(i)
        key = upload(http, auth, data)
        r = http.post(
            "/v3/assets",
            json={"key": key, "title": f"Photo {i}", "folder_id": folder["id"]},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        originals[r.json()["id"]] = data
    first = next(iter(originals))

    field_body = [{"id": channel.id, "type": "dropdown", "values": [web]}]
    assert http.put(f"/v3/assets/{first}/fields", json=field_body, headers=auth).status_code == 200
    label_body = {"labels": [{"group": region.id, "values": [emea]}]}
    assert http.patch(f"/v3/images/{first}", json=label_body, headers=auth).status_code == 200

    deadline = time.monotonic() + 30
    while not (done := http.get(f"/v3/assets/{first}/renditions", headers=auth).json()["data"]):
        assert time.monotonic() < deadline, "renditions never finished"
        time.sleep(0.2)
    assert done[0]["mime_type"] == "image/jpeg"

    urls = http.post("/v3/file-urls", json={"guids": list(originals)}, headers=auth).json()["urls"]
    for asset_id, data in originals.items():
        got = httpx.get(urls[asset_id])
        assert got.status_code == 200
        assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()

    label = json.dumps({"group": region.id, "values": [emea]})
    fields = base64.b64encode(json.dumps([{"id": channel.id, "values": [web]}]).encode()).decode()
    for params in ({"label": label}, {"fields": fields}):
        r = http.get("/v3/assets", params={**params, "type": "image"}, headers=auth)
        assert [a["id"] for a in r.json()["data"]] == [first]

    seen: list[str] = []
    url: str | None = "/v3/assets"
    params: dict[str, str] | None = {"folder_id": folder["id"], "type": "image", "page_size": "2"}
    while url:
        body = http.get(url, params=params, headers=auth).json()
        assert body["total_count"] == 5
        seen += [a["id"] for a in body["data"]]
        url, params = body["pagination"]["next"], None
    assert sorted(seen) == sorted(originals)
