"""``cmpapi publishing channels add|list|disable|enable`` and ``cmpapi publishing
publish|withdraw``."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.publishing.tables import PublishingChannel
from tests.support.publishing import add_image, publish_task
from tests.support.world import World


@pytest.fixture
def run(database_url: str, tmp_path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        env = {
            "CMPAPI_DATABASE_URL": database_url,
            "CMPAPI_DATA_DIR": str(tmp_path),
            "COLUMNS": "200",
        }
        result = runner.invoke(cli, [*args], env=env)
        return result.exit_code, result.output

    return invoke


def test_channels_add_list_disable_enable(run, db: Session, world: World) -> None:
    code, out = run(
        "publishing",
        "channels",
        "add",
        "Blog",
        "--locale",
        "en",
        "--locale",
        "de",
        "--domain",
        "blog.example.com",
    )
    assert code == 0, out
    channel = db.scalars(select(PublishingChannel)).one()
    assert out == f"{channel.id}\n"
    assert (channel.locales, channel.allowed_domains) == (["en", "de"], ["blog.example.com"])
    code, out = run("publishing", "channels", "add", "blog")
    assert code == 1 and "A channel of this name exists" in out
    code, out = run("publishing", "channels", "list")
    assert code == 0 and channel.id in out and "blog.example.com" in out
    assert run("publishing", "channels", "disable", "BLOG") == (0, f"{channel.id}: disabled\n")
    assert run("publishing", "channels", "enable", channel.id) == (0, f"{channel.id}: enabled\n")
    code, out = run("publishing", "channels", "disable", "nope")
    assert code == 1 and "Publishing channel not found" in out


def test_publish_and_withdraw(run, client, db: Session, world: World) -> None:
    assert run("publishing", "channels", "add", "Web")[0] == 0
    task = publish_task(db, world, client)
    image = add_image(client, world, task["id"])
    code, out = run("publishing", "publish", task["id"], "--channel", "web")
    assert code == 0, out
    event_id = out.split(":")[0]
    assert out == f"{event_id}: published image {image}\n"
    code, out = run("publishing", "publish", task["id"], "--channel", "Web", "--asset", image)
    assert code == 0 and out.endswith(f": synced image {image}\n"), out
    code, out = run("publishing", "withdraw", task["id"], "--channel", "Web")
    assert code == 0 and out.endswith(f": unpublished image {image}\n"), out
    code, out = run("publishing", "withdraw", task["id"], "--channel", "Web")
    assert code == 1 and "Nothing to withdraw" in out
    db.expire_all()
    names = [
        e.event_name
        for e in db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))
        if e.event_name.startswith("asset_")
    ]
    assert names == ["asset_published", "asset_synced", "asset_unpublished"]
