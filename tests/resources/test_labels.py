"""Labels: listLabelGroups, the label API other resources use, the CLI and the demo seed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server import demo
from cmpapi.server.errors import Invalid
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.labels import service
from cmpapi.server.resources.labels.tables import LabelGroup
from cmpapi.wire import ResourceLabelResponse
from tests.contract.spec import SPEC_AVAILABLE, relaxed_view
from tests.support.mixins import ResourceTests
from tests.support.world import World, build_world

HEX32 = re.compile(r"[0-9a-f]{32}")


def make_group(
    db: Session, org_id: str, name: str, *values: str, single: bool = False
) -> LabelGroup:
    group = service.create_label_group(
        db, org_id, name, values or ("One", "Two"), has_single_value=single
    )
    db.commit()
    return group


def groups(client: Any, world: World, who: str = "admin", **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v3/label-groups", params={"page_size": 100, **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


class TestListLabelGroups(ResourceTests):
    list_path = "/v3/label-groups"
    item_path = "/v3/label-groups?id={id}"
    # listLabelGroups has no single-item operation: the mixin's get tests do not apply.
    test_get_own_item = None
    test_get_unknown_is_404 = None
    test_get_without_token_is_401 = None
    test_other_organization_is_invisible = None

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [make_group(db, world.org.id, f"Group {i:02d}").id for i in range(n)]


def test_groups_by_name_with_their_values(client, db: Session, world: World) -> None:
    make_group(db, world.org.id, "Region", "EMEA", "APAC")
    make_group(db, world.org.id, "Content Pillar", "Pillar 1")
    listed = groups(client, world, "viewer")
    assert [(g["name"], g["source_org_type"]) for g in listed] == [
        ("Content Pillar", "current"),
        ("Region", "current"),
    ]
    assert [v["name"] for v in listed[1]["values"]] == ["EMEA", "APAC"]
    assert all(HEX32.fullmatch(x["id"]) for g in listed for x in [g, *g["values"]])


def test_source_org_type_filter(client, db: Session, world: World) -> None:
    make_group(db, world.org.id, "Region")
    assert len(groups(client, world, source_org_type="current")) == 1
    assert groups(client, world, source_org_type="related") == []
    r = client.get("/v3/label-groups?source_org_type=other", headers=world.auth())
    assert r.status_code == 400
    assert "source_org_type" in r.json()["errors"]


def test_other_organizations_groups_are_invisible(client, db: Session, world: World) -> None:
    other = build_world(db, org_name="Other", prefix="other-")
    make_group(db, other.org.id, "Theirs")
    make_group(db, world.org.id, "Theirs")  # names are unique per organization only
    assert [g["name"] for g in groups(client, world)] == ["Theirs"]
    assert groups(client, world)[0]["id"] != groups(client, other)[0]["id"]


@pytest.mark.parametrize(
    ("name", "values"), [("region", ["A"]), (" ", ["A"]), ("New", ["A", "a"]), ("New", [""])]
)
def test_create_group_rules(db: Session, world: World, name: str, values: list[str]) -> None:
    make_group(db, world.org.id, "Region")
    with pytest.raises(Invalid):
        service.create_label_group(db, world.org.id, name, values)


def request(group: str, *values: str) -> dict[str, Any]:
    """A ``ResourceLabelRequest`` item, as dumped."""
    return {"group": group, "values": list(values)}


def test_validate_resource_labels(db: Session, world: World) -> None:
    region = make_group(db, world.org.id, "Region", "EMEA", "APAC", single=True)
    pillar = make_group(db, world.org.id, "Pillar", "P1", "P2", "P3")
    emea, apac = (v.id for v in region.values)
    p1, p2, _ = (v.id for v in pillar.values)
    checked = service.validate_resource_labels(
        db, world.org.id, [request(pillar.id, p2, p1, p2), request(region.id, apac)]
    )
    assert [(c.group.id, [v.id for v in c.values]) for c in checked] == [
        (pillar.id, [p2, p1]),
        (region.id, [apac]),
    ]
    theirs = make_group(db, build_world(db, org_name="O", prefix="o-").org.id, "Theirs")
    with pytest.raises(Invalid) as caught:
        service.validate_resource_labels(
            db,
            world.org.id,
            [
                request(region.id, emea, apac),
                request(pillar.id, emea),
                request(theirs.id),
                request(pillar.id, p1),
            ],
        )
    assert caught.value.errors == {
        "labels.0.values": "This label group takes a single value",
        "labels.1.values": "Not values of this label group",
        "labels.2.group": "Unknown label group",
        "labels.3.group": "Repeated",
    }


def test_resource_labels_render_spec_valid(db: Session, world: World) -> None:
    region = make_group(db, world.org.id, "Region", "EMEA", "APAC")
    pillar = make_group(db, world.org.id, "Pillar", "P1")
    emea, apac = (v.id for v in region.values)
    p1 = pillar.values[0].id
    names = service.load_label_names(db, world.org.id, [apac, p1, emea, "gone"])
    labels = service.resource_labels([apac, p1, emea, "gone", apac], names)
    # Plain data, as the wire model would send it.
    dumped = [
        ResourceLabelResponse.model_validate(label).model_dump(mode="json") for label in labels
    ]
    assert dumped == labels
    assert dumped == [
        {
            "group": {"id": region.id, "name": "Region"},
            "values": [{"id": apac, "name": "APAC"}, {"id": emea, "name": "EMEA"}],
        },
        {"group": {"id": pillar.id, "name": "Pillar"}, "values": [{"id": p1, "name": "P1"}]},
    ]
    if SPEC_AVAILABLE:
        validator = relaxed_view().component_validator("ResourceLabelResponse")
        assert all(not list(validator.iter_errors(item)) for item in dumped)
    other = build_world(db, org_name="O", prefix="o-").org.id
    assert service.load_label_names(db, other, [apac]) == {}


def test_cli_creates_label_groups(database_url: str, tmp_path, db: Session, world: World) -> None:
    env = {"CMPAPI_DATABASE_URL": database_url, "CMPAPI_DATA_DIR": str(tmp_path)}
    args = [
        "labels",
        "create-group",
        "--name",
        "Region",
        "--value",
        "EMEA",
        "--value",
        "APAC",
        "--single-value",
        "--org",
        world.org.id,
    ]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    ids = dict(line.split(": ") for line in result.output.splitlines())
    group = db.get(LabelGroup, ids["id"])
    assert group is not None and group.has_single_value
    assert [(v.name, v.id) for v in group.values] == [("EMEA", ids["EMEA"]), ("APAC", ids["APAC"])]
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 1
    assert "unique" in again.output


def test_demo_seed_has_fields_and_label_groups(client, db: Session) -> None:
    demo.seed(db)
    app = db.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID)).one()
    token = store.issue_token(
        db, app, demo.demo_id("user:val.viewer"), kind="access", ttl_seconds=60
    ).raw
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    fields = client.get("/v3/fields?page_size=100", headers=auth).json()["data"]
    assert {f["type"] for f in fields} == {s["type"] for s in demo.FIELDS}
    channel = next(f for f in fields if f["name"] == "Channel")
    assert channel["id"] == demo.demo_id("field:Channel")
    assert channel["choices"][0]["id"] == demo.demo_id("field:Channel:Web")
    listed = client.get("/v3/label-groups", headers=auth).json()["data"]
    assert [g["name"] for g in listed] == ["Content Pillar", "Region"]
    assert listed[1]["values"][0]["id"] == demo.demo_id("label:Region:Americas")
