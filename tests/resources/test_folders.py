"""Folders and folder permissions (Library tag)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.resources.library import folders
from cmpapi.server.resources.library.tables import Folder
from cmpapi.wire import FolderCreateRequest
from tests.support.mixins import ResourceTests
from tests.support.world import World


def make_folder(db: Session, world: World, name: str, parent: str | None = None) -> str:
    body = FolderCreateRequest(name=name, parent_folder_id=parent)
    return folders.create_folder(db, world.principal("admin"), body).row.id


class TestFolders(ResourceTests):
    list_path = "/v3/folders"
    item_path = "/v3/folders/{id}"
    create_path = "/v3/folders"
    create_data = [
        ({"name": "images"}, {"name": "images", "path": "/images", "parent_folder_id": None}),
        (
            {"name": "icons", "parent_folder_id": "{top}"},
            {"name": "icons", "path": "/top/icons", "parent_folder_id": "{top}"},
        ),
    ]
    invalid_create = [
        ({"name": ""}, "name"),
        ({"name": "x" * 10_000}, "name"),
        ({"name": None}, "name"),
        ({"name": "x", "parent_folder_id": "f" * 32}, None, 404),
    ]
    update_path = "/v3/folders/{id}"
    update_data = [
        ({"name": "renamed"}, {"name": "renamed", "path": "/renamed"}),
        (
            {"parent_folder_id": "{top}"},
            {"parent_folder_id": "{top}", "path": "/top/renamed"},
        ),
        ({"parent_folder_id": None}, {"parent_folder_id": None, "path": "/renamed"}),
    ]
    invalid_update = [
        ({}, "name", 422),
        ({"name": ""}, "name"),
        ({"parent_folder_id": "{id}"}, "parent_folder_id", 400),
        ({"parent_folder_id": "f" * 32}, None, 404),
    ]
    delete_path = "/v3/folders/{id}"
    writer = "admin"  # members write only where a folder is shared with them

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [make_folder(db, world, f"Folder {i}") for i in range(n)]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        return {"top": make_folder(db, world, "top")}


def create(client, world: World, name: str, parent: str | None = None, who: str = "admin"):
    body = {"name": name} if parent is None else {"name": name, "parent_folder_id": parent}
    return client.post("/v3/folders", json=body, headers=world.auth(who))


def test_nested_folders_have_paths_and_links(client, world: World) -> None:
    root = create(client, world, "images").json()
    child = create(client, world, "icons", root["id"])
    assert child.status_code == 201
    body = child.json()
    assert body["path"] == "/images/icons"
    assert body["parent_folder_id"] == root["id"]
    base = "https://testserver/v3"
    assert body["links"] == {
        "self": f"{base}/folders/{body['id']}",
        "parent_folder": f"{base}/folders/{root['id']}",
        "child_folders": f"{base}/folders?parent_folder_id={body['id']}",
        "assets": f"{base}/assets?folder_id={body['id']}&include_subfolder_assets=false",
    }
    assert root["links"]["parent_folder"] is None
    children = client.get(
        "/v3/folders", params={"parent_folder_id": root["id"]}, headers=world.auth()
    )
    assert [f["id"] for f in children.json()["data"]] == [body["id"]]


def test_list_is_newest_change_first(client, db: Session, world: World) -> None:
    a = create(client, world, "a").json()["id"]
    b = create(client, world, "b").json()["id"]
    # Timestamps have whole seconds: age both, then touch `a` through the API.
    for folder_id in (a, b):
        db.get(Folder, folder_id).modified_at = utcnow() - timedelta(days=1)
    db.commit()
    client.patch(f"/v3/folders/{a}", json={"name": "a2"}, headers=world.auth())
    ids = [f["id"] for f in client.get("/v3/folders", headers=world.auth()).json()["data"]]
    assert ids == [a, b]


def test_move_rewrites_the_subtree_and_refuses_cycles(client, world: World) -> None:
    a = create(client, world, "a").json()["id"]
    b = create(client, world, "b", a).json()["id"]
    c = create(client, world, "c", b).json()["id"]
    other = create(client, world, "other").json()["id"]
    r = client.patch(f"/v3/folders/{a}", json={"parent_folder_id": c}, headers=world.auth())
    assert r.status_code == 400
    assert "parent_folder_id" in r.json()["errors"]
    r = client.patch(f"/v3/folders/{b}", json={"parent_folder_id": other}, headers=world.auth())
    assert r.status_code == 200
    assert r.json()["path"] == "/other/b"
    assert client.get(f"/v3/folders/{c}", headers=world.auth()).json()["path"] == "/other/b/c"
    r = client.patch(f"/v3/folders/{b}", json={"parent_folder_id": None}, headers=world.auth())
    assert (r.json()["path"], r.json()["parent_folder_id"]) == ("/b", None)


def test_delete_refuses_non_empty_folders(client, world: World) -> None:
    a = create(client, world, "a").json()["id"]
    b = create(client, world, "b", a).json()["id"]
    r = client.delete(f"/v3/folders/{a}", headers=world.auth())
    assert r.status_code == 400
    assert client.delete(f"/v3/folders/{b}", headers=world.auth()).status_code == 204
    assert client.delete(f"/v3/folders/{a}", headers=world.auth()).status_code == 204
    assert client.get(f"/v3/folders/{a}", headers=world.auth()).status_code == 404


def test_access_is_granted_inherited_and_enforced(client, world: World) -> None:
    top = create(client, world, "top").json()["id"]
    inner = create(client, world, "inner", top).json()["id"]
    member = world.users["member"].id
    # Not shared: invisible in lists, 403 when addressed.
    listed = client.get("/v3/folders", headers=world.auth("member")).json()["data"]
    assert listed == []
    assert client.get(f"/v3/folders/{inner}", headers=world.auth("member")).status_code == 403
    # View on the top folder is inherited by the inner one; editing still refused.
    grant = {"type": "user", "permissions": [{"id": member, "access_type": "view"}]}
    r = client.post(f"/v3/folders/{top}/permissions", json=grant, headers=world.auth())
    assert r.status_code == 204
    assert client.get(f"/v3/folders/{inner}", headers=world.auth("member")).status_code == 200
    r = client.patch(f"/v3/folders/{inner}", json={"name": "x"}, headers=world.auth("member"))
    assert r.status_code == 403
    assert create(client, world, "sub", inner, who="member").status_code == 403
    # Edit through the team.
    team = {"type": "team", "permissions": [{"id": world.team.id, "access_type": "edit"}]}
    client.post(f"/v3/folders/{inner}/permissions", json=team, headers=world.auth())
    r = client.patch(f"/v3/folders/{inner}", json={"name": "x"}, headers=world.auth("member"))
    assert r.status_code == 200
    # Managing permissions takes ownership.
    r = client.post(f"/v3/folders/{inner}/permissions", json=grant, headers=world.auth("member"))
    assert r.status_code == 403
    # Viewers never write.
    assert create(client, world, "v", who="viewer").status_code == 403


def test_permission_list_update_and_remove(client, world: World) -> None:
    folder = create(client, world, "f").json()["id"]
    url = f"/v3/folders/{folder}/permissions"
    member, viewer = world.users["member"].id, world.users["viewer"].id
    grant = {
        "type": "user",
        "permissions": [
            {"id": member, "access_type": "edit"},
            {"id": viewer, "access_type": "view"},
        ],
    }
    assert client.post(url, json=grant, headers=world.auth()).status_code == 204
    rows = client.get(url, headers=world.auth()).json()["data"]
    assert (rows[0]["id"], rows[0]["access_type"], rows[0]["is_owner"]) == (
        world.users["admin"].id,
        "delete",
        True,
    )
    assert {(p["id"], p["access_type"], p["is_owner"]) for p in rows[1:]} == {
        (member, "edit", False),
        (viewer, "view", False),
    }
    by_id = {p["id"]: p for p in rows}
    assert by_id[member]["name"] == "Member Acme"
    assert by_id[member]["links"]["accessor"] == f"https://testserver/v3/users/{member}"
    edits = client.get(url, params={"min_access": "edit"}, headers=world.auth()).json()["data"]
    assert {p["id"] for p in edits} == {world.users["admin"].id, member}
    r = client.patch(f"{url}/{viewer}", json={"access_type": "edit"}, headers=world.auth())
    assert r.status_code == 204
    assert client.delete(f"{url}/{viewer}", headers=world.auth()).status_code == 204
    assert client.delete(f"{url}/{viewer}", headers=world.auth()).status_code == 404
    owner = world.users["admin"].id
    assert client.delete(f"{url}/{owner}", headers=world.auth()).status_code == 422
    r = client.patch(f"{url}/{owner}", json={"is_owner": False}, headers=world.auth())
    assert r.status_code == 422
    ghost = {"type": "team", "permissions": [{"id": "0" * 32, "access_type": "view"}]}
    r = client.post(url, json=ghost, headers=world.auth())
    assert r.status_code == 404
    assert r.json()["errors"] == {"permissions.0.id": "Unknown"}
