"""Everything that names a campaign resolves against the campaigns table: createTask /
updateTask ``campaign_id`` and the ``campaign`` filter of listTasks, milestones'
``campaign_id``, listAssets' ``campaign_id``, calendar events, and ``links.campaign``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.resources.tasks.tables import Task
from tests.support.campaigns import create_campaign
from tests.support.tasks import create_task
from tests.support.uploads import jpeg, upload
from tests.support.world import World, build_world

API = "https://testserver/v3"
UNKNOWN = {"message": "Campaign not found", "errors": {"campaign_id": "Unknown campaign"}}


def listed(client: Any, world: World, path: str, **params: Any) -> list[str]:
    r = client.get(path, params={"page_size": 100, **params}, headers=world.auth())
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["data"]]


def test_tasks_link_to_their_campaign(client, db: Session, world: World) -> None:
    spring, summer = (create_campaign(client, world, title=t)["id"] for t in ("Spring", "Summer"))
    task = create_task(client, world, None, campaign_id=spring)
    plain = create_task(client, world, None, title="No campaign")
    assert task["campaign_id"] == spring
    assert task["links"]["campaign"] == f"{API}/campaigns/{spring}"
    # TaskResponse.links.campaign is a required string: the collection, which answers.
    assert plain["campaign_id"] is None and plain["links"]["campaign"] == f"{API}/campaigns"
    for link in (task["links"]["campaign"], plain["links"]["campaign"]):
        assert client.get(link, headers=world.auth()).status_code == 200
    items = client.get("/v3/tasks", params={"page_size": 100}, headers=world.auth()).json()
    links = {t["id"]: t["links"]["campaign"] for t in items["data"]}
    assert links == {task["id"]: f"{API}/campaigns/{spring}", plain["id"]: None}
    assert listed(client, world, "/v3/tasks", campaign=spring) == [task["id"]]
    url = f"/v3/tasks/{plain['id']}"
    r = client.patch(url, json={"campaign_id": summer}, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["links"]["campaign"] == f"{API}/campaigns/{summer}"
    assert listed(client, world, "/v3/tasks", campaign=summer) == [plain["id"]]
    assert listed(client, world, "/v3/tasks", campaign="0" * 32) == []


def test_unknown_campaigns_are_refused_for_tasks(client, db: Session, world: World) -> None:
    other = build_world(db, org_name="Other", prefix="o-")
    theirs = create_campaign(client, other)["id"]
    task = create_task(client, world, None)
    tasks = db.scalar(select(func.count()).select_from(Task))
    for campaign in ("0" * 32, theirs):
        body = {"title": "x", "campaign_id": campaign}
        r = client.post("/v3/tasks", json=body, headers=world.auth())
        assert (r.status_code, r.json()) == (404, UNKNOWN)
        r = client.patch(
            f"/v3/tasks/{task['id']}", json={"campaign_id": campaign}, headers=world.auth()
        )
        assert (r.status_code, r.json()) == (404, UNKNOWN)
    assert db.scalar(select(func.count()).select_from(Task)) == tasks
    assert client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json() == task


def test_milestones_link_to_their_campaign(client, db: Session, world: World) -> None:
    campaign = create_campaign(client, world)["id"]
    body = {"title": "Q1", "due_date": "2030-03-31T00:00:00Z", "hex_color": "#4ECFD5"}
    r = client.post("/v3/milestones", json={**body, "campaign_id": campaign}, headers=world.auth())
    assert r.status_code == 201, r.text
    linked = r.json()
    assert linked["campaign"] == {"id": campaign}
    plain = client.post("/v3/milestones", json=body, headers=world.auth()).json()
    assert plain["campaign"] is None
    assert listed(client, world, "/v3/milestones", campaign_id=campaign) == [linked["id"]]
    assert listed(client, world, "/v3/milestones", campaign_id="null") == [plain["id"]]
    url = f"/v3/milestones/{plain['id']}"
    r = client.patch(url, json={"campaign_id": campaign}, headers=world.auth())
    assert r.status_code == 200 and r.json()["campaign"] == {"id": campaign}
    r = client.patch(url, json={"campaign_id": "0" * 32}, headers=world.auth())
    assert (r.status_code, r.json()) == (404, UNKNOWN)
    assert client.get(url, headers=world.auth()).json()["campaign"] == {"id": campaign}


def test_list_assets_by_campaign_lists_what_its_tasks_use(
    client, db: Session, world: World
) -> None:
    campaign = create_campaign(client, world)["id"]
    used, unused = (
        client.post(
            "/v3/assets",
            json={"key": upload(client, world, jpeg(), f"{n}.jpg"), "title": n},
            headers=world.auth(),
        ).json()["id"]
        for n in ("used", "unused")
    )
    task = create_task(client, world, None, campaign_id=campaign)["id"]
    fork = {"type": "fork_from_library", "content_id": used, "content_type": "image"}
    r = client.post(f"/v3/tasks/{task}/assets", json=fork, headers=world.auth())
    assert r.status_code == 201, r.text
    assert listed(client, world, "/v3/assets", campaign_id=campaign) == [used]
    assert listed(client, world, "/v3/assets", campaign_id="0" * 32) == []
    assert set(listed(client, world, "/v3/assets")) == {used, unused}
    other = create_campaign(client, world, title="Other")["id"]
    assert listed(client, world, "/v3/assets", campaign_id=other) == []
