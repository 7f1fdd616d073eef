"""Renditions: configs, a background job per config with real Pillow resizing, the
``asset_renditions_created`` event, and hostile images ending as ``Error``."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.library import renditions
from cmpapi.server.resources.library.tables import Rendition
from tests.resources.test_assets import create, download
from tests.support.uploads import jpeg
from tests.support.world import World

pytestmark = pytest.mark.worker


def configs(db: Session, world: World) -> tuple[str, str]:
    thumb = renditions.create_config(
        db, world.org.id, name="thumb", width=32, height=32, output_format="png"
    )
    web = renditions.create_config(
        db, world.org.id, name="web", width=100, height=None, output_format="webp", quality=70
    )
    db.commit()
    return thumb.id, web.id


def wait_done(db: Session, asset_id: str, count: int) -> list[Rendition]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db.expire_all()
        rows = db.scalars(select(Rendition).where(Rendition.asset_id == asset_id)).all()
        if len(rows) == count and all(r.status != "InProgress" for r in rows):
            return list(rows)
        time.sleep(0.1)
    raise AssertionError("renditions did not finish")


def test_renditions_are_made_in_the_background(client: Any, db: Session, world: World) -> None:
    thumb_id, _ = configs(db, world)
    asset = create(client, world, jpeg(200, 100), "photo").json()["id"]
    rows = wait_done(db, asset, 2)
    assert {r.status for r in rows} == {"Done"}
    listed = client.get(f"/v3/assets/{asset}/renditions", headers=world.auth()).json()["data"]
    by_name = {r["name"]: r for r in listed}
    assert (by_name["thumb"]["mime_type"], by_name["web"]["mime_type"]) == (
        "image/png",
        "image/webp",
    )
    with Image.open(io.BytesIO(download(client, by_name["thumb"]["url"]))) as image:
        assert (image.format, image.size) == ("PNG", (32, 16))
    detail = client.get(f"/v3/renditions/{by_name['web']['id']}", headers=world.auth()).json()
    assert (detail["status"], detail["width"], detail["height"]) == ("Done", 100, 50)
    assert detail["original_asset_id"] == asset
    config = client.get(f"/v3/rendition-configs/{thumb_id}", headers=world.auth()).json()
    assert (config["width"], config["output_format"]) == (32, "png")
    events = db.scalars(
        select(OutboxEvent).where(OutboxEvent.event_name == "asset_renditions_created")
    ).all()
    assert [e.data["asset"]["id"] for e in events] == [asset]
    assert (
        client.get(
            f"/v3/renditions/{by_name['web']['id']}", headers=world.auth("member")
        ).status_code
        == 403
    )


def test_corrupt_images_end_as_error_and_the_worker_lives_on(
    client: Any, db: Session, world: World
) -> None:
    configs(db, world)
    good = jpeg(50, 50)
    broken = good[:200] + b"\0" * 300  # a JPEG header and garbage: sniffed as an image
    bad = create(client, world, broken, "broken").json()
    rows = wait_done(db, bad["id"], 2) if bad["type"] == "image" else []
    assert all(r.status == "Error" and r.error for r in rows)
    fine = create(client, world, good, "fine").json()["id"]
    assert {r.status for r in wait_done(db, fine, 2)} == {"Done"}


def test_non_images_get_no_renditions(client: Any, db: Session, world: World) -> None:
    configs(db, world)
    raw = create(client, world, b"%PDF-1.4\n%%EOF\n", "doc").json()["id"]
    assert client.get(f"/v3/assets/{raw}/renditions", headers=world.auth()).json()["data"] == []
    assert db.scalars(select(Rendition).where(Rendition.asset_id == raw)).all() == []
