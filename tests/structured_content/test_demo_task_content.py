"""The demo's task structured content reads back through the API, valid against the spec,
as an asset of its task."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server import demo
from cmpapi.server.demo_task_content import TASK_TITLE, TITLE
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.tasks.tables import Task


def test_the_demo_task_holds_a_structured_content(client: Any, db: Session) -> None:
    demo.seed(db)
    app = db.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID)).one()
    token = store.issue_token(
        db, app, demo.demo_id("user:mia.marketer"), kind="access", ttl_seconds=600
    ).raw
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    task = db.scalars(select(Task).where(Task.title == TASK_TITLE)).one().id
    content_id = demo.demo_id(f"sc-content:{TITLE}")
    r = client.get(f"/v3/tasks/{task}/structured-contents/{content_id}", headers=auth)
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["title"], page["content_type_name"]) == (TITLE, "Article")
    fields = page["latest_fields_version"]["fields"]
    assert [e["locale"] for e in fields["title"]] == ["en_US", "fr_FR"]
    assets = client.get(f"/v3/tasks/{task}/assets", headers=auth).json()["data"]
    assert [(a["id"], a["type"]) for a in assets] == [(content_id, "structured_content")]
    r = client.post(f"/ext/v1/tasks/{task}/structured-contents/{content_id}/previews", headers=auth)
    assert r.status_code == 201, r.text
