"""listAssets' ``total_count`` from the trigger-kept counts equals the assets listed, through
creates, moves, relabelling, shares, deletes and compaction, for every filter the counts
answer (and the ones they leave to ``count(*)``)."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library import counts
from cmpapi.server.resources.library.tables import AssetCount
from tests.resources.test_assets import PDF, create
from tests.support.uploads import jpeg
from tests.support.world import World


def listed(client: Any, world: World, who: str, params: dict[str, Any]) -> tuple[int, int]:
    """(total_count of the first page, assets counted by paging through every page)."""
    seen, offset, total = 0, 0, None
    while True:
        query = {**params, "page_size": 100, "offset": offset}
        r = client.get("/v3/assets", params=query, headers=world.auth(who))
        assert r.status_code == 200, r.text
        body = r.json()
        total = body["total_count"] if total is None else total
        seen += len(body["data"])
        if body["pagination"]["next"] is None:
            return total, seen
        offset += 100


def fields(field_id: str, *values: str) -> str:
    return base64.b64encode(
        json.dumps([{"id": field_id, "values": list(values)}]).encode()
    ).decode()


def ids(client: Any, world: World, who: str, params: dict[str, Any]) -> list[str]:
    r = client.get("/v3/assets", params={**params, "page_size": 100}, headers=world.auth(who))
    return [a["id"] for a in r.json()["data"]]


def check_all(client: Any, world: World, queries: list[tuple[str, dict[str, Any]]]) -> None:
    for who, params in queries:
        total, seen = listed(client, world, who, params)
        assert total == seen, (who, params, total, seen)
    # A label's page (read from the label's own index) keeps listAssets' order.
    everything = ids(client, world, "admin", {})
    for who, params in queries:
        if who == "admin" and list(params) == ["label"]:
            wanted = set(ids(client, world, "admin", params))
            assert ids(client, world, "admin", params) == [a for a in everything if a in wanted]


def test_totals_follow_every_change(client, db: Session, app: FastAPI, world: World) -> None:
    auth = world.auth()

    def folder(name: str, parent: str | None = None) -> str:
        body = {"name": name, **({"parent_folder_id": parent} if parent else {})}
        return str(client.post("/v3/folders", json=body, headers=auth).json()["id"])

    top = folder("top")
    sub = folder("sub", top)
    deep = folder("deep", sub)
    other = folder("other")
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    db.commit()
    emea, apac = (v.id for v in group.values)
    made: dict[str, str] = {}
    placed = {"a": top, "b": sub, "c": deep, "d": other, "e": other, "f": None, "g": None}
    for name, where in placed.items():
        data = PDF if name in "beg" else jpeg()
        extra = {"folder_id": where} if where else {}
        r = create(client, world, data, f"Asset {name}", **extra)
        assert r.status_code == 201, r.text
        made[name] = r.json()["id"]
    for name, values in (("a", [emea]), ("b", [emea, apac]), ("f", [apac])):
        body = {"labels": [{"group": group.id, "values": values}]}
        kind = "images" if name in "af" else "raw-files"
        r = client.patch(f"/v3/{kind}/{made[name]}", json=body, headers=auth)
        assert r.status_code == 200, r.text
    r = client.post(
        "/v3/fields", json={"type": "text", "name": "Channel", "is_active": True}, headers=auth
    )
    assert r.status_code == 201, r.text
    channel = r.json()["id"]
    for name, channel_values in (("a", ["web"]), ("c", ["web"]), ("e", ["print"])):
        body = [{"id": channel, "type": "text", "values": channel_values}]
        r = client.put(f"/v3/assets/{made[name]}/fields", json=body, headers=auth)
        assert r.status_code == 200, r.text
    member = world.users["member"].id

    def view(kind: str, id_: str) -> dict[str, Any]:
        return {"type": kind, "permissions": [{"id": id_, "access_type": "view"}]}

    # The member sees sub (through the team) and, directly, one asset of other, one at the
    # root, and one inside sub (counted once).
    r = client.post(
        f"/v3/folders/{sub}/permissions", json=view("team", world.team.id), headers=auth
    )
    assert r.status_code == 204, r.text
    for name in ("d", "g", "b"):
        url = f"/v3/assets/{made[name]}/permissions"
        r = client.post(url, json=view("user", member), headers=auth)
        assert r.status_code == 204, r.text

    def label(*values: str) -> str:
        return json.dumps({"group": group.id, "values": list(values)})

    queries: list[tuple[str, dict[str, Any]]] = [
        ("admin", {}),
        ("admin", {"type": "image"}),
        ("admin", {"type": ["image", "raw_file"]}),
        ("admin", {"folder_id": top}),
        ("admin", {"folder_id": top, "include_subfolder_assets": "false"}),
        ("admin", {"folder_id": other, "type": "raw_file"}),
        ("admin", {"label": label(emea)}),
        ("admin", {"label": label(emea, apac)}),  # several values: counted rows
        ("admin", {"label": label(apac), "type": "image"}),
        ("admin", {"search_text": "asset"}),
        ("member", {}),
        ("member", {"type": "raw_file"}),
        ("member", {"folder_id": sub}),
        ("member", {"label": label(emea)}),
        ("viewer", {}),
        ("admin", {"fields": fields(channel, "web")}),
        ("admin", {"fields": fields(channel, "web", "print")}),  # several values: counted rows
        ("admin", {"fields": fields(channel, "print"), "type": "image"}),
        ("admin", {"fields": fields("0" * 32, "web")}),  # unknown field: no filter
    ]
    check_all(client, world, queries)
    assert listed(client, world, "member", {})[0] == 4  # b (once), c, d, g

    # Moves (folder to folder, to the root), a relabel, a delete.
    r = client.patch(f"/v3/images/{made['c']}", json={"folder_id": other}, headers=auth)
    assert r.status_code == 200, r.text
    r = client.patch(f"/v3/images/{made['a']}", json={"folder_id": ""}, headers=auth)
    assert r.status_code == 200, r.text
    body = {"labels": [{"group": group.id, "values": [apac]}]}
    assert client.patch(f"/v3/images/{made['a']}", json=body, headers=auth).status_code == 200
    assert client.delete(f"/v3/raw-files/{made['e']}", headers=auth).status_code == 200
    body = [{"id": channel, "type": "text", "values": ["print"]}]
    assert client.put(f"/v3/assets/{made['a']}/fields", json=body, headers=auth).status_code == 200
    check_all(client, world, queries)

    with app.state.engine.begin() as conn:
        counts.compact(conn)
        rows = conn.scalar(select(func.count()).select_from(AssetCount))
        keys = conn.execute(
            select(AssetCount.kind, AssetCount.org_id, AssetCount.key, AssetCount.sub)
        ).all()
    assert len(keys) == len(set(keys)) == rows  # one row per key after compaction
    check_all(client, world, queries)
    assert listed(client, world, "admin", {})[0] == 6
