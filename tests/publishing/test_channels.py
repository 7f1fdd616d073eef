"""Publishing channels: listPublishingChannels and their configuration under /ext/v1."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.support.mixins import ResourceTests
from tests.support.publishing import add_channel
from tests.support.world import World


class TestPublishingChannels(ResourceTests):
    list_path = "/v3/publishing-channels"
    item_path = None
    max_page_size = 1000
    create_path = "/ext/v1/publishing-channels"
    create_status = 201
    create_data = [
        {"name": "Drupal"},
        ({"name": "  Blog  ", "locales": ["en", "de-DE"]}, {"name": "Blog", "disabled": False}),
        {"name": "Paused", "disabled": True},
    ]
    invalid_create = [
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "{taken}"}, "name"),
        ({"name": "Web", "locales": ["english!"]}, "locales.0"),
        ({"name": "Web", "allowed_domains": ["not a domain"]}, "allowed_domains.0"),
    ]
    update_path = "/ext/v1/publishing-channels/{id}"
    update_status = 200
    update_data = [{"name": "Renamed"}, {"disabled": True}, {"disabled": False}]
    invalid_update = [({"name": "{taken}"}, "name"), ({"disabled": None}, "disabled")]
    writer = "admin"
    forbidden = ("member", "viewer")

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [add_channel(db, world, f"Channel {world.org.id[:4]} {i:03}") for i in range(n)]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        add_channel(db, world, "Taken")
        return {"taken": "taken"}  # names compare case-insensitively

    def fetch(self, world: World, item_id: str) -> dict[str, Any] | None:
        # The /ext/v1 list shows the whole configuration (what the writes answer).
        r = self.client.get("/ext/v1/publishing-channels", headers=world.auth())
        assert r.status_code == 200, r.text
        return next((c for c in r.json()["data"] if c["id"] == item_id), None)


def test_channels_list_by_name_with_page_size_up_to_1000(client, db: Session, world) -> None:
    for name in ("b", "C", "a"):
        add_channel(db, world, name, disabled=name == "C")
    r = client.get(
        "/v3/publishing-channels", params={"page_size": 1000}, headers=world.auth("viewer")
    )
    assert r.status_code == 200, r.text
    assert [(c["name"], c["disabled"]) for c in r.json()["data"]] == [
        ("C", True),
        ("a", False),
        ("b", False),
    ]
    r = client.get("/v3/publishing-channels", params={"page_size": 1001}, headers=world.auth())
    assert r.status_code == 400


def test_ext_channel_view_shows_the_configuration(client, world) -> None:
    body = {
        "name": "Docs",
        "locales": ["en", "fr-CA", "en"],
        "allowed_domains": ["Docs.Example.com"],
    }
    r = client.post("/ext/v1/publishing-channels", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["type"], made["locales"], made["allowed_domains"]) == (
        "webhook",
        ["en", "fr-CA"],
        ["docs.example.com"],
    )
    listed = client.get("/ext/v1/publishing-channels", headers=world.auth("viewer")).json()
    assert listed["data"] == [made]
