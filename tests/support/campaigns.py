"""Campaigns and calendar events through the API, for tests of any resource."""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def create_campaign(client: Any, world: World, who: str = "member", **fields: Any) -> Any:
    """createCampaign; the response JSON."""
    r = client.post("/v3/campaigns", json={"title": "Spring", **fields}, headers=world.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


def event_body(**extra: Any) -> dict[str, Any]:
    """A valid createEvent body."""
    return {
        "title": "Launch party",
        "is_all_day": False,
        "start_date": "2030-05-01T18:00:00Z",
        "end_date": "2030-05-01T22:00:00Z",
        **extra,
    }


def create_event(client: Any, world: World, who: str = "member", **extra: Any) -> Any:
    """createEvent; the response JSON."""
    r = client.post("/v3/events", json=event_body(**extra), headers=world.auth(who))
    assert r.status_code == 201, r.text
    return r.json()
