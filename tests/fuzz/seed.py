"""The fuzzed organization and the real ids the fuzzer aims at.

:func:`seed` builds a world (``tests/support/world.py``: admin, member and viewer with
tokens) and gives it some of everything the served operations address: fields of every
type, folders, assets of each type, lineages, permissions, a milestone, a multipart upload,
tasks with a workflow, task assets, drafts, a brand-compliance review, task fields, comments,
URLs, a publishing intent, renditions, campaigns and a calendar event, a template and a work
request. Objects are created
through the API, the way an integration does (uploads included); what the API cannot create
(workflows, label groups, rendition configs) comes from the services the CLI uses.

The result is a :class:`Seed`: bearer tokens, ids by kind (for id-like body and query
fields) and, for every path template of the spec, the sets of path parameters that address
existing objects. Destructive operations get a fresh victim per example from
:data:`FACTORIES`, so an early successful ``DELETE`` does not turn the rest into ``404``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from cmpapi.server.demo import FIELDS
from cmpapi.server.oauth import store
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library import renditions
from cmpapi.server.resources.publishing import channels as publishing_channels
from tests.support.structured_content import every_type, plain_type_body
from tests.support.structured_content import text as sc_text
from tests.support.tasks import REVIEW_FLOW, make_workflow
from tests.support.uploads import jpeg
from tests.support.work_requests import TEMPLATE, request_body, settings_document
from tests.support.world import build_world

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# An ISO base media header with an unknown brand: sniffed as video/mp4.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)
SC_TYPES = "/structured-content/content-types"
MIB = 1024 * 1024
# Snapshots are reused for the whole run; the long profile may take hours.
TOKEN_TTL = 7 * 24 * 3600

PathParams = dict[str, str]


@dataclass
class Seed:
    """What the fuzzer knows about the seeded organization (plain data, picklable)."""

    tokens: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    pools: dict[str, list[PathParams]] = field(default_factory=dict)

    def auth(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def first(self, kind: str) -> str:
        return self.ids[kind][0]


class Api:
    """A tiny client for seeding: every call must succeed."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(method, "/v3" + path, json=body, headers=self.headers)
        if response.status_code != expect:
            raise RuntimeError(f"seeding {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def post(self, path: str, body: Any = None, expect: int = 201) -> Any:
        return self.call("POST", path, body, expect)

    def upload(self, data: bytes, name: str) -> str:
        """getUploadUrl, then the presigned POST; the upload key."""
        form = self.call("GET", "/upload-url")
        fields = form["upload_meta_fields"]
        response = self.http.post(form["url"], data=fields, files={"file": (name, data)})
        if response.status_code != 204:
            raise RuntimeError(f"seeding upload: {response.status_code} {response.text}")
        return str(fields["key"])

    def asset(self, data: bytes, title: str, **extra: Any) -> str:
        key = self.upload(data, title)
        return str(self.post("/assets", {"key": key, "title": title, **extra})["id"])


def _services(app: FastAPI) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The world and what only services create; tokens and ids."""
    with app.state.sessionmaker() as db:
        world = build_world(db, org_name="Fuzz")
        tokens = {
            role: store.issue_token(
                db, world.app, user.id, kind="access", ttl_seconds=TOKEN_TTL
            ).raw
            for role, user in world.users.items()
        }
        review = make_workflow(db, world, "Review flow", REVIEW_FLOW)
        simple = make_workflow(db, world, "Simple", [{"name": "Do", "sub_steps": [{"name": "It"}]}])
        group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
        config = renditions.create_config(
            db, world.org.id, name="thumb", width=16, height=16, output_format="jpeg", quality=70
        )
        channel = publishing_channels.add_channel(db, world.org.id, "Blog", locales=["en"])
        ids = {
            "user": [u.id for u in world.users.values()],
            "member": [world.users["member"].id],
            "email": [u.email for u in world.users.values()],
            "team": [world.team.id],
            "workflow": [review, simple],
            "label_group": [group.id],
            "label_value": [value.id for value in group.values],
            "rendition_config": [config.id],
            "publishing_channel": [channel.id],
        }
        db.commit()
    return tokens, ids


def _fields(api: Api, ids: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """One field of every type (the demo's bodies); fields by type."""
    for spec in FIELDS:
        api.post("/fields", {"is_active": True, **spec})
    listed = api.call("GET", "/fields?page_size=100")["data"]
    by_type = {f["type"]: f for f in listed}
    ids["field"] = [f["id"] for f in listed]
    ids["choice_field"] = [f["id"] for f in listed if f.get("choices")]
    return by_type


def _library(api: Api, ids: dict[str, list[str]], seed: Seed) -> None:
    root = api.post("/folders", {"name": "Fuzz"})["id"]
    child = api.post("/folders", {"name": "Child", "parent_folder_id": root})["id"]
    keys = [api.upload(jpeg(), "a.jpg"), api.upload(PDF, "a.pdf"), api.upload(MP4, "a.mp4")]
    image = api.post("/assets", {"key": keys[0], "title": "Image", "folder_id": child})["id"]
    raw = api.post("/assets", {"key": keys[1], "title": "Document", "folder_id": root})["id"]
    video = api.post("/assets", {"key": keys[2], "title": "Clip"})["id"]
    image2 = api.asset(jpeg(32, 32, "blue"), "Blue")
    ids.update(
        folder=[root, child],
        upload_key=keys,
        image=[image, image2],
        raw_file=[raw],
        video=[video],
        asset=[image, raw, video, image2],
    )
    lineage = api.post(f"/assets/{image}/lineages", {"name": "Blog", "uri": "https://e.com/p"})
    member, team = ids["member"][0], ids["team"][0]
    for kind, accessor in (("user", member), ("team", team)):
        grant = {"type": kind, "permissions": [{"id": accessor, "access_type": "view"}]}
        api.post(f"/assets/{image}/permissions", grant, expect=204)
        api.post(f"/folders/{root}/permissions", grant, expect=204)
    api.call("PUT", f"/assets/{image}/related-assets", {"related_assets": [{"id": raw}]})
    seed.pools.update(
        {
            "/asset-urls/{asset_id}": [{"asset_id": a} for a in ids["asset"]],
            "/assets/{asset_id}/lineages/{lineage_id}": [
                {"asset_id": image, "lineage_id": lineage["id"]}
            ],
            "/assets/{asset_id}/permissions/{accessor_id}": [
                {"asset_id": image, "accessor_id": member},
                {"asset_id": image, "accessor_id": team},
            ],
            "/folders/{id}/permissions/{accessor_id}": [
                {"id": root, "accessor_id": member},
                {"id": root, "accessor_id": team},
            ],
            "/images/{id}": [{"id": i} for i in ids["image"]],
            "/raw-files/{id}": [{"id": raw}],
            "/videos/{id}": [{"id": video}],
        }
    )
    for suffix in ("fields", "lineages", "permissions", "related-assets", "renditions", "versions"):
        seed.pools[f"/assets/{{asset_id}}/{suffix}"] = [{"asset_id": a} for a in ids["asset"]]
    for suffix in ("", "/permissions"):
        seed.pools[f"/folders/{{id}}{suffix}"] = [{"id": f} for f in ids["folder"]]


def _field_pools(seed: Seed, fields: dict[str, dict[str, Any]], api: Api) -> None:
    ids = seed.ids
    text = fields["text"]["id"]
    api.call(
        "PUT",
        f"/assets/{ids['image'][0]}/fields",
        [{"id": text, "type": "text", "values": ["Hello"]}],
    )
    seed.pools["/fields/{id}"] = [{"id": f} for f in ids["field"]]
    seed.pools["/fields/{id}/choices"] = [{"id": f} for f in ids["choice_field"]]
    seed.pools["/fields/{field_id}/choices/{choice_id}"] = [
        {"field_id": f["id"], "choice_id": c["id"]}
        for f in fields.values()
        for c in (f.get("choices") or [])[:2]
    ]
    seed.pools["/assets/{asset_id}/fields/{field_id}"] = [
        {"asset_id": a, "field_id": f} for a in ids["asset"][:2] for f in ids["field"]
    ]


def _tasks(api: Api, seed: Seed, fields: dict[str, dict[str, Any]]) -> None:
    ids = seed.ids
    milestone = api.post(
        "/milestones",
        {"title": "Launch", "due_date": "2030-03-31T17:00:00Z", "hex_color": "#4ECFD5"},
    )["id"]
    task = api.post("/tasks", {"title": "Fuzz task", "workflow_id": ids["workflow"][0]})
    plain = api.post("/tasks", {"title": "Plain task", "workflow_id": ids["workflow"][1]})
    api.call("PATCH", f"/milestones/{milestone}", {"tasks": [{"id": task["id"]}]})
    tid = task["id"]
    ids.update(milestone=[milestone], task=[tid, plain["id"]])
    # Task assets, drafts and attachments take each upload key once.
    keys = [api.upload(jpeg(), "t.jpg"), api.upload(PDF, "t.pdf"), api.upload(MP4, "t.mp4")]
    image = api.post(f"/tasks/{tid}/assets", {"key": keys[0], "title": "Task image"})["id"]
    raw = api.post(f"/tasks/{tid}/assets", {"key": keys[1], "title": "Task doc"})["id"]
    video = api.post(f"/tasks/{tid}/assets", {"key": keys[2], "title": "Task clip"})["id"]
    draft_key = api.upload(jpeg(16, 16), "d.jpg")
    api.post(
        f"/tasks/{tid}/assets/{image}/drafts",
        {"type": "direct_upload", "key": draft_key, "title": "Draft"},
    )
    drafts = [d["id"] for d in api.call("GET", f"/tasks/{tid}/assets/{image}/drafts")["data"]]
    api.call(
        "PUT",
        f"/tasks/{tid}/assets/{image}/drafts/{drafts[0]}/brand-compliance",
        {"status": "approved", "categories": []},
    )
    api.post(f"/tasks/{tid}/assets/{image}/comments", {"value": "Nice"})
    dropdown, text = fields["dropdown"], fields["text"]
    api.post(
        f"/tasks/{tid}/fields",
        {"id": dropdown["id"], "type": "dropdown", "values": [dropdown["choices"][0]["id"]]},
    )
    api.post(f"/tasks/{tid}/fields", {"id": text["id"], "type": "text", "values": ["Hi"]})
    api.post(f"/tasks/{tid}/urls", {"url": "https://example.com/brief", "title": "Brief"})
    api.post(f"/tasks/{tid}/publishing-intents", {"channel_id": ids["publishing_channel"][0]})
    api.post(f"/tasks/{tid}/comments", {"value": "Kick-off"})
    steps = [(s["id"], [sub["id"] for sub in s["sub_steps"]]) for s in task["steps"]]
    step, subs = steps[0]
    base = f"/tasks/{tid}/steps/{step}/sub-steps/{subs[0]}/comments"
    top = api.post(base, {"value": "First"})["id"]
    reply = api.post(base, {"value": "Re", "parent_comment_id": top})["id"]
    ids.update(comment=[top, reply], task_asset=[image, raw, video])
    _task_pools(seed, tid, steps, image, raw, video, drafts, [dropdown["id"], text["id"]])
    seed.pools["/milestones/{id}"] = [{"id": milestone}]


def _task_pools(
    seed: Seed,
    tid: str,
    steps: list[tuple[str, list[str]]],
    image: str,
    raw: str,
    video: str,
    drafts: list[str],
    held: list[str],
) -> None:
    pools = seed.pools
    tasks = seed.ids["task"]
    for suffix in ("", "/assets", "/attachments", "/brief", "/custom-fields"):
        pools[f"/tasks/{{id}}{suffix}"] = [{"id": t} for t in tasks]
    for suffix in ("/comments", "/fields", "/publishing-intents", "/urls"):
        pools[f"/tasks/{{task_id}}{suffix}"] = [{"task_id": t} for t in tasks]
    assets = [{"task_id": tid, "asset_id": a} for a in (image, raw, video)]
    for suffix in ("comments", "drafts", "fields"):
        pools[f"/tasks/{{task_id}}/assets/{{asset_id}}/{suffix}"] = assets
    pools["/tasks/{task_id}/assets/{asset_id}/drafts/{draft_id}/brand-compliance"] = [
        {"task_id": tid, "asset_id": image, "draft_id": d} for d in [*drafts, "latest"]
    ]
    pools["/tasks/{task_id}/images/{image_id}"] = [{"task_id": tid, "image_id": image}]
    pools["/tasks/{task_id}/raw-files/{raw_file_id}"] = [{"task_id": tid, "raw_file_id": raw}]
    pools["/tasks/{task_id}/videos/{video_id}"] = [{"task_id": tid, "video_id": video}]
    fields = [{"task_id": tid, "field_id": f} for f in held]
    pools["/tasks/{task_id}/fields/{field_id}"] = fields
    custom = [{"task_id": tid, "custom_field_id": f} for f in held]
    pools["/tasks/{task_id}/custom-fields/{custom_field_id}"] = custom
    pools["/tasks/{task_id}/custom-fields/{custom_field_id}/choices"] = custom[:1]
    pools["/tasks/{task_id}/steps/{step_id}"] = [{"task_id": tid, "step_id": s} for s, _ in steps]
    sub_steps = [{"task_id": tid, "step_id": s, "sub_step_id": x} for s, xs in steps for x in xs]
    prefix = "/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}"
    for suffix in ("", "/comments", "/external-work", "/fields"):
        pools[prefix + suffix] = sub_steps
    first = sub_steps[0]
    pools[prefix + "/comments/{comment_id}"] = [
        {**first, "comment_id": c} for c in seed.ids["comment"]
    ]


def _campaigns(api: Api, seed: Seed) -> None:
    """A campaign with a sub-campaign and a calendar event; the seeded tasks join it."""
    campaign = api.post("/campaigns", {"title": "Launch", "start_date": "2030-03-01"})["id"]
    child = api.post("/campaigns", {"title": "Launch EMEA", "parent_campaign": campaign})["id"]
    event = api.post(
        "/events",
        {
            "title": "Party",
            "is_all_day": False,
            "start_date": "2030-05-01T18:00:00Z",
            "end_date": "2030-05-01T22:00:00Z",
            "campaign_id": campaign,
        },
    )["id"]
    api.call("PATCH", f"/tasks/{seed.ids['task'][0]}", {"campaign_id": campaign})
    seed.ids.update(campaign=[campaign, child], event=[event])
    seed.pools["/campaigns/{id}"] = [{"id": c} for c in (campaign, child)]
    seed.pools["/events/{id}"] = [{"id": event}]


def _misc(api: Api, seed: Seed) -> None:
    ids, pools = seed.ids, seed.pools
    upload = api.post("/multipart-uploads", {"file_size": 6 * MIB})["id"]
    ids["multipart_upload"] = [upload]
    for suffix in ("/complete", "/status"):
        pools[f"/multipart-uploads/{{id}}{suffix}"] = [{"id": upload}]
    pools["/rendition-configs/{id}"] = [{"id": c} for c in ids["rendition_config"]]
    pools["/teams/{id}"] = [{"id": t} for t in ids["team"]]
    pools["/users/{id}"] = [{"id": u} for u in ids["user"]]
    pools["/workflows/{workflow_id}"] = [{"workflow_id": w} for w in ids["workflow"]]


def _work_requests(api: Api, seed: Seed) -> None:
    """A template (imported with the custom fields it takes choices from), a work request
    with a file field and a creative asset."""
    api.call("POST", "/settings?execute=true", settings_document(TEMPLATE))
    (listed,) = api.call("GET", "/templates")["data"]
    template = api.call("GET", f"/templates/{listed['id']}")
    key = api.upload(jpeg(), "hero.jpg")
    body = request_body(template)
    body["form_fields"].append(
        {"identifier": "creative_assets", "type": "file", "values": [{"key": key, "name": "h"}]}
    )
    wr = api.post("/work-requests", body)["id"]
    asset_key = api.upload(PDF, "c.pdf")
    api.post(f"/work-requests/{wr}/creative-assets", {"key": asset_key, "name": "C"}, expect=200)
    seed.ids.update(template=[template["id"]], work_request=[wr])
    pools = seed.pools
    pools["/templates/{template_id}"] = [{"template_id": template["id"]}]
    for suffix in ("", "/approved-assets", "/related-resources", "/creative-assets"):
        pools[f"/work-requests/{{id}}{suffix}"] = [{"id": wr}]
    pools["/work-requests/{work_request_id}/form-fields/{form_field_identifier}"] = [
        {"work_request_id": wr, "form_field_identifier": i} for i in ("title", "Budget")
    ]


def _renditions(api: Api, seed: Seed, timeout: float = 20) -> None:
    """Wait for the embedded worker to render the seeded images; their rendition ids."""
    found: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            r["id"]
            for image in seed.ids["image"]
            for r in api.call("GET", f"/assets/{image}/renditions")["data"]
        ]
        if len(found) >= len(seed.ids["image"]):
            break
        time.sleep(0.2)
    seed.ids["rendition"] = found
    seed.pools["/renditions/{id}"] = [{"id": r} for r in found]


def _structured_content(api: Api, seed: Seed) -> None:
    """Content types (one with every field type and two versions) and library contents."""
    author = api.post(SC_TYPES, plain_type_body("Author", [sc_text()]))["content_type_guid"]
    kinds = every_type(["image", "structured_content"], [author])
    made = api.post(SC_TYPES, plain_type_body("Article", kinds))
    article, first = made["content_type_guid"], made["content_type_version_guid"]
    body = {"created_by": seed.first("user"), "field_definitions": [*kinds, sc_text("subtitle")]}
    second = api.post(f"{SC_TYPES}/{article}/versions", body)["content_type_version_guid"]
    fields = {"title": [{"locale": "en_US", "field_values": [{"text_value": "Fuzz"}]}]}
    contents = [
        api.post(
            "/structured-contents",
            {
                "title": title,
                "content_body": {"content_type_guid": t, "root_content": True, "fields": fields},
            },
            expect=200,
        )["id"]
        for title, t in (("Fuzz author", author), ("Fuzz article", article))
    ]
    seed.ids.update(content_type=[author, article], structured_content=contents)
    pools = seed.pools
    for suffix in ("", "/versions"):
        pools["/structured-content/content-types/{content_type_id}" + suffix] = [
            {"content_type_id": t} for t in (author, article)
        ]
    pools["/structured-content/content-types/{content_type_id}/versions/{version_id}"] = [
        {"content_type_id": article, "version_id": v} for v in (first, second)
    ]
    pools["/structured-contents/{id}"] = [{"id": c} for c in contents]


def _versioned_type(api: Api, seed: Seed, name: str) -> tuple[str, str, str, str]:
    """A content type with a content on its version 1, then version 2 (an optional field
    more): type, version ids, content."""
    made = api.post(SC_TYPES, plain_type_body(name, [sc_text()]))
    type_id, first = made["content_type_guid"], made["content_type_version_guid"]
    fields = {"title": [{"locale": "en_US", "field_values": [{"text_value": "Fuzz"}]}]}
    body = {"content_type_guid": type_id, "root_content": True, "fields": fields}
    content = api.post("/structured-contents", {"title": name, "content_body": body}, expect=200)
    definitions = [sc_text(), sc_text("subtitle")]
    versions = {"created_by": seed.first("user"), "field_definitions": definitions}
    second = api.post(f"{SC_TYPES}/{type_id}/versions", versions)["content_type_version_guid"]
    return type_id, first, second, content["id"]


def _migration(api: Api, seed: Seed, name: str) -> PathParams:
    type_id, first, _, _ = _versioned_type(api, seed, name)
    body = {"source_content_type_version_id": first, "created_by": seed.first("user")}
    job_id = api.post(f"{SC_TYPES}/{type_id}/managed-migrations", body)["job_id"]
    return {"content_type_id": type_id, "job_id": job_id}


def _sc_migrations(api: Api, seed: Seed) -> None:
    """A versioned type with a content still on version 1, and a managed migration of it
    that has not started."""
    type_id, first, second, content = _versioned_type(api, seed, "Legacy")
    body = {"source_content_type_version_id": first, "created_by": seed.first("user")}
    job_id = api.post(f"{SC_TYPES}/{type_id}/managed-migrations", body)["job_id"]
    seed.ids["content_type_version"] = [first, second]
    seed.ids["structured_content"] = [*seed.ids.get("structured_content", []), content]
    pools = seed.pools
    pools["/structured-content/contents/{content_id}/migration"] = [{"content_id": content}]
    managed = SC_TYPES + "/{content_type_id}/managed-migrations"
    for path in (managed, managed + "/validate"):
        pools[path] = [{"content_type_id": type_id}]
    for path in (managed + "/{job_id}", managed + "/{job_id}/start"):
        pools[path] = [{"content_type_id": type_id, "job_id": job_id}]


def _task_content_body(seed: Seed, title: str) -> dict[str, Any]:
    fields = {"title": [{"locale": "en_US", "field_values": [{"text_value": title}]}]}
    return {"content_type_guid": seed.ids["content_type"][0], "title": title, "fields": fields}


def _preview(api: Api, task: str, content: str) -> dict[str, Any]:
    """A preview of the task's content, asked for through /ext/v1."""
    path = f"/ext/v1/tasks/{task}/structured-contents/{content}/previews"
    response = api.http.post(path, headers=api.headers)
    if response.status_code != 201:
        raise RuntimeError(f"seeding preview: {response.status_code} {response.text}")
    made: dict[str, Any] = response.json()
    return made


def _task_structured_content(api: Api, seed: Seed) -> None:
    """Structured contents of the first task, a preview asked for and one acknowledged."""
    tid = seed.ids["task"][0]
    contents = [
        api.post(f"/tasks/{tid}/structured-contents", _task_content_body(seed, t))["content_guid"]
        for t in ("Fuzz page", "Fuzz teaser")
    ]
    asked, acked = _preview(api, tid, contents[0]), _preview(api, tid, contents[1])
    ack = {"acknowledged_by": "fuzz", "content_hash": acked["content_hash"]}
    api.http.post(acked["links"]["acknowledge"], json=ack, headers=api.headers).raise_for_status()
    seed.ids.update(task_content=contents, content_hash=[asked["content_hash"]])
    pools = seed.pools
    pools["/tasks/{task_id}/structured-contents"] = [{"task_id": t} for t in seed.ids["task"]]
    for suffix in ("", "/drafts"):
        pools["/tasks/{task_id}/structured-contents/{content_id}" + suffix] = [
            {"task_id": tid, "content_id": c} for c in contents
        ]
    preview = (
        "/structured-content/contents/{content_id}/versions/{version_id}/previews/{preview_id}"
    )
    for suffix, made in (("/acknowledge", asked), ("/complete", acked)):
        ids = {"content_id": made["content_id"], "version_id": made["version_id"]}
        pools[preview + suffix] = [{**ids, "preview_id": made["id"]}]


def seed(app: FastAPI, http: httpx.Client) -> Seed:
    """Build the fuzzed organization on a running ``app`` reachable through ``http``."""
    tokens, ids = _services(app)
    result = Seed(tokens=tokens, ids=ids)
    api = Api(http, tokens["admin"])
    fields = _fields(api, ids)
    _library(api, ids, result)
    _field_pools(result, fields, api)
    _tasks(api, result, fields)
    _campaigns(api, result)
    _misc(api, result)
    _work_requests(api, result)
    _renditions(api, result)
    _publishing(api, result)
    _structured_content(api, result)
    _sc_migrations(api, result)
    _task_structured_content(api, result)
    return result


def _publishing(api: Api, seed: Seed) -> None:
    """The task's assets published on the channel, with metadata for the image."""
    tid, (image, *_) = seed.ids["task"][0], seed.ids["task_asset"]
    path = f"/ext/v1/publishing-channels/{seed.first('publishing_channel')}/publish"
    r = api.http.post(path, json={"task_id": tid}, headers=api.headers)
    if r.status_code != 201:
        raise RuntimeError(f"seeding {path}: {r.status_code} {r.text}")
    event = r.json()["id"]
    item = {
        "asset_id": image,
        "status": "published",
        "locale": "en",
        "public_url": "https://blog.example.com/fuzz",
    }
    answer = api.post(f"/publishing-events/{event}/publishing-metadata", {"data": [item]}, 200)
    meta = answer["data"][0]["id"]
    seed.ids["publishing_event"] = [event]
    pools = seed.pools
    for suffix in ("", "/publishing-metadata"):
        pools[f"/publishing-events/{{publishing_event_id}}{suffix}"] = [
            {"publishing_event_id": event}
        ]
    pools[
        "/publishing-events/{publishing_event_id}/assets/{asset_id}/publishing-metadata/"
        "{publishing_metadata_id}"
    ] = [{"publishing_event_id": event, "asset_id": image, "publishing_metadata_id": meta}]


# --------------------------------------------------------------------------- victims


def _folder(api: Api, seed: Seed) -> PathParams:
    return {"id": api.post("/folders", {"name": "Victim"})["id"]}


def _asset_of(data: bytes) -> Callable[[Api, Seed], PathParams]:
    def make(api: Api, seed: Seed) -> PathParams:
        return {"id": api.asset(data, "Victim")}

    return make


def _lineage(api: Api, seed: Seed) -> PathParams:
    asset = seed.first("image")
    lineage = api.post(f"/assets/{asset}/lineages", {"name": "Victim", "uri": "https://e.com/v"})
    return {"asset_id": asset, "lineage_id": lineage["id"]}


def _grant(kind: str, param: str) -> Callable[[Api, Seed], PathParams]:
    def make(api: Api, seed: Seed) -> PathParams:
        on = seed.first("image") if kind == "assets" else seed.first("folder")
        grant = {
            "type": "user",
            "permissions": [{"id": seed.first("member"), "access_type": "view"}],
        }
        api.post(f"/{kind}/{on}/permissions", grant, expect=204)
        return {param: on, "accessor_id": seed.first("member")}

    return make


def _choice(api: Api, seed: Seed) -> PathParams:
    field_id = seed.first("choice_field")
    choices = api.post(f"/fields/{field_id}/choices", [{"name": f"Victim {time.time_ns()}"}])
    items = choices["data"] if isinstance(choices, dict) else choices
    return {"field_id": field_id, "choice_id": items[-1]["id"]}


def _task_field(api: Api, seed: Seed) -> PathParams:
    task = seed.ids["task"][1]
    held = seed.pools["/tasks/{task_id}/fields/{field_id}"][1]["field_id"]
    response = api.http.post(
        f"/v3/tasks/{task}/fields",
        headers=api.headers,
        json={"id": held, "type": "text", "values": ["v"]},
    )
    if response.status_code not in (201, 422):  # 422: the task holds it already
        raise RuntimeError(f"victim task field: {response.status_code} {response.text}")
    return {"task_id": task, "field_id": held}


def _creative_asset(api: Api, seed: Seed) -> PathParams:
    wr = seed.first("work_request")
    body = {"key": api.upload(PDF, "v.pdf"), "name": "Victim"}
    made = api.post(f"/work-requests/{wr}/creative-assets", body, expect=200)
    return {"work_request_id": wr, "creative_asset_id": made["id"]}


def _comment(api: Api, seed: Seed) -> PathParams:
    pool = seed.pools["/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}/comments"]
    where = pool[0]
    path = "/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}/comments".format(**where)
    return {**where, "comment_id": api.post(path, {"value": "Victim"})["id"]}


def _task_content(api: Api, seed: Seed) -> PathParams:
    tid = seed.ids["task"][0]
    made = api.post(f"/tasks/{tid}/structured-contents", _task_content_body(seed, "Victim"))
    return {"task_id": tid, "content_id": made["content_guid"]}


# operationId -> a fresh object for a destructive operation to destroy.
FACTORIES: dict[str, Callable[[Api, Seed], PathParams]] = {
    "deleteFolder": _folder,
    "deleteImage": _asset_of(jpeg(8, 8)),
    "deleteRawFile": _asset_of(PDF),
    "deleteVideo": _asset_of(MP4),
    "deleteAssetLineage": _lineage,
    "removeAssetPermission": _grant("assets", "asset_id"),
    "removeFolderPermission": _grant("folders", "id"),
    "deleteFieldChoice": _choice,
    "removeTaskField": _task_field,
    "deleteTaskSubStepComment": _comment,
    "deleteWorkRequestCreativeAsset": _creative_asset,
    # A started migration cannot be deleted or started again: each example gets its own.
    "deleteSCContentTypeManagedMigration": lambda api, seed: _migration(api, seed, "Victim"),
    "startSCContentTypeManagedMigration": lambda api, seed: _migration(api, seed, "Victim"),
    "deleteTaskStructuredContent": _task_content,
}
