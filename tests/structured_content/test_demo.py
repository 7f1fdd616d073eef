"""The demo's structured content reads back through the API, valid against the spec."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server import demo
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp


def test_demo_types_and_contents_read_back(client: Any, db: Session) -> None:
    demo.seed(db)
    app = db.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID)).one()
    token = store.issue_token(
        db, app, demo.demo_id("user:ada.admin"), kind="access", ttl_seconds=600
    ).raw
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    types = client.get("/v3/structured-content/content-types", headers=auth).json()
    assert [t["name"] for t in types] == ["Article", "Author"]
    article = demo.demo_id("sc-type:Article")
    versions = client.get(f"/v3/structured-content/content-types/{article}/versions", headers=auth)
    assert [v["latest"] for v in versions.json()] == [False, True]
    launch = client.get(
        f"/v3/structured-contents/{demo.demo_id('sc-content:Spring launch')}", headers=auth
    ).json()
    fields = launch["content_body"]["latest_fields_version"]["fields"]
    assert [e["locale"] for e in fields["title"]] == ["en_US", "fr_FR"]
    author = fields["author"][0]["field_values"][0]["content_guid"]
    assert author == demo.demo_id("sc-content:Ada Lovelace")
    listed = client.get("/v3/assets", params={"type": "structured_content"}, headers=auth)
    assert listed.json()["total_count"] == 3
