"""The demo seed's publishing loop: a webhook channel, and a task whose article was
published on it with the metadata the blog answered, all readable through the API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server import demo, demo_publishing
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp


def test_the_demo_seeds_a_published_article(client, db: Session) -> None:
    demo.seed(db)
    app = db.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID)).one()
    viewer = demo.demo_id("user:val.viewer")
    token = store.issue_token(db, app, viewer, kind="access", ttl_seconds=3600)
    db.commit()
    auth = {"Authorization": f"Bearer {token.raw}"}
    channels = client.get("/v3/publishing-channels", headers=auth).json()["data"]
    channel_id = demo.demo_id("publishing-channel:Company blog")
    assert channels == [{"id": channel_id, "name": "Company blog", "disabled": False}]
    event_id = demo.demo_id(f"publishing-event:{demo_publishing.TITLE}")
    r = client.get(f"/v3/publishing-events/{event_id}", headers=auth)
    assert r.status_code == 200, r.text
    (asset,) = r.json()["assets"]
    assert asset["type"] == "article"
    (meta,) = asset["publishing_metadata"]
    assert meta["id"] == demo.demo_id(f"publishing-metadata:{demo_publishing.TITLE}")
    shown = client.get(meta["links"]["self"], headers=auth).json()
    assert (shown["status"], shown["public_url"], shown["locale"]) == (
        "published",
        demo_publishing.PUBLIC_URL,
        "en",
    )
    article = client.get(asset["links"]["self"], headers=auth).json()
    task = client.get(article["links"]["task"], headers=auth).json()
    assert task["status"] == "Completed"
    (published,) = db.scalars(
        select(OutboxEvent).where(OutboxEvent.event_name == "asset_published")
    ).all()
    assert published.data["publishing_event"]["id"] == event_id
    assert published.data["assets"]["articles"][0]["html_body"] == demo_publishing.ARTICLE
