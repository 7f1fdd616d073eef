"""The seeded scene the authorization matrix runs in: two organizations on one server, the
users who act, and helpers that make the objects the requests address.

Objects are made the way an integration makes them (through the API, as their owner), except
what the API cannot make (workflows, fields, label groups, rendition configs, articles,
briefs), which comes from the same services the CLI and the demo seed use. Every id the
first organization gets is remembered in ``Scene.secrets``: an answer to the other
organization must contain none of them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Repository
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.http.links import Links
from cmpapi.server.identity import service as identity
from cmpapi.server.oauth import store
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.fields import service as fields
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library import acl, renditions
from cmpapi.server.resources.library.tables import Asset, Rendition
from cmpapi.server.resources.publishing import channels as publishing_channels
from cmpapi.server.resources.structured_content.tables import ContentType
from cmpapi.server.resources.subresources import briefs
from cmpapi.server.resources.tasks import metadata_service
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.resources.workflows import service as workflows
from cmpapi.wire import SettingsFieldCreateRequest
from tests.support.work_requests import TEMPLATE, request_body, settings_document
from tests.support.world import World, build_world

SC_TITLE = {
    "core": {
        "key": "title",
        "name": "Title",
        "field_type": "text-field",
        "is_list": False,
        "is_required": True,
        "need_internationalization": False,
    },
    "validation_pattern": "",
    "min_length": 1,
}


def sc_body(type_id: str, title: str = "Spring story") -> dict[str, Any]:
    """createStructuredContent's body for a content of ``type_id`` (SC_TITLE)."""
    fields = {"title": [{"locale": "en_US", "field_values": [{"text_value": title}]}]}
    body = {"content_type_guid": type_id, "root_content": True, "fields": fields}
    return {"title": title, "content_body": body}


ORG_A, PREFIX_A = "Alpha Corp", "alpha-"
ORG_B, PREFIX_B = "Beta Ltd", "beta-"
MiB = 1024 * 1024

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(2000)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "red").save(out, "JPEG")
    return out.getvalue()


JPEG = jpeg()
FILES = {"image": JPEG, "video": MP4, "raw_file": PDF}

# Step 1 is ordinary; step 2 holds an external sub-step whose system is the first
# organization's app, so every token of that organization may link its ticket.
FLOW: list[dict[str, Any]] = [
    {"name": "Create", "duration": 2, "sub_steps": [{"name": "Write"}, {"name": "Review"}]},
    {
        "name": "External",
        "sub_steps": [
            {
                "name": "Ticket",
                "is_external": True,
                "external_system": f"{ORG_A} App",
                "is_user_interaction_allowed": True,
            },
        ],
    },
]


def uid() -> str:
    """A short unique suffix for names that must not clash."""
    return new_id()[:10]


