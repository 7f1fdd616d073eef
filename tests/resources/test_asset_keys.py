"""listAssets pages walked through key rows (``library_asset_keys`` kept by triggers,
``library/keyed.py``) equal a plain reading of the tables: every page in order and the
``total_count``, for folder subtrees, field values, labels and a member's grants, alone and
combined, through every change that moves a key (asset moves, folder moves, field values,
choice deletion, asset deletion, grants and revocations, edits that reorder). The key rows
themselves are compared with the rows recomputed from the tables they index, and the
migration's fill is checked on a database holding data."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alembic import command
from fastapi import FastAPI
from sqlalchemy import Connection, Engine, create_engine, inspect, select

from cmpapi.server.db.migrate import alembic_config
from cmpapi.server.identity.tables import TeamMember
from cmpapi.server.resources.fields.tables import FieldValue
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library.tables import (
    AclEntry,
    Asset,
    AssetKey,
    AssetLabel,
    Folder,
)
from tests.resources.test_assets import PDF
from tests.support.uploads import jpeg, upload
from tests.support.world import World

SHORT = 64
PAGE = 3  # small pages: every query crosses several offsets


@dataclass
class Library:
    """What the scenario made: folder, asset, field, choice and label ids by name."""

    folders: dict[str, str]
    assets: dict[str, str]
    channel: str  # a multi-select dropdown
    choices: dict[str, str]
    code: str  # a text field
    group: str
    values: dict[str, str]


def fields_param(*items: tuple[str, list[str]]) -> str:
    payload = [{"id": f, "values": v} for f, v in items]
    return base64.b64encode(json.dumps(payload).encode()).decode()


def label_param(group: str, *values: str) -> str:
    return json.dumps({"group": group, "values": list(values)})


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


# (name, parent) of the folders; (name, folder) of the assets; the Channel choices some
# assets hold (a and h hold a Code text too); the Region labels some hold.
FOLDERS = (("top", None), ("sub", "top"), ("deep", "sub"), ("other", None), ("o2", "other"))
PLACED = (
    ("a", "top"),
    ("b", "sub"),
    ("c", "deep"),
    ("d", "other"),
    ("e", "o2"),
    ("f", None),
    ("g", None),
    ("h", "deep"),
    ("i", "sub"),
)
CHANNELS = (
    ("a", ["Web"]),
    ("b", ["Web", "Email"]),
    ("c", ["Email"]),
    ("d", ["Web", "Social"]),
    ("g", ["Social"]),
    ("h", ["Web"]),
)
REGIONS = (("a", ["EMEA"]), ("b", ["EMEA", "APAC"]), ("e", ["APAC"]), ("g", ["EMEA"]))
RAW = "beh"  # PDFs; the others are JPEGs


def make_field(client: Any, world: World, body: dict[str, Any]) -> dict[str, Any]:
    made = ok(
        client.post("/v3/fields", json={**body, "is_active": True}, headers=world.auth()), 201
    )
    listed = ok(client.get("/v3/fields", params={"ids": made["id"]}, headers=world.auth()))
    return dict(listed["data"][0])


def build(client: Any, db: Any, world: World) -> Library:
    auth = world.auth()
    folders: dict[str, str] = {}
    for name, parent in FOLDERS:
        body = {"name": name, **({"parent_folder_id": folders[parent]} if parent else {})}
        folders[name] = ok(client.post("/v3/folders", json=body, headers=auth), 201)["id"]
    choices = [{"name": n} for n in ("Web", "Email", "Social")]
    body = {"type": "dropdown", "name": "Channel", "is_multi_select": True, "choices": choices}
    channel = make_field(client, world, body)
    code = make_field(client, world, {"type": "text", "name": "Code"})
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    db.commit()
    lib = Library(
        folders,
        {},
        channel["id"],
        {c["name"]: c["id"] for c in channel["choices"]},
        code["id"],
        group.id,
        {v.name: v.id for v in group.values},
    )
    # Team edit access on sub, so the member may upload there; the member owns "m".
    grant(client, world, "folders", folders["sub"], "team", world.team.id, "edit")
    for name, where in [*PLACED, ("m", "sub")]:
        who = "member" if name == "m" else "admin"
        key = upload(client, world, PDF if name in RAW else jpeg(8 + len(name), 8))
        body = {"key": key, "title": f"Asset {name}"}
        if where:
            body["folder_id"] = folders[where]
        made = ok(client.post("/v3/assets", json=body, headers=world.auth(who)), 201)
        lib.assets[name] = made["id"]
    for name, picked in CHANNELS:
        values = [
            {"id": lib.channel, "type": "dropdown", "values": [lib.choices[p] for p in picked]}
        ]
        if name in "ah":
            values.append({"id": lib.code, "type": "text", "values": [f"code-{name}"]})
        ok(client.put(f"/v3/assets/{lib.assets[name]}/fields", json=values, headers=auth))
    for name, region in REGIONS:
        relabel(client, world, lib, name, region)
    member = world.users["member"].id
    for name in ("d", "g", "b"):  # b is also in sub: listed once
        grant(client, world, "assets", lib.assets[name], "user", member, "view")
    return lib


def relabel(client: Any, world: World, lib: Library, name: str, region: list[str]) -> None:
    kind = "raw-files" if name in RAW else "images"
    body = {"labels": [{"group": lib.group, "values": [lib.values[r] for r in region]}]}
    ok(client.patch(f"/v3/{kind}/{lib.assets[name]}", json=body, headers=world.auth()))


def grant(client: Any, world: World, kind: str, id_: str, type_: str, who: str, level: str) -> None:
    body = {"type": type_, "permissions": [{"id": who, "access_type": level}]}
    ok(client.post(f"/v3/{kind}/{id_}/permissions", json=body, headers=world.auth()), 204)


def queries(lib: Library) -> list[tuple[str, dict[str, Any]]]:
    f, c = lib.folders, lib.choices
    web = (lib.channel, [c["Web"]])
    return [
        ("admin", {}),
        ("admin", {"folder_id": f["top"]}),
        ("admin", {"folder_id": f["other"]}),
        ("admin", {"folder_id": f["top"], "include_subfolder_assets": "false"}),
        ("admin", {"fields": fields_param(web)}),
        ("admin", {"fields": fields_param((lib.channel, [c["Web"], c["Email"]]))}),
        ("admin", {"fields": fields_param((lib.channel, [c["Social"], c["Web"], c["Email"]]))}),
        ("admin", {"fields": fields_param(web, (lib.code, ["code-a", "code-h"]))}),
        ("admin", {"fields": fields_param(web), "folder_id": f["top"]}),
        (
            "admin",
            {"fields": fields_param(web), "label": label_param(lib.group, lib.values["EMEA"])},
        ),
        ("admin", {"fields": fields_param(web), "type": "image"}),
        ("admin", {"fields": fields_param((lib.code, ["x" * 70]))}),  # long: the value-list probe
        ("admin", {"label": label_param(lib.group, lib.values["EMEA"])}),
        ("admin", {"label": label_param(lib.group, lib.values["EMEA"], lib.values["APAC"])}),
        ("admin", {"label": label_param(lib.group, lib.values["APAC"]), "folder_id": f["top"]}),
        ("member", {}),
        ("member", {"folder_id": f["sub"]}),
        ("member", {"folder_id": f["deep"]}),
        ("member", {"fields": fields_param(web)}),
        ("member", {"label": label_param(lib.group, lib.values["EMEA"])}),
        ("member", {"type": "raw_file"}),
        ("viewer", {}),
    ]


def listed(
    client: Any, world: World, who: str, params: dict[str, Any]
) -> tuple[list[str], int] | None:
    """Every asset id over every page, in order, and the total_count (the same on every
    page); None when the folder filtered by is not the caller's to view (403)."""
    out: list[str] = []
    totals: set[int] = set()
    offset = 0
    while True:
        query = {**params, "page_size": PAGE, "offset": offset}
        r = client.get("/v3/assets", params=query, headers=world.auth(who))
        if r.status_code == 403 and not offset:
            return None
        body = ok(r)
        totals.add(body["total_count"])
        out += [a["id"] for a in body["data"]]
        if body["pagination"]["next"] is None:
            break
        offset += PAGE
    assert len(totals) == 1, totals
    return out, totals.pop()


