"""Content previews: asking for one (/ext/v1 and the CLI), content_preview_requested, the
handshake (acknowledgeSCContentPreview once, completeSCContentPreview) and its refusals in
the spec's FastAPI shape, the preview's state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from tests.support.sc_tasks import add_content, page_type, request_preview
from tests.support.snapshot import Unchanged
from tests.support.tasks import create_task
from tests.support.world import World
from tests.tasks.test_task_assets import events

API = "https://testserver/v3"


def _setup(client: Any, world: World) -> tuple[str, dict[str, Any]]:
    task = str(create_task(client, world, None)["id"])
    return task, add_content(client, world, task, page_type(client, world))


def _path(url: str) -> str:
    return url.removeprefix("https://testserver")


def _acknowledge(
    client: Any, world: World, preview: dict[str, Any], who: str = "member", **body: Any
) -> Any:
    body = {"acknowledged_by": "renderer", "content_hash": preview["content_hash"], **body}
    return client.post(_path(preview["links"]["acknowledge"]), json=body, headers=world.auth(who))


def _complete(
    client: Any, world: World, preview: dict[str, Any], keyed: Any, who: str = "member"
) -> Any:
    return client.post(
        _path(preview["links"]["complete"]), json={"keyed_previews": keyed}, headers=world.auth(who)
    )


def _loc(r: Any) -> list[list[str]]:
    assert r.status_code == 422, r.text
    return [d["loc"] for d in r.json()["detail"]]


def test_asking_for_a_preview_records_the_event(client, db: Session, world: World) -> None:
    task, content = _setup(client, world)
    cid, version = content["content_guid"], content["latest_fields_version"]
    preview = request_preview(client, world, task, cid, who="member")
    pid = preview["id"]
    assert preview["status"] == "requested"
    assert (preview["task_id"], preview["content_id"]) == (task, cid)
    assert (preview["version_id"], preview["content_hash"]) == (
        version["version_guid"],
        version["content_hash"],
    )
    assert preview["requested_by"] == world.users["member"].id
    assert preview["acknowledged_at"] is None and preview["keyed_previews"] == {}
    base = f"{API}/structured-content/contents/{cid}/versions/{version['version_guid']}"
    links = {
        "acknowledge": f"{base}/previews/{pid}/acknowledge",
        "complete": f"{base}/previews/{pid}/complete",
    }
    assert {k: preview["links"][k] for k in links} == links
    (data,) = events(db, "content_preview_requested")
    assert data["preview_id"] == pid and data["links"] == links
    assert data["organization"] == {"id": world.org.id}
    assert data["task"] == {"id": task, "links": {"self": f"{API}/tasks/{task}"}}
    assets = data["assets"]
    assert {k: v for k, v in assets.items() if k != "structured_contents"} == {
        "articles": [],
        "images": [],
        "videos": [],
        "raw_files": [],
    }
    (item,) = assets["structured_contents"]
    assert (item["id"], item["version_id"], item["title"]) == (
        cid,
        version["version_guid"],
        "Spring page",
    )
    assert {"created_at", "modified_at"} <= set(item)
    body = item["content_body"]
    assert body["fields_version"]["content_hash"] == version["content_hash"]
    assert body["fields_version"]["fields"] == version["fields"]
    assert (
        body["fields_version"]["content_type_version_guid"]
        == content["content_type"]["version"]["version_guid"]
    )
    assert body["content_type"]["name"] == "Landing page"
    assert body["content_type"]["version"]["field_definitions"]
    expected = {k: v for k, v in content.items() if k != "latest_fields_version"}
    assert {k: body[k] for k in expected} == expected
    # the state can be read back (the viewer may read, not ask)
    r = client.get(f"/ext/v1/previews/{pid}", headers=world.auth("viewer"))
    assert r.status_code == 200 and r.json() == preview
    r = client.get(f"/ext/v1/tasks/{task}/structured-contents/{cid}/previews", headers=world.auth())
    assert r.json() == {"data": [preview]}
    r = client.post(
        f"/ext/v1/tasks/{task}/structured-contents/{cid}/previews", headers=world.auth("viewer")
    )
    assert r.status_code == 403


def test_the_handshake(client, db: Session, world: World) -> None:
    task, content = _setup(client, world)
    preview = request_preview(client, world, task, content["content_guid"])
    unchanged = Unchanged(db)
    r = _complete(client, world, preview, {"web": "https://render.example/p/1"})
    assert _loc(r) == [["path", "preview_id"]]  # not acknowledged yet
    r = _acknowledge(client, world, preview, content_hash="0" * 64)
    assert _loc(r) == [["body", "content_hash"]]
    r = _acknowledge(client, world, preview, who="viewer")
    assert r.status_code == 403 and isinstance(r.json()["detail"], str)
    unchanged.after("refusals")
    r = _acknowledge(client, world, preview)
    assert r.status_code == 200 and r.json() == {}
    r = _acknowledge(client, world, preview)
    assert _loc(r) == [["path", "preview_id"]]  # once only
    assert "already acknowledged" in r.json()["detail"][0]["msg"]
    keyed = {
        "web": "https://render.example/p/1",
        "mobile": {
            "completed": "https://render.example/p/1?m=1",
            "name": "Mobile",
            "locale": "de_DE",
            "mimeType": "text/html",
            "orderIndex": 2,
        },
        "print": {"error": "https://render.example/errors/1"},
    }
    r = _complete(client, world, preview, keyed)
    assert r.status_code == 200 and r.json() == {}
    state = client.get(f"/ext/v1/previews/{preview['id']}", headers=world.auth()).json()
    assert state["status"] == "completed" and state["acknowledged_by"] == "renderer"
    assert state["acknowledged_at"] is not None and state["completed_at"] is not None
    assert state["keyed_previews"] == {
        "web": {
            "status": "completed",
            "url": "https://render.example/p/1",
            "name": "",
            "locale": "en_US",
            "mime_type": "text/html",
            "order_index": 0,
        },
        "mobile": {
            "status": "completed",
            "url": "https://render.example/p/1?m=1",
            "name": "Mobile",
            "locale": "de_DE",
            "mime_type": "text/html",
            "order_index": 2,
        },
        "print": {
            "status": "error",
            "url": "https://render.example/errors/1",
            "name": "",
            "locale": "en_US",
            "mime_type": "text/html",
            "order_index": 0,
        },
    }
    # a later complete replaces the keyed previews
    r = _complete(client, world, preview, {"web": "https://render.example/p/2"})
    assert r.status_code == 200
    state = client.get(f"/ext/v1/previews/{preview['id']}", headers=world.auth()).json()
    assert list(state["keyed_previews"]) == ["web"]


def test_keyed_previews_are_hostile_input(client, db: Session, world: World) -> None:
    task, content = _setup(client, world)
    preview = request_preview(client, world, task, content["content_guid"])
    assert _acknowledge(client, world, preview).status_code == 200
    unchanged = Unchanged(db)
    cases = [
        ({"k": "javascript:alert(1)"}, ["body", "keyed_previews", "k"]),
        ({"k": "ftp://files.example/p"}, ["body", "keyed_previews", "k"]),
        ({"k": "https://user:pw@render.example/p"}, ["body", "keyed_previews", "k"]),
        ({"k": "https://render.example/" + "a" * 3000}, ["body", "keyed_previews", "k"]),
        ({"k": {"completed": "data:text/html,hi"}}, ["body", "keyed_previews", "k", "completed"]),
        ({"k": {"error": "file:///etc/passwd"}}, ["body", "keyed_previews", "k", "error"]),
        (
            {"k": {"completed": "https://r.example/", "name": "n" * 300}},
            ["body", "keyed_previews", "k", "name"],
        ),
        (
            {"k": {"completed": "https://r.example/", "locale": "<script>"}},
            ["body", "keyed_previews", "k", "locale"],
        ),
        (
            {"k": {"completed": "https://r.example/", "mimeType": "text html"}},
            ["body", "keyed_previews", "k", "mimeType"],
        ),
        (
            {"k": {"completed": "https://r.example/", "orderIndex": 1e12}},
            ["body", "keyed_previews", "k", "orderIndex"],
        ),
        ({}, ["body", "keyed_previews"]),
        ({f"k{n}": "https://r.example/" for n in range(51)}, ["body", "keyed_previews"]),
        ({"k" * 101: "https://r.example/"}, ["body", "keyed_previews"]),
    ]
    for keyed, loc in cases:
        r = _complete(client, world, preview, keyed)
        assert r.status_code == 422, (keyed, r.text)
        assert loc in [d["loc"] for d in r.json()["detail"]], (keyed, r.text)
        unchanged.after(str(keyed)[:80])
    r = _complete(client, world, preview, "not an object")
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)
    unchanged.finally_("all refused")


def test_previews_are_found_by_all_three_ids(client, world: World) -> None:
    task, content = _setup(client, world)
    preview = request_preview(client, world, task, content["content_guid"])
    ack = _path(preview["links"]["acknowledge"])
    body = {"acknowledged_by": "r", "content_hash": preview["content_hash"]}
    for wrong in (
        ack.replace(preview["version_id"], "0" * 32),
        ack.replace(preview["content_id"], "0" * 32),
        ack.replace(preview["id"], "0" * 32),
    ):
        r = client.post(wrong, json=body, headers=world.auth())
        assert r.status_code == 404 and r.json() == {"detail": "Preview not found"}
    r = client.post(ack, json=body)
    assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}
    r = client.post(ack, json={"acknowledged_by": "r"}, headers=world.auth())
    assert _loc(r) == [["body", "content_hash"]]


def test_a_new_fields_version_is_a_new_preview(client, world: World) -> None:
    task, content = _setup(client, world)
    cid = content["content_guid"]
    first = request_preview(client, world, task, cid)
    change = {"fields": {"headline": [{"locale": "en_US", "field_values": [{"text_value": "Hi"}]}]}}
    r = client.patch(
        f"/v3/tasks/{task}/structured-contents/{cid}", json=change, headers=world.auth()
    )
    assert r.status_code == 200, r.text
    second = request_preview(client, world, task, cid)
    assert second["version_id"] != first["version_id"]
    assert second["content_hash"] != first["content_hash"]
    # the first stays acknowledgeable with its own version's hash
    assert _acknowledge(client, world, first).status_code == 200
    r = client.get(f"/ext/v1/tasks/{task}/structured-contents/{cid}/previews", headers=world.auth())
    assert [p["status"] for p in r.json()["data"]] == ["acknowledged", "requested"]
    # a deleted content takes its previews with it
    assert (
        client.delete(
            f"/v3/tasks/{task}/structured-contents/{cid}", headers=world.auth()
        ).status_code
        == 204
    )
    r = client.get(f"/ext/v1/previews/{first['id']}", headers=world.auth())
    assert r.status_code == 404 and r.json() == {"message": "Preview not found"}


def test_the_cli_asks_for_a_preview(
    client, db: Session, world: World, database_url: str, tmp_path: Path
) -> None:
    task, content = _setup(client, world)
    cid = content["content_guid"]
    env = {"CMPAPI_DATA_DIR": str(tmp_path), "CMPAPI_DATABASE_URL": database_url}
    result = CliRunner().invoke(cli, ["tasks", "preview", task, cid], env=env)
    assert result.exit_code == 0, result.output
    (data,) = events(db, "content_preview_requested")
    assert data["preview_id"] in result.output
    assert data["assets"]["structured_contents"][0]["id"] == cid
    r = client.get(f"/ext/v1/previews/{data['preview_id']}", headers=world.auth())
    assert r.json()["requested_by"] is None
    result = CliRunner().invoke(cli, ["tasks", "preview", task, "0" * 32], env=env)
    assert result.exit_code != 0 and "not found" in result.output.lower()


def test_concurrent_acknowledgements_let_one_through(
    client: Any, http: httpx.Client, world: World
) -> None:
    task, content = _setup(client, world)
    preview = request_preview(client, world, task, content["content_guid"])
    body = {"acknowledged_by": "renderer", "content_hash": preview["content_hash"]}

    def post(n: int) -> httpx.Response:
        ack = {**body, "acknowledged_by": f"renderer {n}"}
        return http.post(_path(preview["links"]["acknowledge"]), json=ack, headers=world.auth())

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [422] * 7
    (winner,) = [n for n, r in enumerate(responses) if r.status_code == 200]
    state = client.get(f"/ext/v1/previews/{preview['id']}", headers=world.auth()).json()
    assert state["acknowledged_by"] == f"renderer {winner}"