@dataclass
class Req:
    """One request of the matrix, and what its answer is about.

    ``targets`` are ids of the first organization's objects a collection answer lists: an
    allowed caller must see them, a HIDDEN one must not. ``view`` projects the answer's JSON
    onto what it shows (default: the ``data`` items of a list, else the whole body)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    targets: tuple[str, ...] = ()
    view: Any = None

    def text(self) -> str:
        """Everything the caller sent: ids in here are not leaks when answered back."""
        return " ".join((self.path, json.dumps(self.params), json.dumps(self.json)))


@dataclass
class Scene:
    """The first organization (``a``: its admin, the member who owns objects, a second
    member, a viewer) and another organization (``b``)."""

    client: Any
    sessions: sessionmaker[Session]
    a: World
    b: World
    tokens: dict[str, str]
    users: dict[str, str]  # user key -> user id (first organization)
    secrets: set[str] = field(default_factory=set)
    shared: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Req] = field(default_factory=dict)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, client: Any, sessions: sessionmaker[Session]) -> Scene:
        with sessions() as db:
            a = build_world(db, org_name=ORG_A, prefix=PREFIX_A)
            b = build_world(db, org_name=ORG_B, prefix=PREFIX_B)
            second = identity.create_user(
                db,
                a.org.id,
                email=f"{PREFIX_A}member2@example.com",
                name="Second Member",
                role="member",
            )
            token = store.issue_token(db, a.app, second.id, kind="access", ttl_seconds=7200).raw
            db.commit()
            tokens = {**a.tokens, "member2": token, "other": b.tokens["admin"]}
            users = {k: u.id for k, u in a.users.items()} | {"member2": second.id}
            scene = cls(client, sessions, a, b, tokens, users)
            scene.secrets |= {a.org.id, a.team.id, a.app.id, a.app.client_id, *users.values()}
            scene.secrets |= {ORG_A, PREFIX_A}
            scene._seed(db)
        return scene

    def _seed(self, db: Session) -> None:
        """What the API cannot create, made once and only read by the matrix."""
        org = self.a.org.id
        config = renditions.create_config(db, org, name="Thumb", width=8, height=8)
        flow = workflows.create_workflow(db, org, "Authz flow", FLOW)
        group = labels.create_label_group(db, org, "Region", ["EMEA", "APAC"])
        channel = publishing_channels.add_channel(db, org, "Blog")
        db.commit()
        text = self.field(db, "text")
        dropdown = self.field(db, "dropdown")
        self.shared.update(
            rendition_config=config.id,
            workflow=flow.id,
            label_group=group.id,
            text_field=text,
            dropdown=dropdown,
            channel=channel.id,
        )
        self.mine(config.id, flow.id, group.id, text, dropdown, channel.id)

    @contextmanager
    def db(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def footprint(self) -> tuple[int, int]:
        """(stored objects, recorded events): a refused request adds to neither."""
        root = self.client.app.state.settings.resolved_storage_dir
        objects = sum(len(files) for _, _, files in os.walk(root))
        with self.db() as db:
            events = db.scalar(select(func.count()).select_from(OutboxEvent)) or 0
        return objects, int(events)

    def mine(self, *ids: str) -> str:
        """Remember ids of the first organization; returns the first."""
        self.secrets.update(ids)
        return ids[0]

    # -- calling ----------------------------------------------------------------------------

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def api(self, user: str, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """A setup request that must succeed; its JSON answer (None when empty)."""
        r = self.client.request(method, path, headers=self.headers(user), **kw)
        assert r.status_code == status, f"setup {method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def key(self, who: str | None, data: bytes = JPEG) -> str:
        """An upload key for the acting user's organization. Viewers cannot upload (and the
        anonymous caller has no organization): the owner uploads for them."""
        uploader = {"viewer": "member", None: "member"}.get(who, who)
        assert uploader is not None
        form = self.api(uploader, "GET", "/v3/upload-url")
        meta = form["upload_meta_fields"]
        r = self.client.post(form["url"], data=meta, files={"file": ("file.bin", data)})
        assert r.status_code == 204, r.text
        return str(meta["key"])

    # -- library ----------------------------------------------------------------------------

    def grant(self, kind: str, resource_id: str, accessor: str, level: str = "delete") -> None:
        """Give the viewer (or the first organization's team) access to a folder or asset."""
        target = ("team", self.a.team.id) if accessor == "team" else ("user", self.users[accessor])
        with self.db() as db:
            acl.grant(db, self.a.org.id, (kind, resource_id), target, acl.LEVELS[level])
            db.commit()

    def folder(self) -> str:
        """A folder the member owns, shared with the viewer (full access)."""
        body = {"name": f"Folder {uid()}"}
        folder_id = self.api("member", "POST", "/v3/folders", 201, json=body)["id"]
        self.grant("folder", folder_id, "viewer")
        return self.mine(folder_id)

    def asset(self, kind: str = "image", title: str = "Asset") -> str:
        """A library asset of ``kind`` the member owns, shared with the viewer."""
        if kind == "article":
            return self.article()
        body = {"key": self.key("member", FILES[kind]), "title": title}
        made = self.api("member", "POST", "/v3/assets", 201, json=body)
        assert made["type"] == kind, made
        self.grant("asset", made["id"], "viewer")
        return self.mine(made["id"])

    def article(self) -> str:
        """The Library API creates no articles: one is put in place as a published task
        would, owned by the member and shared with the viewer."""
        with self.db() as db:
            article = Repository(Asset, db, self.a.org.id).add(
                Asset(
                    id=new_id(),
                    type="article",
                    title="Launch post",
                    mime_type="text/html",
                    html_body="<p>Hello</p>",
                    owner_id=self.users["member"],
                )
            )
            acl.grant(
                db,
                self.a.org.id,
                ("asset", article.id),
                ("user", self.users["member"]),
                acl.FULL,
                is_owner=True,
            )
            db.commit()
            article_id = article.id
        self.grant("asset", article_id, "viewer")
        return self.mine(article_id)

    def rendition(self, image_id: str) -> str:
        with self.db() as db:
            found = db.scalar(select(Rendition.id).where(Rendition.asset_id == image_id))
        assert found is not None, "no rendition was scheduled for the image"
        return self.mine(found)

    def lineage(self, asset_id: str) -> str:
        body = {"name": "Blog", "uri": "https://blog.example.com/post"}
        path = f"/v3/assets/{asset_id}/lineages"
        return self.mine(self.api("member", "POST", path, 201, json=body)["id"])

    # -- fields, tasks, milestones ----------------------------------------------------------

    def field(self, db: Session | None = None, type_: str = "text") -> str:
        """A new field definition of the first organization (choices One, Two)."""
        body: dict[str, Any] = {"name": f"Field {uid()}", "type": type_, "is_active": True}
        if type_ == "dropdown":
            body |= {"choices": [{"name": "One"}, {"name": "Two"}], "is_multi_select": False}
        payload = SettingsFieldCreateRequest.model_validate(body).root
        if db is None:
            with self.db() as session:
                return self.field(session, type_)
        made = fields.add_field(db, self.a.org.id, payload)
        db.commit()
        return self.mine(made.id, *(c.id for c in made.choices))

    def choices(self, field_id: str) -> list[str]:
        with self.db() as db:
            return [c.id for c in Repository(Field, db, self.a.org.id).get(field_id).choices]

    def task(self, title: str = "Spring launch") -> dict[str, Any]:
        """A task the member creates from the scene's workflow."""
        body = {"title": title, "workflow_id": self.shared["workflow"]}
        task: dict[str, Any] = self.api("member", "POST", "/v3/tasks", 201, json=body)
        self.mine(task["id"], *(s["id"] for s in task["steps"]))
        self.mine(task["id"], *(ss["id"] for s in task["steps"] for ss in s["sub_steps"]))
        return task

    @staticmethod
    def sub_step(task: dict[str, Any], step: int = 0, sub: int = 0) -> str:
        s = task["steps"][step]
        return f"/v3/tasks/{task['id']}/steps/{s['id']}/sub-steps/{s['sub_steps'][sub]['id']}"

    def task_asset(self, task_id: str, kind: str = "image") -> str:
        """An asset of the task: an upload, or (articles) a fork of a library article."""
        if kind == "article":
            body: dict[str, Any] = {
                "type": "fork_from_library",
                "content_id": self.article(),
                "content_type": "article",
            }
        else:
            body = {"key": self.key("member", FILES[kind]), "title": f"Task {kind}"}
        made = self.api("member", "POST", f"/v3/tasks/{task_id}/assets", 201, json=body)
        return self.mine(made["id"])

    def publishing_event(self) -> tuple[str, str]:
        """A task's image the member published on the scene's channel: (event, asset)."""
        task = self.task()["id"]
        asset = self.task_asset(task)
        path = f"/ext/v1/publishing-channels/{self.shared['channel']}/publish"
        event = self.api("member", "POST", path, 201, json={"task_id": task})["id"]
        return self.mine(event), asset

    def publishing_metadata(self, event: str, asset: str) -> str:
        """Publishing metadata the member posted for the asset of the event."""
        item = {"asset_id": asset, "status": "published", "public_url": f"https://x.test/{asset}"}
        path = f"/v3/publishing-events/{event}/publishing-metadata"
        answer = self.api("member", "POST", path, json={"data": [item]})
        return self.mine(answer["data"][0]["id"])

    def comment(self, sub_step_path: str) -> str:
        made = self.api("member", "POST", f"{sub_step_path}/comments", 201, json={"value": "Hi"})
        return self.mine(made["id"])

    def task_field(self, task_id: str, field_id: str, type_: str, values: list[str]) -> None:
        body = {"id": field_id, "type": type_, "values": values}
        self.api("member", "POST", f"/v3/tasks/{task_id}/fields", 201, json=body)

    def brief(self, task_id: str) -> None:
        with self.db() as db:
            task = Repository(Task, db, self.a.org.id).get(task_id)
            metadata_service.set_task_brief(
                db, Links("https://testserver"), task, type="text", title="Brief"
            )
            db.commit()

    def milestone(self, due: str = "2030-03-31T17:00:00Z", **extra: Any) -> str:
        body = {"title": "Q1 launch", "due_date": due, "hex_color": "#4ecfd5", **extra}
        return self.mine(self.api("member", "POST", "/v3/milestones", 201, json=body)["id"])

    def campaign(self) -> str:
        """A campaign the member creates."""
        body = {"title": f"Campaign {uid()}", "start_date": "2030-03-01"}
        return self.mine(self.api("member", "POST", "/v3/campaigns", 201, json=body)["id"])

    def campaign_field(self, campaign_id: str) -> None:
        body = {"id": self.shared["text_field"], "type": "text", "values": ["Hello"]}
        self.api("member", "POST", f"/v3/campaigns/{campaign_id}/fields", 201, json=body)

    def campaign_brief(self, campaign_id: str) -> None:
        with self.db() as db:
            campaign = Repository(Campaign, db, self.a.org.id).get(campaign_id)
            briefs.put(db, Links("https://testserver"), CAMPAIGN, campaign, type="text", title="B")
            db.commit()

    def event(self, start: str = "2030-05-01T18:00:00Z", end: str = "2030-05-01T22:00:00Z") -> str:
        """A calendar event the member creates."""
        body = {"title": "Launch party", "is_all_day": False, "start_date": start, "end_date": end}
        return self.mine(self.api("member", "POST", "/v3/events", 201, json=body)["id"])

    def template(self) -> dict[str, Any]:
        """The organization's work request template (imported once, by its admin)."""
        if "template" not in self.shared:
            doc = settings_document(TEMPLATE)
            self.api("admin", "POST", "/v3/settings", params={"execute": "true"}, json=doc)
            listed = self.api("admin", "GET", "/v3/templates")["data"]
            made = self.api("admin", "GET", f"/v3/templates/{listed[0]['id']}")
            self.shared["template"] = made
            self.mine(made["id"])
        return dict(self.shared["template"])

    def work_request(self) -> str:
        made = self.api(
            "member", "POST", "/v3/work-requests", 201, json=request_body(self.template())
        )
        return self.mine(made["id"])

    def work_request_comment(self, work_request_id: str) -> str:
        path = f"/v3/work-requests/{work_request_id}/comments"
        return self.mine(self.api("member", "POST", path, 201, json={"value": "Hi"})["id"])

    def work_request_attachment(self, work_request_id: str) -> str:
        body = {"key": self.key("member"), "name": "brief.jpg"}
        path = f"/v3/work-requests/{work_request_id}/attachments"
        return self.mine(self.api("member", "POST", path, 201, json=body)["id"])

    def creative_asset(self, work_request_id: str) -> str:
        body = {"key": self.key("member"), "name": "Hero"}
        path = f"/v3/work-requests/{work_request_id}/creative-assets"
        return self.mine(self.api("member", "POST", path, json=body)["id"])

    # -- structured content ---------------------------------------------------------------

    def sc_type(self, fresh: bool = False) -> str:
        """A content type of the first organization (made by its admin; one shared unless
        ``fresh``): a required text field ``title``."""
        if not fresh and "sc_type" in self.shared:
            return str(self.shared["sc_type"])
        body = {
            "created_by": self.users["admin"],
            "details": {"name": f"Type {uid()}", "component": False},
            "field_definitions": [SC_TITLE],
        }
        made = self.api("admin", "POST", "/v3/structured-content/content-types", 201, json=body)
        type_id = self.mine(made["content_type_guid"], made["content_type_version_guid"])
        if not fresh:
            self.shared["sc_type"] = type_id
            self.shared["sc_version"] = made["content_type_version_guid"]
        return type_id

    def structured_content(self) -> str:
        """A library structured content the member owns, shared with the viewer."""
        made = self.api("member", "POST", "/v3/structured-contents", json=sc_body(self.sc_type()))
        self.grant("asset", made["id"], "viewer")
        return self.mine(made["id"])

    def sc_versioned(self, fresh: bool = False) -> dict[str, str]:
        """A content type with a content the member owns on its version 1, then version 2
        (an optional field more): ``{"type", "v1", "v2", "content"}``; one shared unless
        ``fresh``."""
        if not fresh and "sc_versioned" in self.shared:
            return dict(self.shared["sc_versioned"])
        type_id = self.sc_type(fresh=True)
        with self.db() as db:
            v1 = db.scalar(select(ContentType.latest_version_id).where(ContentType.id == type_id))
        made = self.api("member", "POST", "/v3/structured-contents", json=sc_body(type_id))
        other = {**SC_TITLE, "core": {**SC_TITLE["core"], "key": "subtitle", "is_required": False}}
        body = {"created_by": "integration", "field_definitions": [SC_TITLE, other]}
        path = f"/v3/structured-content/content-types/{type_id}/versions"
        v2 = self.api("admin", "POST", path, 201, json=body)["content_type_version_guid"]
        found = {"type": type_id, "v1": str(v1), "v2": v2, "content": self.mine(made["id"], v2)}
        if not fresh:
            self.shared["sc_versioned"] = found
        return found

    def sc_content_to_migrate(self) -> tuple[str, str]:
        """A library content the member owns on version 1 of the shared versioned type,
        shared with the viewer: its id and content_hash."""
        type_id = self.sc_versioned()["type"]
        made = self.api("member", "POST", "/v3/structured-contents", json=sc_body(type_id))
        self.grant("asset", made["id"], "viewer")
        return self.mine(made["id"]), made["content_body"]["latest_fields_version"]["content_hash"]

    def sc_migration(self, fresh: bool = False) -> tuple[str, str]:
        """A managed migration (not started) of a versioned type: type id and job id; one
        shared unless ``fresh`` (then on a type of its own)."""
        if not fresh and "sc_migration" in self.shared:
            type_id, job_id = self.shared["sc_migration"]
            return type_id, job_id
        versioned = self.sc_versioned(fresh=fresh)
        path = f"/v3/structured-content/content-types/{versioned['type']}/managed-migrations"
        body = {"source_content_type_version_id": versioned["v1"], "created_by": "integration"}
        job_id = self.mine(self.api("admin", "POST", path, 201, json=body)["job_id"])
        if not fresh:
            self.shared["sc_migration"] = (versioned["type"], job_id)
        return versioned["type"], job_id

    def task_content(self, task_id: str) -> str:
        """A structured content of the task, added by the member (SC_TITLE's type)."""
        body = {
            "content_type_guid": self.sc_type(),
            "fields": sc_body("x")["content_body"]["fields"],
        }
        made = self.api(
            "member", "POST", f"/v3/tasks/{task_id}/structured-contents", 201, json=body
        )
        return self.mine(made["content_guid"], made["latest_fields_version"]["version_guid"])

    def preview(self, acknowledged: bool = False) -> dict[str, Any]:
        """A preview of a task's content the member asked for (and acknowledged)."""
        task = self.task()["id"]
        path = f"/ext/v1/tasks/{task}/structured-contents/{self.task_content(task)}/previews"
        made: dict[str, Any] = self.api("member", "POST", path, 201)
        self.mine(made["id"])
        if acknowledged:
            body = {"acknowledged_by": "renderer", "content_hash": made["content_hash"]}
            self.api("member", "POST", made["links"]["acknowledge"], json=body)
        return made

    def multipart(self) -> str:
        made = self.api("member", "POST", "/v3/multipart-uploads", 201, json={"file_size": 6 * MiB})
        return self.mine(made["id"])