def expected(conn: Connection, world: World, who: str, params: dict[str, Any]) -> list[str] | None:
    """The ids listAssets should answer, read plainly from the tables and filtered here
    (None: a folder filter the caller may not view)."""
    paths = dict(conn.execute(select(Folder.id, Folder.id_path)).all())
    target = params.get("folder_id")
    if target and not _visible(conn, world, who, "", paths[target]):
        return None
    rows = conn.execute(
        select(Asset.id, Asset.folder_id, Asset.modified_at, Asset.type).where(
            Asset.org_id == world.org.id
        )
    ).all()
    keep = [r for r in rows if _visible(conn, world, who, r.id, paths.get(r.folder_id or ""))]
    if target:
        if params.get("include_subfolder_assets") == "false":
            keep = [r for r in keep if r.folder_id == target]
        else:
            keep = [
                r for r in keep if (paths.get(r.folder_id or "") or "").startswith(paths[target])
            ]
    if "type" in params:
        keep = [r for r in keep if r.type == params["type"]]
    if "label" in params:
        wanted = set(json.loads(params["label"])["values"])
        held = _by_asset(conn.execute(select(AssetLabel.asset_id, AssetLabel.value_id)))
        keep = [r for r in keep if held.get(r.id, set()) & wanted]
    if "fields" in params:
        stored = conn.execute(
            select(FieldValue.owner_id, FieldValue.field_id, FieldValue.value).where(
                FieldValue.owner_type == "asset"
            )
        ).all()
        values = {(o, f): set(map(str, v)) for o, f, v in stored}
        for item in json.loads(base64.b64decode(params["fields"])):
            keep = [r for r in keep if values.get((r.id, item["id"]), set()) & set(item["values"])]
    keep.sort(key=lambda r: (r.modified_at, r.id), reverse=True)
    return [r.id for r in keep]


