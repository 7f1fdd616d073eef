"""Brand compliance: the category catalogue, and reviews stored per draft."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.resources.tasks.asset_brand_compliance import CATALOGUE
from tests.contract.spec import suspended
from tests.support.mixins import ResourceTests
from tests.support.uploads import jpeg
from tests.support.world import World, build_world
from tests.tasks.test_task_assets import add_draft, added, events, new_task


class TestBrandComplianceCategories(ResourceTests):
    list_path = "/v3/brand-compliance/categories"
    item_path = None  # no single-category operation
    baseline = len(CATALOGUE)  # a fixed catalogue: nothing to make
    # No single-category operation, and nothing to make: the get tests do not apply.
    test_get_own_item = None
    test_get_without_token_is_401 = None

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return []

    def test_other_organization_is_invisible(self, client: Any, db: Session, world: World) -> None:
        """The catalogue is the same for every organization."""
        other = build_world(db, org_name="Other", prefix="other-")
        ours = client.get(self.list_path, params={"page_size": 100}, headers=world.auth())
        theirs = client.get(self.list_path, params={"page_size": 100}, headers=other.auth())
        assert ours.json()["data"] == theirs.json()["data"]

    def test_catalogue(self, client: Any, world: World) -> None:
        data = client.get(
            self.list_path, params={"page_size": 100}, headers=world.auth("viewer")
        ).json()["data"]
        assert [c["name"] for c in data] == [
            "Logo",
            "Colour",
            "Typography",
            "Imagery",
            "Tone of voice",
            "Legal",
        ]
        assert data[0]["id"] == CATALOGUE[0].id
        assert {"id", "name", "description"} == set(data[0]["criteria"][0])
        assert all(c["criteria"] for c in data)


def review_url(task: str, asset: str, draft: str = "latest") -> str:
    return f"/v3/tasks/{task}/assets/{asset}/drafts/{draft}/brand-compliance"


def review(status: str = "approved", **categories: Any) -> dict[str, Any]:
    return {"status": status, "categories": list(categories.values())}


def test_round_trip_per_draft(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    url = review_url(task, aid)
    fresh = client.get(url, headers=world.auth("viewer")).json()
    assert (fresh["status"], fresh["reviewed_at"], fresh["reviewed_by"]) == (
        "not_reviewed",
        None,
        None,
    )
    assert len(fresh["categories"]) == len(CATALOGUE)
    assert all(c["status"] is None and c["notes"] is None for c in fresh["categories"])
    assert all(k["selected"] is None for c in fresh["categories"] for k in c["criteria"])
    logo, colour = CATALOGUE[0], CATALOGUE[1]
    body = review(
        "approved",
        logo={
            "id": logo.id,
            "status": "compliant",
            "notes": "Clear space fine",
            "criteria": [
                {"id": logo.criteria[0].id, "selected": True, "description": None},
                {"id": logo.criteria[1].id, "selected": False, "description": "Checked at 100%"},
            ],
        },
        colour={"id": colour.id, "status": "not applicable", "notes": None, "criteria": []},
    )
    r = client.put(url, json=body, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["status"] == "approved" and saved["reviewed_by"] == world.users["member"].id
    assert saved["reviewed_at"] is not None
    by_id = {c["id"]: c for c in saved["categories"]}
    assert (by_id[logo.id]["status"], by_id[logo.id]["notes"]) == ("compliant", "Clear space fine")
    criteria = by_id[logo.id]["criteria"]
    assert [(c["name"], c["selected"]) for c in criteria] == [
        (logo.criteria[0].name, True),
        (logo.criteria[1].name, False),
        (logo.criteria[2].name, None),
    ]
    assert criteria[0]["description"] == logo.criteria[0].description
    assert criteria[1]["description"] == "Checked at 100%"
    assert by_id[colour.id]["status"] == "not applicable"
    assert by_id[CATALOGUE[2].id]["status"] is None
    drafts = client.get(f"/v3/tasks/{task}/assets/{aid}/drafts", headers=world.auth()).json()
    first = drafts["data"][0]["id"]
    assert client.get(review_url(task, aid, first), headers=world.auth()).json() == saved
    # A new draft is reviewed afresh; draft 1 keeps its review.
    assert add_draft(client, world, task, aid, jpeg(9, 9)).status_code == 201
    assert client.get(url, headers=world.auth()).json()["status"] == "not_reviewed"
    assert client.get(review_url(task, aid, first), headers=world.auth()).json() == saved
    cleared = client.put(
        review_url(task, aid, first), json=review("not_reviewed"), headers=world.auth()
    ).json()
    assert (cleared["status"], cleared["reviewed_at"], cleared["reviewed_by"]) == (
        "not_reviewed",
        None,
        None,
    )
    assert all(c["status"] is None for c in cleared["categories"])
    # Reviews are not webhook events: the one task_asset_modified is draft 2's.
    assert [e["attributes_changed"] for e in events(db, "task_asset_modified")] == [
        ["title", "versions"]
    ]


def test_refusals(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    other_asset = added(client, world, task, jpeg())["id"]
    url = review_url(task, aid)
    logo, colour = CATALOGUE[0], CATALOGUE[1]
    bad = [
        (
            review(x={"id": "0" * 24, "status": None, "notes": None, "criteria": []}),
            "categories.0.id",
        ),
        (
            review(
                a={"id": logo.id, "status": None, "notes": None, "criteria": []},
                b={"id": logo.id, "status": None, "notes": None, "criteria": []},
            ),
            "categories.1.id",
        ),
        (
            review(
                x={
                    "id": logo.id,
                    "status": None,
                    "notes": None,
                    "criteria": [
                        {"id": colour.criteria[0].id, "selected": True, "description": None}
                    ],
                }
            ),
            "categories.0.criteria.0.id",
        ),
    ]
    for body, where in bad:
        r = client.put(url, json=body, headers=world.auth())
        assert r.status_code == 422 and where in r.json()["errors"], r.text
    for body in (
        {"status": "maybe", "categories": []},
        {"status": "approved"},
        {"status": "approved", "categories": [{"id": logo.id}]},
    ):
        assert client.put(url, json=body, headers=world.auth()).status_code == 422, body
    drafts = client.get(
        f"/v3/tasks/{task}/assets/{other_asset}/drafts", headers=world.auth()
    ).json()["data"]
    foreign_draft = drafts[0]["id"]
    assert client.get(review_url(task, aid, foreign_draft), headers=world.auth()).status_code == 404
    assert client.get(review_url(task, aid, "0" * 32), headers=world.auth()).status_code == 404
    assert (
        client.get(review_url(new_task(client, world), aid), headers=world.auth()).status_code
        == 404
    )
    other = build_world(db, org_name="Other", prefix="other-")
    assert client.get(url, headers=other.auth()).status_code == 404
    assert client.put(url, json=review(), headers=other.auth()).status_code == 404
    assert client.get(url).status_code == 401
    # The spec declares no 403 here, yet viewers never write (docs/tasks.md).
    with suspended():
        r = client.put(url, json=review(), headers=world.auth("viewer"))
    assert r.status_code == 403
    assert client.get(url, headers=world.auth()).json()["status"] == "not_reviewed"
