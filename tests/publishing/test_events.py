"""Publishing events and their metadata: getPublishingEvent, listPublishingEventMetadata,
getPublishingEventAssetMetadata, bulkCreatePublishingEventMetadata and its rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.support.publishing import add_channel, publish_task, published_event, push
from tests.support.snapshot import Unchanged
from tests.support.world import World, build_world

FUTURE = "2999-01-01T00:00:00Z"


@contextmanager
def unchanged(db: Session) -> Iterator[None]:
    """The requests of the block change no row of any table."""
    watch = Unchanged(db)
    yield
    watch.finally_("refused requests")


def metadata_url(event: dict[str, Any]) -> str:
    return str(event["links"]["publishing_metadata"])


def bulk(
    client: Any, world: World, event: dict[str, Any], *items: dict[str, Any], who: str = "member"
) -> dict[str, Any]:
    r = client.post(metadata_url(event), json={"data": list(items)}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json())


def item(asset_id: str, status: str = "published", **extra: Any) -> dict[str, Any]:
    if status in ("published", "synced") and "public_url" not in extra:
        extra["public_url"] = f"https://example.com/{asset_id}"
    if status == "synced" and "publishing_destination_updated_at" not in extra:
        extra["publishing_destination_updated_at"] = "2024-01-01T10:00:00Z"
    return {"asset_id": asset_id, "status": status, **extra}


def codes(answer: dict[str, Any]) -> list[str]:
    return [e["error_code"] for e in answer["errors"]]


def test_a_published_event_and_its_links(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    event, (image, article) = published_event(client, db, world, channel, article=True)
    r = client.get(event["links"]["self"], headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.json() == event
    assert [(a["id"], a["type"], a["publishing_metadata"]) for a in event["assets"]] == [
        (image, "image", []),
        (article, "article", []),
    ]
    for asset in event["assets"]:  # the task assets' own getters
        assert client.get(asset["links"]["self"], headers=world.auth()).json()["id"] == asset["id"]
    r = client.get(metadata_url(event), headers=world.auth("viewer"))
    assert (r.status_code, r.json()) == (200, {"data": []})


def test_metadata_round_trip_and_filters(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    event, (one, two) = published_event(client, db, world, channel, images=2)
    answer = bulk(
        client,
        world,
        event,
        item(
            one,
            locale="en",
            status_message="Live",
            publishing_destination_updated_at="2024-01-01T10:00:00.250Z",
        ),
        item(one, locale="de"),
        item(two, "failed", status_message="CMS down"),
    )
    assert answer["errors"] == []
    stored = answer["data"]
    assert [(m["asset_id"], m["locale"], m["status"]) for m in stored] == [
        (one, "en", "published"),
        (one, "de", "published"),
        (two, None, "failed"),
    ]
    first = stored[0]
    assert (first["public_url"], first["status_message"], first["asset_type"]) == (
        f"https://example.com/{one}",
        "Live",
        "image",
    )
    assert first["publishing_destination_updated_at"] == "2024-01-01T10:00:00Z"
    assert first["links"]["publishing_event"] == event["links"]["self"]
    assert first["links"]["asset"] == event["assets"][0]["links"]["self"]
    got = client.get(first["links"]["self"], headers=world.auth("viewer"))
    assert (got.status_code, got.json()) == (200, first)
    shown = client.get(event["links"]["self"], headers=world.auth()).json()
    assert [[m["id"] for m in a["publishing_metadata"]] for a in shown["assets"]] == [
        [stored[0]["id"], stored[1]["id"]],
        [stored[2]["id"]],
    ]
    assert shown["assets"][0]["publishing_metadata"][0]["links"]["self"] == first["links"]["self"]

    def listed(**params: str) -> list[str]:
        r = client.get(metadata_url(event), params=params, headers=world.auth())
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["data"]]

    ids = [m["id"] for m in stored]
    assert listed() == ids
    assert listed(status="failed") == ids[2:]
    assert listed(asset_id=one) == ids[:2]
    assert listed(locale="DE") == [ids[1]]
    assert listed(asset_type="image", status="published", locale="en") == [ids[0]]
    assert listed(asset_type="article") == []
    r = client.get(metadata_url(event), params={"status": "gone"}, headers=world.auth())
    assert r.status_code == 400


def test_every_refusal_has_its_error_code(client, db: Session, world: World) -> None:
    channel = add_channel(db, world, locales=["en", "fr"], allowed_domains=["example.com"])
    event, (one, two, three) = published_event(client, db, world, channel, images=3)
    bulk(client, world, event, item(one, locale="en"))
    cases = [
        (item("0" * 32, locale="en"), "unknown-asset"),
        (item(one, locale="EN"), "metadata-exists"),
        (item(two, "synced", locale="en"), "invalid-status"),  # a first publish
        (item(two, "unpublished", locale="en"), "invalid-status"),
        (item(two), "missing-locale"),
        (item(two, locale="de"), "locale-not-allowed"),
        (item(two, locale="fr", public_url="ftp://example.com/x"), "public-url-not-allowed"),
        (item(two, locale="fr", public_url="/relative"), "public-url-not-allowed"),
        (item(two, locale="fr", public_url="https://u:p@example.com/"), "public-url-not-allowed"),
        (
            item(two, locale="fr", public_url="https://example.com/" + "x" * 2048),
            "public-url-not-allowed",
        ),
        (
            item(two, "failed", locale="fr", public_url="https://example.com/x"),
            "public-url-not-allowed",
        ),
        ({"asset_id": two, "status": "published", "locale": "fr"}, "missing-public-url"),
        (item(two, locale="fr", public_url="https://evil.com/x"), "domain-not-whitelisted"),
        (
            item(two, locale="fr", public_url="https://example.com.evil.com/"),
            "domain-not-whitelisted",
        ),
        (item(two, locale="fr", public_url=f"https://example.com/{one}"), "canonical-link-error"),
        (
            item(two, locale="fr", publishing_destination_updated_at=FUTURE),
            "publishing-destination-updated-at-not-allowed",
        ),
    ]
    with unchanged(db):
        for body, code in cases:
            answer = bulk(client, world, event, body)
            assert (answer["data"], codes(answer)) == ([], [code]), body
            error = answer["errors"][0]
            assert error["asset_id"] == body["asset_id"] and error["message"]
            assert error["locale"] == body.get("locale")
        answer = bulk(client, world, event, item(three, locale="en"), item(three, locale="En"))
        assert codes(answer) == ["duplicate-metadata"] * 2
    # subdomains of an allowed domain are allowed
    answer = bulk(
        client, world, event, item(two, locale="fr", public_url="https://www.example.com/2")
    )
    assert answer["errors"] == [] and answer["data"][0]["locale"] == "fr"


def test_synced_and_unpublished_statuses_follow_the_event(client, db: Session, world) -> None:
    channel = add_channel(db, world)
    first, (image,) = published_event(client, db, world, channel)
    task = client.get(first["assets"][0]["links"]["self"], headers=world.auth()).json()
    task_id = task["links"]["task"].rsplit("/", 1)[-1]
    bulk(client, world, first, item(image))
    resync = push(client, world, channel, task_id)
    missing = {"asset_id": image, "status": "synced", "public_url": f"https://example.com/{image}"}
    answer = bulk(client, world, resync, missing)
    assert codes(answer) == ["missing-publishing-destination-updated-at"]
    answer = bulk(client, world, resync, item(image, "synced"))
    assert answer["errors"] == [] and answer["data"][0]["status"] == "synced"
    withdrawal = push(client, world, channel, task_id, "withdraw")
    assert codes(bulk(client, world, withdrawal, item(image))) == ["invalid-status"]
    answer = bulk(client, world, withdrawal, item(image, "unpublished", status_message="Gone"))
    assert answer["errors"] == [] and answer["data"][0]["public_url"] is None


def test_a_mixed_batch_stores_the_valid_items(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    event, (one, two) = published_event(client, db, world, channel, images=2)
    answer = bulk(
        client,
        world,
        event,
        item(one),
        item("nope", status_message="?"),
        item(two, locale="en", public_url="https://x.test/a b"),
        item(two),
    )
    assert [m["asset_id"] for m in answer["data"]] == [one, two]
    assert codes(answer) == ["unknown-asset", "public-url-not-allowed"]
    # The spec requires "status message" and "type" on error items (docs/compat.md).
    assert answer["errors"][0] | {"message": ""} == {
        "asset_id": "nope",
        "error_code": "unknown-asset",
        "locale": None,
        "message": "",
        "status message": "?",
        "type": None,
    }
    assert answer["errors"][1]["type"] == "image"
    r = client.get(metadata_url(event), headers=world.auth())
    assert [m["id"] for m in r.json()["data"]] == [m["id"] for m in answer["data"]]


def test_who_may_read_and_post(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    event, (image,) = published_event(client, db, world, channel)
    other = build_world(db, org_name="Other", prefix="o-")
    url = metadata_url(event)
    with unchanged(db):
        r = client.post(url, json={"data": [item(image)]}, headers=world.auth("viewer"))
        assert r.status_code == 403
        for path in (event["links"]["self"], url):
            assert client.get(path, headers=other.auth()).status_code == 404
            assert client.get(path).status_code == 401
        r = client.post(url, json={"data": [item(image)]}, headers=other.auth())
        assert r.status_code == 404
        r = client.post(url, json={"data": [item(image)] * 1001}, headers=world.auth())
        assert r.status_code == 422 and "data" in r.json()["errors"]
        r = client.post(url, json={"data": [item(image, "live")]}, headers=world.auth())
        assert r.status_code == 422
    made = bulk(client, world, event, item(image), who="admin")["data"][0]
    for bad in (
        made["links"]["self"].replace(image, "0" * 32),
        made["links"]["self"].replace(made["id"], "0" * 32),
    ):
        assert client.get(bad, headers=world.auth()).status_code == 404
    assert client.get(made["links"]["self"], headers=other.auth()).status_code == 404


def test_publishing_on_demand_refusals(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    paused = add_channel(db, world, "Paused", disabled=True)
    task = publish_task(db, world, client)
    base = "/ext/v1/publishing-channels"

    def call(channel_id: str, action: str = "publish", who: str = "member", **body: Any):
        return client.post(
            f"{base}/{channel_id}/{action}",
            json={"task_id": task["id"], **body},
            headers=world.auth(who),
        )

    with unchanged(db):
        assert call(channel).status_code == 422  # the task has no assets
        assert call("0" * 32).status_code == 404
        assert call(paused).status_code == 422
        assert call(channel, who="viewer").status_code == 403
        assert call(channel, asset_ids=["0" * 32]).json()["errors"] == {
            "asset_ids.0": "Not an asset of the task"
        }
        assert call(channel, "withdraw").status_code == 422
        r = client.post(
            f"{base}/{channel}/publish", json={"task_id": "0" * 32}, headers=world.auth()
        )
        assert r.status_code == 404


@pytest.mark.parametrize("asset_ids", [None, "first"])
def test_withdrawing_named_assets_that_are_not_live_is_refused(
    client, db: Session, world: World, asset_ids: str | None
) -> None:
    channel = add_channel(db, world)
    event, (one, two) = published_event(client, db, world, channel, images=2)
    task_id = (
        client.get(event["assets"][0]["links"]["self"], headers=world.auth())
        .json()["links"]["task"]
        .rsplit("/", 1)[-1]
    )
    body = {"asset_ids": [one]} if asset_ids else {}
    gone = push(client, world, channel, task_id, "withdraw", **body)
    assert [a["id"] for a in gone["assets"]] == ([one] if asset_ids else [one, two])
    r = client.post(
        f"/ext/v1/publishing-channels/{channel}/withdraw",
        json={"task_id": task_id, "asset_ids": [one]},
        headers=world.auth(),
    )
    assert r.status_code == 422 and r.json()["errors"] == {
        "asset_ids.0": "Not published on this channel"
    }


def test_a_withdrawal_frees_the_public_url(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    event, (one, two) = published_event(client, db, world, channel, images=2)
    url = "https://example.com/launch"
    bulk(client, world, event, item(one, public_url=url))
    assert codes(bulk(client, world, event, item(two, public_url=url))) == ["canonical-link-error"]
    task_id = client.get(event["assets"][0]["links"]["self"], headers=world.auth()).json()
    push(
        client,
        world,
        channel,
        task_id["links"]["task"].rsplit("/", 1)[-1],
        "withdraw",
        asset_ids=[one],
    )
    assert bulk(client, world, event, item(two, public_url=url))["errors"] == []