def _by_asset(rows: Iterable[Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for asset_id, value in rows:
        out.setdefault(asset_id, set()).add(value)
    return out


def _visible(conn: Connection, world: World, who: str, asset_id: str, path: str | None) -> bool:
    user = world.users[who]
    if user.role == "admin":
        return True
    teams = conn.execute(select(TeamMember.team_id).where(TeamMember.user_id == user.id))
    accessors = {user.id, *teams.scalars()}
    entries = conn.execute(
        select(AclEntry.resource_type, AclEntry.resource_id).where(
            AclEntry.accessor_id.in_(accessors)
        )
    ).all()
    if ("asset", asset_id) in entries:
        return True
    granted = [
        conn.scalar(select(Folder.id_path).where(Folder.id == rid))
        for kind, rid in entries
        if kind == "folder"
    ]
    return path is not None and any(path.startswith(g or "-") for g in granted)


def keys_from_tables(conn: Connection) -> set[tuple[Any, ...]]:
    """The key rows the triggers should have written, recomputed from what they index."""
    assets = {r.id: r for r in conn.execute(select(Asset.id, Asset.folder_id, Asset.modified_at))}
    paths = dict(conn.execute(select(Folder.id, Folder.id_path)).all())
    out: set[tuple[Any, ...]] = set()
    for a in assets.values():
        for ancestor in paths[a.folder_id].strip("/").split("/") if a.folder_id else []:
            out.add((a.id, "folder", ancestor, "", a.modified_at))
    acl = select(AclEntry.resource_id, AclEntry.accessor_id, AclEntry.accessor_type).where(
        AclEntry.resource_type == "asset"
    )
    for asset_id, accessor, accessor_type in conn.execute(acl):
        if asset_id in assets:
            out.add((asset_id, "grant", accessor, accessor_type, assets[asset_id].modified_at))
    stored = select(FieldValue.owner_id, FieldValue.field_id, FieldValue.value).where(
        FieldValue.owner_type == "asset"
    )
    for owner, field_id, value in conn.execute(stored):
        for v in value:
            if owner in assets and isinstance(v, str) and len(v) <= SHORT:
                out.add((owner, "field", field_id, v, assets[owner].modified_at))
    return out


def keys_in_table(conn: Connection) -> set[tuple[Any, ...]]:
    k = AssetKey
    rows = conn.execute(select(k.asset_id, k.kind, k.key, k.sub, k.modified_at))
    return {tuple(r) for r in rows}


def check(client: Any, engine: Engine, world: World, lib: Library) -> None:
    with engine.connect() as conn:
        assert keys_in_table(conn) == keys_from_tables(conn)
        for who, params in queries(lib):
            got = listed(client, world, who, params)
            want = expected(conn, world, who, params)
            assert got == (None if want is None else (want, len(want))), (who, params)


def test_pages_and_totals_follow_every_change(client, db, app: FastAPI, world: World) -> None:
    engine: Engine = app.state.engine
    lib = build(client, db, world)
    a = lib.assets
    check(client, engine, world, lib)
    with engine.connect() as conn:  # the scenario reaches what it means to test
        assert expected(conn, world, "member", {})  # the member sees some, not all
        assert len(expected(conn, world, "member", {})) < len(a)
        owned = (a["m"], "grant", world.users["member"].id, "user")
        assert owned in {k[:4] for k in keys_in_table(conn)}

    auth = world.auth()
    # Asset moves: deeper, to another tree, to the root; an edit that reorders.
    ok(client.patch(f"/v3/images/{a['c']}", json={"folder_id": lib.folders["o2"]}, headers=auth))
    ok(client.patch(f"/v3/images/{a['a']}", json={"folder_id": ""}, headers=auth))
    ok(
        client.patch(
            f"/v3/raw-files/{a['h']}", json={"folder_id": lib.folders["top"]}, headers=auth
        )
    )
    ok(client.patch(f"/v3/images/{a['d']}", json={"title": "Touched"}, headers=auth))
    check(client, engine, world, lib)

    # A folder move re-roots its subtree (sub, with deep, under other); the member's team
    # grant moves with it.
    body = {"parent_folder_id": lib.folders["other"]}
    ok(client.patch(f"/v3/folders/{lib.folders['sub']}", json=body, headers=auth))
    check(client, engine, world, lib)
    # Out to the root, and back in under another parent.
    body = {"parent_folder_id": None}
    ok(client.patch(f"/v3/folders/{lib.folders['deep']}", json=body, headers=auth))
    check(client, engine, world, lib)
    body = {"parent_folder_id": lib.folders["top"]}
    ok(client.patch(f"/v3/folders/{lib.folders['deep']}", json=body, headers=auth))
    check(client, engine, world, lib)

    # Field values: replaced, one field set, a choice deleted from every value; labels.
    c = lib.choices
    body = [{"id": lib.channel, "type": "dropdown", "values": [c["Social"]]}]
    ok(client.put(f"/v3/assets/{a['b']}/fields", json=body, headers=auth))
    body = {"type": "dropdown", "values": [c["Web"], c["Email"]]}
    ok(client.put(f"/v3/assets/{a['e']}/fields/{lib.channel}", json=body, headers=auth))
    body = {"type": "text", "values": ["code-e"]}
    ok(client.put(f"/v3/assets/{a['e']}/fields/{lib.code}", json=body, headers=auth))
    r = client.delete(f"/v3/fields/{lib.channel}/choices/{c['Email']}", headers=auth)
    assert r.status_code == 204, r.text
    relabel(client, world, lib, "g", ["APAC"])
    check(client, engine, world, lib)

    # Deletes and revocations, then new grants.
    member = world.users["member"].id
    assert client.delete(f"/v3/raw-files/{a['b']}", headers=auth).status_code == 200
    r = client.delete(f"/v3/assets/{a['d']}/permissions/{member}", headers=auth)
    assert r.status_code == 204, r.text
    r = client.delete(f"/v3/folders/{lib.folders['sub']}/permissions/{world.team.id}", headers=auth)
    assert r.status_code == 204, r.text
    grant(client, world, "folders", lib.folders["o2"], "user", member, "view")
    grant(client, world, "assets", a["f"], "team", world.team.id, "edit")
    check(client, engine, world, lib)


def test_the_migration_fills_the_keys_of_existing_data(
    client, db, app: FastAPI, world: World, database_url: str
) -> None:
    lib = build(client, db, world)
    db.rollback()  # no transaction left open: the downgrade drops tables and triggers
    app.state.engine.dispose()
    migrations = create_engine(database_url)
    try:
        config = alembic_config(migrations)
        command.downgrade(config, "b3f8d1e6a2c4")
        assert "library_asset_keys" not in inspect(migrations).get_table_names()
        command.upgrade(config, "head")
    finally:
        migrations.dispose()
    with app.state.engine.connect() as conn:
        assert len(keys_in_table(conn)) > len(lib.assets)
    check(client, app.state.engine, world, lib)


def test_keyed_pages_are_in_the_organizations_order(client, db, app: FastAPI, world: World) -> None:
    """Ties on modified_at are broken by id, as the organization's order breaks them."""
    lib = build(client, db, world)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    with app.state.engine.begin() as conn:
        conn.execute(Asset.__table__.update().values(modified_at=stamp))
    check(client, app.state.engine, world, lib)


def test_search_pages_walked_or_sought_are_the_same(client, db, app: FastAPI, world: World) -> None:
    """A title search's pages equal a plain filter of every title, at every depth, whether
    the page walks the page order (a common word's first pages) or reads and sorts every
    match (a rare word, a deep page: db/search.py, TitleMatch.seek), for an admin and a
    member. 130 titles hold "harbor" (more than search.FEW, so both plans run on SQLite)."""
    from cmpapi.server.db.search import FEW, title_match
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.library import assets
    from cmpapi.server.storage.inspect import UploadedFile

    folder = ok(client.post("/v3/folders", json={"name": "port"}, headers=world.auth()), 201)["id"]
    grant(client, world, "folders", folder, "user", world.users["member"].id, "view")
    pdf = UploadedFile("assets/none", 10, "application/pdf", "pdf", "raw_file")
    links = Links("https://testserver")
    titles = [f"{'Harbor' if n % 3 else 'harbour'} {n:03d}" for n in range(200)]
    titles += ['Quote "harbor" 100%_', "HARBOR upper"]
    for n, title in enumerate(titles):
        where = folder if n % 2 else None
        assets.create_asset(db, world.principal(), links, title, where, pdf)
    engine: Engine = app.state.engine
    with engine.connect() as conn:
        rows = conn.execute(
            select(Asset.id, Asset.title, Asset.modified_at, Asset.folder_id).where(
                Asset.org_id == world.org.id
            )
        ).all()
    rows = sorted(rows, key=lambda r: (r.modified_at, r.id), reverse=True)
    if db.get_bind().dialect.name == "sqlite":  # both plans are taken below
        common = title_match(db, Asset.title, "harbor")
        assert not common.seek(db, len(rows), 10) and common.seek(db, len(rows), 10_000)
        assert title_match(db, Asset.title, '"harbor" 100%_').seek(db, len(rows), 10)
    for who, text in (
        ("admin", "harbor"),
        ("admin", "rbour 1"),
        ("admin", '"harbor" 100%_'),
        ("admin", "nothing"),
        ("member", "harbor"),
        ("admin", "ha"),
    ):  # the last: under three characters, no trigram
        want = [
            r.id
            for r in rows
            if text.lower() in r.title.lower() and (who == "admin" or r.folder_id == folder)
        ]
        assert len(want) > FEW or (who, text) != ("admin", "harbor")
        for offset in (0, 10, 120, len(want) - 5, len(want) + 3):
            query = {"search_text": text, "offset": max(offset, 0), "page_size": 10}
            body = ok(client.get("/v3/assets", params=query, headers=world.auth(who)))
            assert body["total_count"] == len(want), (who, text)
            assert [a["id"] for a in body["data"]] == want[max(offset, 0) : max(offset, 0) + 10]

    # Another organization's matches: the index's count is no longer the organization's
    # alone (assets.list_assets then counts through the table).
    from cmpapi.server.authz import Principal
    from cmpapi.server.identity import service as identity

    other = identity.create_organization(db, "Other")
    them = identity.create_user(db, other.id, email="o@other.example.com", name="O", role="admin")
    principal = Principal(org_id=other.id, user_id=them.id, role="admin", app_id=world.app.id)
    assets.create_asset(db, principal, links, "harbor of theirs", None, pdf)
    want = [r.id for r in rows if "harbor" in r.title.lower()]
    body = ok(client.get("/v3/assets", params={"search_text": "harbor"}, headers=world.auth()))
    assert body["total_count"] == len(want)
