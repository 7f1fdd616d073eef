"""Library assets: create from uploads, read/update/delete by type, list filters, versions,
URLs, permissions, lineages and related assets."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.identity import service as identity
from cmpapi.server.resources.labels import service as labels
from tests.support.mixins import ResourceTests
from tests.support.uploads import jpeg, upload
from tests.support.world import World

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def create(client: Any, world: World, data: bytes, title: str = "Asset", **extra: Any) -> Any:
    key = upload(client, world, data)
    return client.post(
        "/v3/assets", json={"key": key, "title": title, **extra}, headers=world.auth()
    )


def download(client: Any, url: str) -> bytes:
    parts = urlsplit(url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    return bytes(response.content)


class TestImages(ResourceTests):
    list_path = "/v3/assets"
    item_path = "/v3/images/{id}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [
            create(self.client, world, jpeg(8 + i, 8), f"Image {i}").json()["id"] for i in range(n)
        ]


def test_upload_create_get_and_download(client, world: World) -> None:
    data = jpeg(64, 48)
    folder = client.post("/v3/folders", json={"name": "pics"}, headers=world.auth()).json()
    r = create(client, world, data, "Red square", folder_id=folder["id"])
    assert r.status_code == 201, r.text
    asset = r.json()
    assert (asset["type"], asset["mime_type"], asset["file_extension"]) == (
        "image",
        "image/jpeg",
        "jpg",
    )
    assert asset["links"]["self"] == f"https://testserver/v3/images/{asset['id']}"
    assert asset["file_location"] == "/pics"
    assert hashlib.sha256(download(client, asset["content"]["value"])).digest() == (
        hashlib.sha256(data).digest()
    )
    image = client.get(f"/v3/images/{asset['id']}", headers=world.auth()).json()
    assert image["image_resolution"] == {"width": 64, "height": 48}
    assert (image["file_size"], image["version_number"]) == (len(data), 1)
    assert image["owner_id"] == world.users["admin"].id


def test_types_come_from_the_bytes(client, world: World) -> None:
    raw = create(client, world, PDF, "Doc").json()
    assert (raw["type"], raw["mime_type"]) == ("raw_file", "application/pdf")
    assert client.get(f"/v3/raw-files/{raw['id']}", headers=world.auth()).status_code == 200
    assert client.get(f"/v3/images/{raw['id']}", headers=world.auth()).status_code == 404


def test_unknown_or_foreign_key_is_422_naming_the_key(client, db, world: World) -> None:
    r = client.post("/v3/assets", json={"key": "f" * 32, "title": "x"}, headers=world.auth())
    assert r.status_code == 422
    assert "key" in r.json()["errors"]
    r = client.post("/v3/assets", json={"title": "x"}, headers=world.auth())
    assert r.status_code == 422


def test_update_move_and_events(client, db: Session, world: World) -> None:
    asset = create(client, world, jpeg(), "Before").json()
    folder = client.post("/v3/folders", json={"name": "dest"}, headers=world.auth()).json()
    body = {
        "title": "After",
        "tags": ["a", "b"],
        "alt_text": "alt",
        "folder_id": folder["id"],
        "is_archived": True,
    }
    r = client.patch(f"/v3/images/{asset['id']}", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    image = r.json()
    assert (image["title"], image["alt_text"], image["is_archived"]) == ("After", "alt", True)
    assert [t["name"] for t in image["tags"]] == ["a", "b"]
    assert image["file_location"] == "/dest"
    r = client.patch(f"/v3/images/{asset['id']}", json={"bogus": 1}, headers=world.auth())
    assert r.status_code == 422
    names = [e.event_name for e in db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))]
    assert names == ["asset_added", "asset_modified"]
    added = db.scalars(select(OutboxEvent).where(OutboxEvent.event_name == "asset_added")).one()
    assert added.data["asset"]["links"]["self"].endswith(f"/v3/images/{asset['id']}")
    assert added.data["asset"]["owner_organization_id"] == world.org.id


def test_delete_by_type(client, db: Session, world: World) -> None:
    image = create(client, world, jpeg()).json()
    raw = create(client, world, PDF).json()
    assert client.delete(f"/v3/raw-files/{image['id']}", headers=world.auth()).status_code == 404
    assert client.delete(f"/v3/images/{image['id']}", headers=world.auth()).status_code == 204
    r = client.delete(f"/v3/raw-files/{raw['id']}", headers=world.auth())
    assert (r.status_code, r.content) == (200, b"")
    assert client.get(f"/v3/images/{image['id']}", headers=world.auth()).status_code == 404
    removed = db.scalars(select(OutboxEvent).where(OutboxEvent.event_name == "asset_removed")).all()
    assert {e.data["asset"]["id"] for e in removed} == {image["id"], raw["id"]}
    assert all("links" not in e.data["asset"] for e in removed)


def test_versions_keep_history(client, world: World) -> None:
    asset = create(client, world, jpeg(10, 10), "v1").json()
    key = upload(client, world, jpeg(20, 30))
    r = client.post(
        f"/v3/assets/{asset['id']}/versions", json={"key": key, "title": "v2"}, headers=world.auth()
    )
    assert r.status_code == 201, r.text
    assert (r.json()["version_number"], r.json()["type"]) == (2, "image")
    image = client.get(f"/v3/images/{asset['id']}", headers=world.auth()).json()
    assert (image["version_number"], image["title"]) == (2, "v2")
    assert image["image_resolution"] == {"width": 20, "height": 30}


def test_asset_url_redirects_to_the_type_endpoint(client, world: World) -> None:
    raw = create(client, world, PDF).json()
    r = client.get(f"/v3/asset-urls/{raw['id']}", headers=world.auth())
    assert r.status_code == 302
    assert r.headers["location"] == f"https://testserver/v3/raw-files/{raw['id']}"
    assert r.headers["x-resource-location"] == "library"


def ids(client: Any, world: World, who: str = "admin", **params: Any) -> list[str]:
    r = client.get("/v3/assets", params={"page_size": 100, **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["data"]]


def test_list_filters(client, world: World) -> None:
    top = client.post("/v3/folders", json={"name": "top"}, headers=world.auth()).json()["id"]
    sub = client.post(
        "/v3/folders", json={"name": "sub", "parent_folder_id": top}, headers=world.auth()
    ).json()["id"]
    a = create(client, world, jpeg(), "Alpha sunset", folder_id=top).json()["id"]
    b = create(client, world, PDF, "Beta report", folder_id=sub).json()["id"]
    c = create(client, world, jpeg(), "Gamma 100%").json()["id"]
    assert set(ids(client, world, type="image")) == {a, c}
    assert set(ids(client, world, type=["image", "raw_file"])) == {a, b, c}
    assert set(ids(client, world, folder_id=top)) == {a, b}
    assert ids(client, world, folder_id=top, include_subfolder_assets="false") == [a]
    assert ids(client, world, search_text="SUNSET") == [a]
    assert ids(client, world, search_text="100%") == [c]
    assert ids(client, world, created_at__from="2999-01-01T00:00:00Z") == []
    r = client.get("/v3/assets", headers=world.auth())
    assert r.json()["total_count"] == 3
    label = json.dumps({"group": "0" * 32, "values": ["1" * 32]})
    assert ids(client, world, label=label) == []
    assert (
        client.get("/v3/assets", params={"label": "{nope"}, headers=world.auth()).status_code == 400
    )
    assert client.get("/v3/assets", params={"type": "pdf"}, headers=world.auth()).status_code == 400


def test_permissions_hide_and_share_assets(client, world: World) -> None:
    folder = client.post("/v3/folders", json={"name": "shared"}, headers=world.auth()).json()["id"]
    inside = create(client, world, jpeg(), "inside", folder_id=folder).json()["id"]
    loose = create(client, world, jpeg(), "loose").json()["id"]
    member = world.users["member"].id
    assert ids(client, world, "member") == []
    assert client.get(f"/v3/images/{loose}", headers=world.auth("member")).status_code == 403
    share = {"type": "user", "permissions": [{"id": member, "access_type": "view"}]}
    client.post(f"/v3/folders/{folder}/permissions", json=share, headers=world.auth())
    assert ids(client, world, "member") == [inside]
    r = client.post(f"/v3/assets/{loose}/permissions", json=share, headers=world.auth())
    assert r.status_code == 204
    assert set(ids(client, world, "member")) == {inside, loose}
    perms = client.get(f"/v3/assets/{loose}/permissions", headers=world.auth()).json()["data"]
    assert {p["id"] for p in perms} == {world.users["admin"].id, member}
    r = client.patch(f"/v3/images/{loose}", json={"title": "x"}, headers=world.auth("member"))
    assert r.status_code == 403


def test_lineages(client, world: World) -> None:
    asset = create(client, world, jpeg()).json()["id"]
    body = {"name": "Blog", "uri": "https://blog.example.com/post", "icon_url": "https://i/x.ico"}
    r = client.post(f"/v3/assets/{asset}/lineages", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    lineage = r.json()
    assert (lineage["used_in"], lineage["rendition_id"]) == ("external", None)
    listed = client.get(
        "/v3/asset-lineages", params={"asset_id": [asset, "x" * 32]}, headers=world.auth()
    ).json()["data"]
    assert [x["id"] for x in listed] == [lineage["id"]]
    # The other filters, each bound to a value of the request.
    for params, found in (
        ({"used_in": "external"}, [lineage["id"]]),
        ({"created_at__from": "2000-01-01T00:00:00Z"}, [lineage["id"]]),
        ({"created_at__from": "2999-01-01T00:00:00Z"}, []),
        ({"created_at__to": "2000-01-01T00:00:00Z"}, []),
        ({"created_at__to": "2999-01-01T00:00:00Z", "used_in": "external"}, [lineage["id"]]),
    ):
        r = client.get("/v3/asset-lineages", params=params, headers=world.auth())
        assert [x["id"] for x in r.json()["data"]] == found, params
    bad = {"name": "x", "uri": "ftp://example.com/f"}
    assert (
        client.post(f"/v3/assets/{asset}/lineages", json=bad, headers=world.auth()).status_code
        == 422
    )
    url = f"/v3/assets/{asset}/lineages/{lineage['id']}"
    assert client.delete(url, headers=world.auth()).status_code == 204
    assert client.delete(url, headers=world.auth()).status_code == 404


def test_related_assets(client, world: World) -> None:
    a, b, c = (create(client, world, jpeg(), t).json()["id"] for t in "abc")
    body = {"related_assets": [{"id": c}, {"id": b}, {"id": c}]}
    r = client.put(f"/v3/assets/{a}/related-assets", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json() == {"id": a, "related_assets": [{"id": c}, {"id": b}]}
    listed = client.get(f"/v3/assets/{a}/related-assets", headers=world.auth()).json()["data"]
    assert [x["id"] for x in listed] == [c, b]
    self_ref = {"related_assets": [{"id": a}]}
    assert (
        client.put(
            f"/v3/assets/{a}/related-assets", json=self_ref, headers=world.auth()
        ).status_code
        == 422
    )
    ghost = {"related_assets": [{"id": "0" * 32}]}
    assert (
        client.put(f"/v3/assets/{a}/related-assets", json=ghost, headers=world.auth()).status_code
        == 404
    )


def test_labels_set_filter_and_render(client, db: Session, world: World) -> None:
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    db.commit()
    emea, apac = (v.id for v in group.values)
    a = create(client, world, jpeg(), "a").json()["id"]
    b = create(client, world, jpeg(), "b").json()["id"]
    body = {"labels": [{"group": group.id, "values": [emea]}]}
    r = client.patch(f"/v3/images/{a}", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["labels"] == [
        {"group": {"id": group.id, "name": "Region"}, "values": [{"id": emea, "name": "EMEA"}]}
    ]
    wanted = json.dumps({"group": group.id, "values": [emea, apac]})
    assert ids(client, world, label=wanted) == [a]
    assert b not in ids(client, world, label=wanted)
    bad = {"labels": [{"group": group.id, "values": ["9" * 32]}]}
    r = client.patch(f"/v3/images/{a}", json=bad, headers=world.auth())
    assert r.status_code == 422
    assert "labels.0.values" in r.json()["errors"]


def test_asset_field_values(client, world: World) -> None:
    r = client.post(
        "/v3/fields",
        json={"type": "text", "name": "Caption", "is_active": True},
        headers=world.auth(),
    )
    assert r.status_code == 201, r.text
    (field_id,) = r.json().values()
    asset = create(client, world, jpeg()).json()["id"]
    url = f"/v3/assets/{asset}/fields"
    body = [{"id": field_id, "type": "text", "values": ["Hello"]}]
    r = client.put(url, json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["links"]["asset_url"] == f"https://testserver/v3/asset-urls/{asset}"
    listed = client.get(url, headers=world.auth()).json()["data"]
    assert [(f["id"], f["values"]) for f in listed] == [(field_id, ["Hello"])]
    one = {"type": "text", "values": ["Bye"]}
    r = client.put(f"{url}/{field_id}", json=one, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["values"] == ["Bye"]
    wrong = [{"id": field_id, "type": "text", "values": [5]}]
    assert client.put(url, json=wrong, headers=world.auth()).status_code == 422
    assert client.put(f"{url}/{'0' * 32}", json=one, headers=world.auth()).status_code == 404
    assert client.get(url, headers=world.auth("member")).status_code == 403


def test_file_urls(client, world: World) -> None:
    data = jpeg(5, 5)
    asset = create(client, world, data).json()["id"]
    body = {"guids": [asset, "0" * 32]}
    r = client.post("/v3/file-urls", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    urls = r.json()["urls"]
    assert urls["0" * 32] is None
    assert download(client, urls[asset]) == data
    hidden = client.post("/v3/file-urls", json={"guids": [asset]}, headers=world.auth("member"))
    assert hidden.json()["urls"] == {asset: None}
    assert client.post("/v3/file-urls", json={"guids": []}, headers=world.auth()).status_code == 422


def test_assets_own_their_files(client, world: World) -> None:
    # Two assets from one key, then a re-upload to the key: each keeps its own bytes.
    first = jpeg(6, 6, "blue")
    key = upload(client, world, first)
    a = client.post("/v3/assets", json={"key": key, "title": "a"}, headers=world.auth()).json()
    b = client.post("/v3/assets", json={"key": key, "title": "b"}, headers=world.auth()).json()
    assert client.delete(f"/v3/images/{a['id']}", headers=world.auth()).status_code == 204
    assert download(client, b["content"]["value"]) == first


class TestAssetLineages(ResourceTests):
    list_path = "/v3/asset-lineages"
    item_path = None  # the spec has no getAssetLineage

    def make(self, db: Session, world: World, n: int) -> list[str]:
        asset = create(self.client, world, jpeg()).json()["id"]
        body = {"name": "Site", "uri": "https://example.com/page"}
        return [
            self.client.post(
                f"/v3/assets/{asset}/lineages", json=body, headers=world.auth()
            ).json()["id"]
            for _ in range(n)
        ]


class TestRelatedAssets(ResourceTests):
    list_path = "/v3/assets/{parent}/related-assets"
    item_path = "/v3/images/{id}"

    def parent(self, db: Session, world: World) -> str:
        return str(create(self.client, world, jpeg(), "parent").json()["id"])

    def make(self, db: Session, world: World, n: int) -> list[str]:
        parent = self.parent_of(world)
        made = [create(self.client, world, jpeg(), f"r{i}").json()["id"] for i in range(n)]
        url = f"/v3/assets/{parent}/related-assets"
        page = self.client.get(url, params={"page_size": 100}, headers=world.auth()).json()
        current = [a["id"] for a in page["data"]]
        body = {"related_assets": [{"id": i} for i in current + made]}
        assert self.client.put(url, json=body, headers=world.auth()).status_code == 200
        return made


class TestAssetFields(ResourceTests):
    list_path = "/v3/assets/{parent}/fields"
    item_path = None  # fields are read through the list

    def parent(self, db: Session, world: World) -> str:
        return str(create(self.client, world, jpeg(), "with fields").json()["id"])

    def make(self, db: Session, world: World, n: int) -> list[str]:
        url = f"/v3/assets/{self.parent_of(world)}/fields"
        current = self.client.get(url, params={"page_size": 100}, headers=world.auth()).json()
        items = [{"id": f["id"], "type": "text", "values": f["values"]} for f in current["data"]]
        made = []
        for i in range(n):
            body = {
                "type": "text",
                "name": f"F{len(items) + i}-{world.org.id[:6]}",
                "is_active": True,
            }
            (field_id,) = (
                self.client.post("/v3/fields", json=body, headers=world.auth()).json().values()
            )
            made.append(field_id)
        items += [{"id": f, "type": "text", "values": ["v"]} for f in made]
        assert self.client.put(url, json=items, headers=world.auth()).status_code == 200
        return made


class TestAssetPermissions(ResourceTests):
    list_path = "/v3/assets/{parent}/permissions"
    item_path = None  # accessors are read through the list
    baseline = 1  # the owner

    def parent(self, db: Session, world: World) -> str:
        return str(create(self.client, world, jpeg(), "shared").json()["id"])

    def make(self, db: Session, world: World, n: int) -> list[str]:
        parent = self.parent_of(world)
        users = [
            identity.create_user(
                db, world.org.id, email=f"p{i}-{new_id()}@example.com", name=f"Reader {i}"
            ).id
            for i in range(n)
        ]
        db.commit()
        grant = {"type": "user", "permissions": [{"id": u, "access_type": "view"} for u in users]}
        r = self.client.post(f"/v3/assets/{parent}/permissions", json=grant, headers=world.auth())
        assert r.status_code == 204, r.text
        return users


def test_empty_folder_id_moves_an_asset_to_the_root(client, world: World) -> None:
    """Found by fuzzing: ``""`` skipped the folder check and was written to the foreign key
    (500); it means the root, as it does for createAsset."""
    folder = client.post("/v3/folders", json={"name": "f"}, headers=world.auth()).json()
    asset = create(client, world, jpeg(), folder_id=folder["id"]).json()
    r = client.patch(f"/v3/images/{asset['id']}", json={"folder_id": ""}, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["file_location"] == "/"


def test_filtering_by_an_unknown_folder_is_400(client, world: World) -> None:
    """Found by fuzzing: listAssets and listFolders declare no 404."""
    for path, param in (("/v3/assets", "folder_id"), ("/v3/folders", "parent_folder_id")):
        r = client.get(path, params={param: "0" * 32}, headers=world.auth())
        assert r.status_code == 400, r.text
        assert r.json()["errors"] == {param: "No such folder"}


def test_refused_creates_leave_no_copied_file(client, world: World, app) -> None:
    """Found by the authorization matrix: the upload was copied before the refusal."""
    store_root = app.state.settings.data_dir
    before = sorted(p.name for p in store_root.rglob("*") if "assets" in p.parts)
    key = upload(client, world, jpeg())
    r = client.post("/v3/assets", json={"key": key, "title": "t"}, headers=world.auth("viewer"))
    assert r.status_code == 403
    body = {"key": key, "title": "t", "folder_id": "0" * 32}
    r = client.post("/v3/assets", json=body, headers=world.auth())
    assert r.status_code == 422
    assert r.json()["errors"] == {"folder_id": "No such folder"}
    after = sorted(p.name for p in store_root.rglob("*") if "assets" in p.parts)
    assert after == before
