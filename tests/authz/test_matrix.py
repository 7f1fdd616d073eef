"""The authorization matrix: every served /v3 operation x six callers, from one table.

``MATRIX`` has one row per operationId: the request (a builder that makes the objects it
addresses in a seeded scene, see ``scene.py``), who owns those objects, and the expected
outcome for each caller of ``ACTORS``:

- ``owner``: the object's owner, the member who created the folder, asset, task, comment,
  milestone or upload (``ADMIN`` rows are organization configuration or objects nobody owns:
  there the owner column is the admin);
- ``admin``: an admin of the organization (admins pass every object rule);
- ``member``: another member, with no grant on the owner's library objects and not in the
  owner's team;
- ``viewer``: a viewer whom the owner granted full (``delete``) access to the library objects,
  so a refused write is the role's doing, not the object rule's;
- ``other_org``: the admin of another organization;
- ``anonymous``: no token.

A cell is ``OK`` (the operation's documented success status; for a collection, the targets
are listed), ``HIDDEN`` (the success status, but the answer holds none of the targets; for
``other_org``, nothing of the first organization at all: no id, no name), or an error status.
``UNDECLARED_403`` is a documented refusal for which the spec declares no status; only those
answers skip the contract check (see docs/tasks.md, brand compliance). Every other answer goes
through the contract-checking client.

Reads run on objects made once per row; every write runs on objects of its own, so the order
of the cases does not matter. One scene per backend and test process keeps the module fast.

Decisions and known gaps are recorded in docs/compat.md ("Authorization matrix").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cmpapi.server.app import create_app
from cmpapi.server.routes import V3_ROUTERS
from cmpapi.server.settings import Settings
from tests.authz.scene import ORG_A, PREFIX_A, SC_TITLE, Req, Scene, sc_body, uid
from tests.conftest import ContractClient, empty_postgres
from tests.contract.spec import suspended
from tests.support.work_requests import KINDS, request_body

Builder = Callable[[Scene, "str | None"], Req]
Cell = int | str

OK = "ok"
HIDDEN = "hidden"
UNDECLARED_403 = "403, not declared by the spec"
ADMIN, MEMBER = "admin", "member"
ACTORS = ("owner", "admin", "member", "viewer", "other_org", "anonymous")
USER_OF = {
    "admin": "admin",
    "member": "member2",
    "viewer": "viewer",
    "other_org": "other",
    "anonymous": None,
}


@dataclass(frozen=True)
class Row:
    build: Builder
    owner: str
    cells: tuple[Cell, ...]


def row(build: Builder, owner: str, *cells: Cell) -> Row:
    return Row(build, owner, cells)


def data_ids(body: Any) -> Any:
    return [item.get("id") for item in body["data"]]


# -- requests, one per operation (named after it) --------------------------------------------
# ``who`` is the acting user's key ("member", "admin", "member2", "viewer", "other", None);
# only requests that carry an upload key use it (each organization uploads its own files).


def list_users(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/userlist", params={"page_size": 100}, targets=(s.users["member"],))


def find_user_by_email(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/users", params={"email": f"{PREFIX_A}member@example.com"})


def get_user(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/users/{s.users['member']}")


def list_teams(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/teams", params={"page_size": 100}, targets=(s.a.team.id,))


def get_team(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/teams/{s.a.team.id}")


# folders


def list_folders(s: Scene, who: str | None) -> Req:
    folder = s.folder()  # made per case: the list is newest first
    return Req("GET", "/v3/folders", params={"page_size": 100}, targets=(folder,))


def create_folder(s: Scene, who: str | None) -> Req:
    return Req("POST", "/v3/folders", json={"name": "Child", "parent_folder_id": s.folder()})


def get_folder(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/folders/{s.folder()}")


def update_folder(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/folders/{s.folder()}", json={"name": "Renamed"})


def delete_folder(s: Scene, who: str | None) -> Req:
    return Req("DELETE", f"/v3/folders/{s.folder()}")


def _grant_team(s: Scene, kind: str, resource_id: str) -> str:
    s.grant(kind, resource_id, "team", "view")
    return s.a.team.id


def _team_view(s: Scene) -> dict[str, Any]:
    return {"type": "team", "permissions": [{"id": s.a.team.id, "access_type": "view"}]}


def list_folder_permissions(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/folders/{s.folder()}/permissions")


def add_folder_permissions(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/folders/{s.folder()}/permissions", json=_team_view(s))


def update_folder_permission(s: Scene, who: str | None) -> Req:
    folder = s.folder()
    team = _grant_team(s, "folder", folder)
    return Req("PATCH", f"/v3/folders/{folder}/permissions/{team}", json={"access_type": "edit"})


def remove_folder_permission(s: Scene, who: str | None) -> Req:
    folder = s.folder()
    return Req("DELETE", f"/v3/folders/{folder}/permissions/{_grant_team(s, 'folder', folder)}")


# assets


def list_assets(s: Scene, who: str | None) -> Req:
    title = f"Needle {uid()}"
    asset = s.asset("image", title)
    return Req(
        "GET", "/v3/assets", params={"search_text": title, "page_size": 100}, targets=(asset,)
    )


def create_asset(s: Scene, who: str | None) -> Req:
    body = {"key": s.key(who), "title": "New", "folder_id": s.folder()}
    return Req("POST", "/v3/assets", json=body)


def create_asset_version(s: Scene, who: str | None) -> Req:
    body = {"key": s.key(who), "title": "Version 2"}
    return Req("POST", f"/v3/assets/{s.asset()}/versions", json=body)


def get_asset_url(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/asset-urls/{s.asset('raw_file')}")


def _get(path: str, kind: str) -> Builder:
    def build(s: Scene, who: str | None) -> Req:
        return Req("GET", f"/v3/{path}/{s.asset(kind)}")

    return build


def _update(path: str, kind: str) -> Builder:
    def build(s: Scene, who: str | None) -> Req:
        return Req("PATCH", f"/v3/{path}/{s.asset(kind)}", json={"title": "Renamed"})

    return build


def _delete(path: str, kind: str) -> Builder:
    def build(s: Scene, who: str | None) -> Req:
        return Req("DELETE", f"/v3/{path}/{s.asset(kind)}")

    return build


get_image, update_image, delete_image = (f("images", "image") for f in (_get, _update, _delete))
get_video, update_video, delete_video = (f("videos", "video") for f in (_get, _update, _delete))
get_raw_file, update_raw_file, delete_raw_file = (
    f("raw-files", "raw_file") for f in (_get, _update, _delete)
)
get_article = _get("articles", "article")

SC_TYPES = "/v3/structured-content/content-types"


def list_sc_content_types(s: Scene, who: str | None) -> Req:
    return Req("GET", SC_TYPES, targets=(s.sc_type(),))


def create_sc_content_type(s: Scene, who: str | None) -> Req:
    body = {
        "created_by": "integration",  # stored as given (an id of the caller's choosing)
        "details": {"name": f"Type {uid()}", "component": False},
        "field_definitions": [SC_TITLE],
    }
    return Req("POST", SC_TYPES, json=body)


def get_sc_content_type(s: Scene, who: str | None) -> Req:
    return Req("GET", f"{SC_TYPES}/{s.sc_type()}")


def update_sc_content_type(s: Scene, who: str | None) -> Req:
    body = {
        "updated_by": s.users["admin"],
        "details": {"name": f"Renamed {uid()}", "component": False},
    }
    return Req("POST", f"{SC_TYPES}/{s.sc_type(fresh=True)}", json=body)


def list_sc_content_type_versions(s: Scene, who: str | None) -> Req:
    return Req("GET", f"{SC_TYPES}/{s.sc_type()}/versions", targets=(s.shared["sc_version"],))


def create_sc_content_type_version(s: Scene, who: str | None) -> Req:
    other = {**SC_TITLE, "core": {**SC_TITLE["core"], "key": "subtitle"}}
    body = {"created_by": "integration", "field_definitions": [SC_TITLE, other]}
    return Req("POST", f"{SC_TYPES}/{s.sc_type(fresh=True)}/versions", json=body)


def get_sc_content_type_version(s: Scene, who: str | None) -> Req:
    type_id = s.sc_type()
    return Req("GET", f"{SC_TYPES}/{type_id}/versions/{s.shared['sc_version']}")


def create_structured_content(s: Scene, who: str | None) -> Req:
    return Req("POST", "/v3/structured-contents", json=sc_body(s.sc_type()))


def get_structured_content(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/structured-contents/{s.structured_content()}")


def update_structured_content(s: Scene, who: str | None) -> Req:
    body = {"title": "Renamed", "content_body": {"expired": True}}
    return Req("PATCH", f"/v3/structured-contents/{s.structured_content()}", json=body)


def migrate_sc_content(s: Scene, who: str | None) -> Req:
    content_id, content_hash = s.sc_content_to_migrate()
    body = {"created_by": "integration", "content_hash": content_hash}
    return Req("POST", f"/v3/structured-content/contents/{content_id}/migration", json=body)


def _migrations(type_id: str) -> str:
    return f"{SC_TYPES}/{type_id}/managed-migrations"


def validate_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    versioned = s.sc_versioned()
    body = {"source_content_type_version_id": versioned["v1"]}
    return Req("POST", _migrations(versioned["type"]) + "/validate", json=body)


def create_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    versioned = s.sc_versioned(fresh=True)  # one waiting migration per source version
    body = {"source_content_type_version_id": versioned["v1"], "created_by": "integration"}
    return Req("POST", _migrations(versioned["type"]), json=body)


def list_sc_content_type_managed_migrations(s: Scene, who: str | None) -> Req:
    type_id, job_id = s.sc_migration()
    return Req("GET", _migrations(type_id), view=lambda body: body, targets=(job_id,))


def get_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    type_id, job_id = s.sc_migration()
    return Req("GET", f"{_migrations(type_id)}/{job_id}")


def update_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    type_id, job_id = s.sc_migration(fresh=True)
    return Req("PATCH", f"{_migrations(type_id)}/{job_id}", json={"default_values": {}})


def delete_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    type_id, job_id = s.sc_migration(fresh=True)
    return Req("DELETE", f"{_migrations(type_id)}/{job_id}")


def start_sc_content_type_managed_migration(s: Scene, who: str | None) -> Req:
    type_id, job_id = s.sc_migration(fresh=True)
    return Req("POST", f"{_migrations(type_id)}/{job_id}/start")


def list_asset_permissions(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/assets/{s.asset()}/permissions")


def add_asset_permissions(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/assets/{s.asset()}/permissions", json=_team_view(s))


def update_asset_permission(s: Scene, who: str | None) -> Req:
    asset = s.asset()
    team = _grant_team(s, "asset", asset)
    return Req("PATCH", f"/v3/assets/{asset}/permissions/{team}", json={"access_type": "edit"})


def remove_asset_permission(s: Scene, who: str | None) -> Req:
    asset = s.asset()
    return Req("DELETE", f"/v3/assets/{asset}/permissions/{_grant_team(s, 'asset', asset)}")


def list_asset_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/assets/{s.asset()}/fields")


def update_asset_fields(s: Scene, who: str | None) -> Req:
    body = [{"id": s.shared["text_field"], "type": "text", "values": ["Hello"]}]
    return Req("PUT", f"/v3/assets/{s.asset()}/fields", json=body)


def update_asset_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/assets/{s.asset()}/fields/{s.shared['text_field']}"
    return Req("PUT", path, json={"type": "text", "values": ["Hello"]})


def create_file_urls(s: Scene, who: str | None) -> Req:
    asset = s.asset()
    # The guid is echoed as a key whatever the caller may see: what shows is a non-null URL.
    return Req(
        "POST",
        "/v3/file-urls",
        json={"guids": [asset]},
        targets=(asset,),
        view=lambda body: [guid for guid, url in body["urls"].items() if url],
    )


def list_asset_lineages(s: Scene, who: str | None) -> Req:
    asset = s.asset()
    lineage = s.lineage(asset)
    return Req(
        "GET",
        "/v3/asset-lineages",
        params={"asset_id": asset, "page_size": 100},
        targets=(lineage,),
        view=data_ids,
    )


def create_asset_lineage(s: Scene, who: str | None) -> Req:
    body = {"name": "Blog", "uri": "https://blog.example.com/post"}
    return Req("POST", f"/v3/assets/{s.asset()}/lineages", json=body)


def delete_asset_lineage(s: Scene, who: str | None) -> Req:
    asset = s.asset()
    return Req("DELETE", f"/v3/assets/{asset}/lineages/{s.lineage(asset)}")


def list_related_assets(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/assets/{s.asset()}/related-assets")


def replace_related_assets(s: Scene, who: str | None) -> Req:
    body = {"related_assets": [{"id": s.asset()}]}
    return Req("PUT", f"/v3/assets/{s.asset()}/related-assets", json=body)


def get_rendition_config(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/rendition-configs/{s.shared['rendition_config']}")


def get_rendition(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/renditions/{s.rendition(s.asset())}")


def list_asset_renditions(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/assets/{s.asset()}/renditions")


# fields and labels


def list_fields(s: Scene, who: str | None) -> Req:
    field = s.shared["text_field"]
    return Req("GET", "/v3/fields", params={"ids": field}, targets=(field,), view=data_ids)


def create_field(s: Scene, who: str | None) -> Req:
    return Req(
        "POST", "/v3/fields", json={"name": f"Field {uid()}", "type": "text", "is_active": True}
    )


def update_field(s: Scene, who: str | None) -> Req:
    body = {"type": "text", "name": f"Renamed {uid()}"}
    return Req("PATCH", f"/v3/fields/{s.field()}", json=body)


def create_field_choices(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/fields/{s.field(type_='dropdown')}/choices", json=[{"name": "New"}])


def update_field_choice(s: Scene, who: str | None) -> Req:
    field = s.field(type_="dropdown")
    choice = s.choices(field)[0]
    return Req("PATCH", f"/v3/fields/{field}/choices/{choice}", json={"name": "Uno"})


def delete_field_choice(s: Scene, who: str | None) -> Req:
    field = s.field(type_="dropdown")
    return Req("DELETE", f"/v3/fields/{field}/choices/{s.choices(field)[0]}")


def list_label_groups(s: Scene, who: str | None) -> Req:
    return Req(
        "GET", "/v3/label-groups", params={"page_size": 100}, targets=(s.shared["label_group"],)
    )


# uploads


def get_upload_url(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/upload-url")


def create_multipart_upload(s: Scene, who: str | None) -> Req:
    return Req("POST", "/v3/multipart-uploads", json={"file_size": 6 * 1024 * 1024})


def complete_multipart_upload(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/multipart-uploads/{s.multipart()}/complete")


def get_multipart_upload_status(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/multipart-uploads/{s.multipart()}/status")


# workflows, tasks, settings


def list_workflows(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/workflows", params={"page_size": 100}, targets=(s.shared["workflow"],))


def get_workflow(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/workflows/{s.shared['workflow']}")


def list_tasks(s: Scene, who: str | None) -> Req:
    title = f"Needle {uid()}"
    task = s.task(title)["id"]
    return Req("GET", "/v3/tasks", params={"search_key": title, "page_size": 100}, targets=(task,))


def create_task(s: Scene, who: str | None) -> Req:
    return Req("POST", "/v3/tasks", json={"title": "New", "workflow_id": s.shared["workflow"]})


def get_task(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/tasks/{s.task()['id']}")


def update_task(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/tasks/{s.task()['id']}", json={"title": "Renamed"})


def update_task_step(s: Scene, who: str | None) -> Req:
    task = s.task()
    path = f"/v3/tasks/{task['id']}/steps/{task['steps'][0]['id']}"
    return Req("PATCH", path, json={"due_at": "2031-01-01T00:00:00Z"})


def get_task_sub_step(s: Scene, who: str | None) -> Req:
    return Req("GET", s.sub_step(s.task()))


def update_task_sub_step(s: Scene, who: str | None) -> Req:
    body = {"assignee_id": s.users["admin"], "assignee_type": "user"}
    return Req("PATCH", s.sub_step(s.task()), json=body)


def get_task_sub_step_external_work(s: Scene, who: str | None) -> Req:
    return Req("GET", s.sub_step(s.task(), 1, 0) + "/external-work")


def update_task_sub_step_external_work(s: Scene, who: str | None) -> Req:
    body = {
        "identifier": "MKT-1",
        "title": "Ticket",
        "status": "Open",
        "url": "https://jira.example.com/MKT-1",
    }
    return Req("PATCH", s.sub_step(s.task(), 1, 0) + "/external-work", json=body)


def get_settings(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/settings")


def update_settings(s: Scene, who: str | None) -> Req:
    """A dry run (no ``execute``) of an empty document: validated, nothing written."""
    body = {
        "labels": [],
        "custom_fields": {k: [] for k in KINDS},
        "workflows": [],
        "webhooks": [],
        "apps": [],
        "templates": [],
        "routing_rules": [],
    }
    return Req("POST", "/v3/settings", json=body)


# task assets and brand compliance


def _task_asset(s: Scene, kind: str = "image") -> tuple[str, str]:
    task = s.task()["id"]
    return task, s.task_asset(task, kind)


def list_task_assets(s: Scene, who: str | None) -> Req:
    task, asset = _task_asset(s)
    return Req("GET", f"/v3/tasks/{task}/assets", targets=(asset,))


def add_asset_to_task(s: Scene, who: str | None) -> Req:
    body = {"key": s.key(who), "title": "Hero"}
    return Req("POST", f"/v3/tasks/{s.task()['id']}/assets", json=body)


def _get_task_asset(path: str, kind: str) -> Builder:
    def build(s: Scene, who: str | None) -> Req:
        task, asset = _task_asset(s, kind)
        return Req("GET", f"/v3/tasks/{task}/{path}/{asset}")

    return build


get_task_image = _get_task_asset("images", "image")
get_task_video = _get_task_asset("videos", "video")
get_task_raw_file = _get_task_asset("raw-files", "raw_file")
get_task_article = _get_task_asset("articles", "article")


def _task_content(s: Scene, tail: str = "") -> str:
    task = s.task()["id"]
    return f"/v3/tasks/{task}/structured-contents/{s.task_content(task)}{tail}"


def add_structured_content_to_task(s: Scene, who: str | None) -> Req:
    body = {"content_type_guid": s.sc_type(), "fields": sc_body("x")["content_body"]["fields"]}
    return Req("POST", f"/v3/tasks/{s.task()['id']}/structured-contents", json=body)


def get_task_structured_content(s: Scene, who: str | None) -> Req:
    return Req("GET", _task_content(s))


def update_task_structured_content(s: Scene, who: str | None) -> Req:
    return Req("PATCH", _task_content(s), json={"title": "Renamed"})


def delete_task_structured_content(s: Scene, who: str | None) -> Req:
    return Req("DELETE", _task_content(s))


def create_task_structured_content_draft(s: Scene, who: str | None) -> Req:
    body = {"content_body": {"locale": "en_US", "field_values": [{"text_value": "Draft"}]}}
    return Req("POST", _task_content(s, "/drafts"), json=body)


def acknowledge_sc_content_preview(s: Scene, who: str | None) -> Req:
    preview = s.preview()
    body = {"acknowledged_by": "renderer", "content_hash": preview["content_hash"]}
    return Req("POST", preview["links"]["acknowledge"], json=body)


def complete_sc_content_preview(s: Scene, who: str | None) -> Req:
    body = {"keyed_previews": {"web": "https://render.example/p"}}
    return Req("POST", s.preview(acknowledged=True)["links"]["complete"], json=body)


def _asset_path(s: Scene, tail: str) -> str:
    task, asset = _task_asset(s)
    return f"/v3/tasks/{task}/assets/{asset}/{tail}"


def list_task_asset_drafts(s: Scene, who: str | None) -> Req:
    return Req("GET", _asset_path(s, "drafts"))


def add_draft_to_task_asset(s: Scene, who: str | None) -> Req:
    body = {"type": "direct_upload", "key": s.key(who), "title": "Draft 2"}
    return Req("POST", _asset_path(s, "drafts"), json=body)


def list_task_asset_comments(s: Scene, who: str | None) -> Req:
    return Req("GET", _asset_path(s, "comments"))


def add_comment_to_task_asset(s: Scene, who: str | None) -> Req:
    return Req("POST", _asset_path(s, "comments"), json={"value": "Looks good"})


def list_task_asset_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", _asset_path(s, "fields"))


def update_task_asset_fields(s: Scene, who: str | None) -> Req:
    body = [{"id": s.shared["text_field"], "type": "text", "values": ["Hello"]}]
    return Req("PUT", _asset_path(s, "fields"), json=body)


def list_brand_compliance_categories(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/brand-compliance/categories")


def get_task_asset_draft_brand_compliance(s: Scene, who: str | None) -> Req:
    return Req("GET", _asset_path(s, "drafts/latest/brand-compliance"))


def update_task_asset_draft_brand_compliance(s: Scene, who: str | None) -> Req:
    body = {"status": "approved", "categories": []}
    return Req("PUT", _asset_path(s, "drafts/latest/brand-compliance"), json=body)


# comments


def add_comment_to_task(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/tasks/{s.task()['id']}/comments", json={"value": "Hi"})


def list_task_sub_step_comments(s: Scene, who: str | None) -> Req:
    path = s.sub_step(s.task())
    return Req("GET", f"{path}/comments", targets=(s.comment(path),))


def add_comment_to_task_sub_step(s: Scene, who: str | None) -> Req:
    return Req("POST", f"{s.sub_step(s.task())}/comments", json={"value": "Note"})


def _comment_path(s: Scene) -> str:
    path = s.sub_step(s.task())
    return f"{path}/comments/{s.comment(path)}"


def get_task_sub_step_comment(s: Scene, who: str | None) -> Req:
    return Req("GET", _comment_path(s))


def update_task_sub_step_comment(s: Scene, who: str | None) -> Req:
    return Req("PATCH", _comment_path(s), json={"value": "Edited"})


def delete_task_sub_step_comment(s: Scene, who: str | None) -> Req:
    return Req("DELETE", _comment_path(s))


# task fields, custom fields, metadata


def _task_with(s: Scene, field: str) -> str:
    """A task holding the text field ("Hello") or the dropdown (its first choice)."""
    task = s.task()["id"]
    if field == "text":
        s.task_field(task, s.shared["text_field"], "text", ["Hello"])
    else:
        dropdown = s.shared["dropdown"]
        s.task_field(task, dropdown, "dropdown", s.choices(dropdown)[:1])
    return task


def list_task_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/tasks/{_task_with(s, 'text')}/fields")


def add_field_to_task(s: Scene, who: str | None) -> Req:
    body = {"id": s.shared["text_field"], "type": "text", "values": ["Hello"]}
    return Req("POST", f"/v3/tasks/{s.task()['id']}/fields", json=body)


def update_task_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/tasks/{_task_with(s, 'text')}/fields/{s.shared['text_field']}"
    return Req("PUT", path, json={"type": "text", "values": ["Bye"]})


def remove_task_field(s: Scene, who: str | None) -> Req:
    return Req("DELETE", f"/v3/tasks/{_task_with(s, 'text')}/fields/{s.shared['text_field']}")


def list_task_sub_step_fields(s: Scene, who: str | None) -> Req:
    task = _task_with(s, "dropdown")
    got = s.api("member", "GET", f"/v3/tasks/{task}")
    return Req("GET", s.sub_step(got) + "/fields")


def list_task_custom_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/tasks/{_task_with(s, 'text')}/custom-fields")


def get_task_custom_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/tasks/{_task_with(s, 'text')}/custom-fields/{s.shared['text_field']}"
    return Req("GET", path)


def update_task_custom_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/tasks/{_task_with(s, 'text')}/custom-fields/{s.shared['text_field']}"
    return Req("PATCH", path, json={"values": ["Bye"]})


def list_task_custom_field_choices(s: Scene, who: str | None) -> Req:
    task = _task_with(s, "dropdown")
    return Req("GET", f"/v3/tasks/{task}/custom-fields/{s.shared['dropdown']}/choices")


def list_task_attachments(s: Scene, who: str | None) -> Req:
    task = s.task()["id"]
    link = s.api(
        "member", "POST", f"/v3/tasks/{task}/urls", 201, json={"url": "https://example.com/spec"}
    )
    return Req("GET", f"/v3/tasks/{task}/attachments", targets=(s.mine(link["id"]),))


def get_task_brief(s: Scene, who: str | None) -> Req:
    task = s.task()["id"]
    s.brief(task)
    return Req("GET", f"/v3/tasks/{task}/brief")


def add_url_to_task(s: Scene, who: str | None) -> Req:
    body = {"url": "https://example.com/spec", "title": "Spec"}
    return Req("POST", f"/v3/tasks/{s.task()['id']}/urls", json=body)


def create_task_publishing_intent(s: Scene, who: str | None) -> Req:
    path = f"/v3/tasks/{s.task()['id']}/publishing-intents"
    return Req("POST", path, json={"channel_id": s.shared["channel"]})


# publishing


def list_publishing_channels(s: Scene, who: str | None) -> Req:
    params = {"page_size": 1000}
    return Req("GET", "/v3/publishing-channels", params=params, targets=(s.shared["channel"],))


def get_publishing_event(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/publishing-events/{s.publishing_event()[0]}")


def list_publishing_event_metadata(s: Scene, who: str | None) -> Req:
    event, asset = s.publishing_event()
    meta = s.publishing_metadata(event, asset)
    path = f"/v3/publishing-events/{event}/publishing-metadata"
    return Req("GET", path, targets=(meta,))


def bulk_create_publishing_event_metadata(s: Scene, who: str | None) -> Req:
    event, asset = s.publishing_event()
    body = {"data": [{"asset_id": asset, "status": "failed", "status_message": "CMS down"}]}
    return Req("POST", f"/v3/publishing-events/{event}/publishing-metadata", json=body)


def get_publishing_event_asset_metadata(s: Scene, who: str | None) -> Req:
    event, asset = s.publishing_event()
    meta = s.publishing_metadata(event, asset)
    path = f"/v3/publishing-events/{event}/assets/{asset}/publishing-metadata/{meta}"
    return Req("GET", path)


# milestones


def list_milestones(s: Scene, who: str | None) -> Req:
    # Lists are soonest due first: an early due date keeps the target on the first page.
    milestone = s.milestone(due="2001-01-01T00:00:00Z")
    return Req("GET", "/v3/milestones", params={"page_size": 100}, targets=(milestone,))


def create_milestone(s: Scene, who: str | None) -> Req:
    body = {
        "title": "Q2",
        "due_date": "2030-06-30T00:00:00Z",
        "hex_color": "#FFC700",
        "tasks": [{"id": s.task()["id"]}],
    }
    return Req("POST", "/v3/milestones", json=body)


def get_milestone(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/milestones/{s.milestone()}")


def update_milestone(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/milestones/{s.milestone()}", json={"title": "Renamed"})


# campaigns and calendar events


def list_campaigns(s: Scene, who: str | None) -> Req:
    return Req("GET", "/v3/campaigns", params={"page_size": 100}, targets=(s.campaign(),))


def create_campaign(s: Scene, who: str | None) -> Req:
    # A sub-campaign: the parent is the first organization's, so the other one gets 404.
    return Req("POST", "/v3/campaigns", json={"title": "Child", "parent_campaign": s.campaign()})


def get_campaign(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/campaigns/{s.campaign()}")


def update_campaign(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/campaigns/{s.campaign()}", json={"title": "Renamed"})


def get_campaign_brief(s: Scene, who: str | None) -> Req:
    campaign = s.campaign()
    s.campaign_brief(campaign)
    return Req("GET", f"/v3/campaigns/{campaign}/brief")


def add_comment_to_campaign(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/campaigns/{s.campaign()}/comments", json={"value": "Hi"})


def add_attachment_to_campaign(s: Scene, who: str | None) -> Req:
    body = {"name": "plan.jpg", "key": s.key(who)}
    return Req("POST", f"/v3/campaigns/{s.campaign()}/attachments", json=body)


def _campaign_with_field(s: Scene) -> str:
    campaign = s.campaign()
    s.campaign_field(campaign)
    return campaign


def list_campaign_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/campaigns/{_campaign_with_field(s)}/fields")


def add_field_to_campaign(s: Scene, who: str | None) -> Req:
    body = {"id": s.shared["text_field"], "type": "text", "values": ["Hello"]}
    return Req("POST", f"/v3/campaigns/{s.campaign()}/fields", json=body)


def update_campaign_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/campaigns/{_campaign_with_field(s)}/fields/{s.shared['text_field']}"
    return Req("PUT", path, json={"type": "text", "values": ["Bye"]})


def list_event_fields(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/events/{s.event()}/fields")


def update_event_fields(s: Scene, who: str | None) -> Req:
    body = [{"id": s.shared["text_field"], "type": "text", "values": ["Hello"]}]
    return Req("PUT", f"/v3/events/{s.event()}/fields", json=body)


def list_events(s: Scene, who: str | None) -> Req:
    # Lists are by start date: an early one keeps the target on the first page.
    event = s.event(start="2001-01-01T00:00:00Z", end="2001-01-01T01:00:00Z")
    return Req("GET", "/v3/events", params={"page_size": 100}, targets=(event,))


def create_event(s: Scene, who: str | None) -> Req:
    body = {
        "title": "Launch",
        "is_all_day": True,
        "start_date": "2030-05-01T00:00:00Z",
        "end_date": "2030-05-01T23:59:59Z",
        "campaign_id": s.campaign(),
    }
    return Req("POST", "/v3/events", json=body)


def get_event(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/events/{s.event()}")


def update_event(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/events/{s.event()}", json={"title": "Renamed"})


# templates and work requests


def list_templates(s: Scene, who: str | None) -> Req:
    template = s.template()["id"]
    return Req("GET", "/v3/templates", params={"page_size": 100}, targets=(template,))


def get_template(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/templates/{s.template()['id']}")


def list_work_requests(s: Scene, who: str | None) -> Req:
    # Newest first: the request just made is on the first page.
    made = s.work_request()
    return Req("GET", "/v3/work-requests", params={"page_size": 100}, targets=(made,))


def create_work_request(s: Scene, who: str | None) -> Req:
    return Req("POST", "/v3/work-requests", json=request_body(s.template()))


def get_work_request(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/work-requests/{s.work_request()}")


def update_work_request(s: Scene, who: str | None) -> Req:
    return Req("PATCH", f"/v3/work-requests/{s.work_request()}", json={"priority": "High"})


def update_work_request_form_field(s: Scene, who: str | None) -> Req:
    path = f"/v3/work-requests/{s.work_request()}/form-fields/title"
    return Req("PUT", path, json={"type": "text", "values": ["Renamed"]})


def create_work_request_creative_asset(s: Scene, who: str | None) -> Req:
    path = f"/v3/work-requests/{s.work_request()}/creative-assets"
    return Req("POST", path, json={"key": s.key(who), "name": "Hero"})


def delete_work_request_creative_asset(s: Scene, who: str | None) -> Req:
    wr = s.work_request()
    return Req("DELETE", f"/v3/work-requests/{wr}/creative-assets/{s.creative_asset(wr)}")


def list_work_request_approved_assets(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/work-requests/{s.work_request()}/approved-assets")


def list_work_request_comments(s: Scene, who: str | None) -> Req:
    wr = s.work_request()
    return Req("GET", f"/v3/work-requests/{wr}/comments", targets=(s.work_request_comment(wr),))


def add_comment_to_work_request(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/work-requests/{s.work_request()}/comments", json={"value": "Hi"})


def get_work_request_comment(s: Scene, who: str | None) -> Req:
    wr = s.work_request()
    return Req("GET", f"/v3/work-requests/{wr}/comments/{s.work_request_comment(wr)}")


def add_attachment_to_work_request(s: Scene, who: str | None) -> Req:
    body = {"name": "brief.jpg", "key": s.key(who)}
    return Req("POST", f"/v3/work-requests/{s.work_request()}/attachments", json=body)


def delete_work_request_attachment(s: Scene, who: str | None) -> Req:
    wr = s.work_request()
    path = f"/v3/work-requests/{wr}/attachments/{s.work_request_attachment(wr)}"
    return Req("DELETE", path)


def create_task_from_work_request(s: Scene, who: str | None) -> Req:
    return Req("POST", f"/v3/work-requests/{s.work_request()}/tasks", json={})


def create_campaign_from_work_request(s: Scene, who: str | None) -> Req:
    body = {"title": "From the request"}
    return Req("POST", f"/v3/work-requests/{s.work_request()}/campaigns", json=body)


def list_work_request_related_resources(s: Scene, who: str | None) -> Req:
    return Req("GET", f"/v3/work-requests/{s.work_request()}/related-resources")


# -- the table -------------------------------------------------------------------------------
# operationId: row(request, owner of the objects,
#                  owner, admin, member, viewer, other_org, anonymous)

X403 = UNDECLARED_403

MATRIX: dict[str, Row] = {
    # Users and teams: every role reads its organization.
    "listUsers": row(list_users, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "findUserByEmail": row(find_user_by_email, ADMIN, OK, OK, OK, OK, 404, 401),
    "getUser": row(get_user, ADMIN, OK, OK, OK, OK, 404, 401),
    "listTeams": row(list_teams, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "getTeam": row(get_team, ADMIN, OK, OK, OK, OK, 404, 401),
    # Folders: private to their owner (plus grants); a folder the caller cannot view is
    # absent from lists and 403 when addressed; ownership manages permissions.
    "listFolders": row(list_folders, MEMBER, OK, OK, HIDDEN, OK, HIDDEN, 401),
    "createFolder": row(create_folder, MEMBER, OK, OK, 403, 403, 404, 401),
    "getFolder": row(get_folder, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateFolder": row(update_folder, MEMBER, OK, OK, 403, 403, 404, 401),
    "deleteFolder": row(delete_folder, MEMBER, OK, OK, 403, 403, 404, 401),
    "listFolderPermissions": row(list_folder_permissions, MEMBER, OK, OK, 403, OK, 404, 401),
    "addFolderPermissions": row(add_folder_permissions, MEMBER, OK, OK, 403, 403, 404, 401),
    "updateFolderPermission": row(update_folder_permission, MEMBER, OK, OK, 403, 403, 404, 401),
    "removeFolderPermission": row(remove_folder_permission, MEMBER, OK, OK, 403, 403, 404, 401),
    # Assets: the same rules. createAsset's folder of another organization: the spec
    # declares no 404 for createAsset, so an unknown folder must be refused another way.
    "listAssets": row(list_assets, MEMBER, OK, OK, HIDDEN, OK, HIDDEN, 401),
    "createAsset": row(create_asset, MEMBER, OK, OK, 403, 403, 422, 401),
    "createAssetVersion": row(create_asset_version, MEMBER, OK, OK, 403, 403, 404, 401),
    "getAssetUrl": row(get_asset_url, MEMBER, OK, OK, 403, OK, 404, 401),
    "getImage": row(get_image, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateImage": row(update_image, MEMBER, OK, OK, 403, 403, 404, 401),
    "deleteImage": row(delete_image, MEMBER, OK, OK, 403, 403, 404, 401),
    "getVideo": row(get_video, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateVideo": row(update_video, MEMBER, OK, OK, 403, 403, 404, 401),
    "deleteVideo": row(delete_video, MEMBER, OK, OK, 403, 403, 404, 401),
    "getRawFile": row(get_raw_file, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateRawFile": row(update_raw_file, MEMBER, OK, OK, 403, 403, 404, 401),
    "deleteRawFile": row(delete_raw_file, MEMBER, OK, OK, 403, 403, 404, 401),
    "getArticle": row(get_article, MEMBER, OK, OK, 403, OK, 404, 401),
    "listSCContentTypes": row(list_sc_content_types, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "createSCContentType": row(create_sc_content_type, ADMIN, OK, OK, 403, 403, HIDDEN, 401),
    "getSCContentType": row(get_sc_content_type, ADMIN, OK, OK, OK, OK, 404, 401),
    "updateSCContentType": row(update_sc_content_type, ADMIN, OK, OK, 403, 403, 404, 401),
    "listSCContentTypeVersions": row(
        list_sc_content_type_versions, ADMIN, OK, OK, OK, OK, 404, 401
    ),
    "createSCContentTypeVersion": row(
        create_sc_content_type_version, ADMIN, OK, OK, 403, 403, 404, 401
    ),
    "getSCContentTypeVersion": row(get_sc_content_type_version, ADMIN, OK, OK, OK, OK, 404, 401),
    # Another organization's admin names a content type it cannot see: 422 on the body.
    "createStructuredContent": row(create_structured_content, MEMBER, OK, OK, OK, 403, 422, 401),
    "getStructuredContent": row(get_structured_content, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateStructuredContent": row(update_structured_content, MEMBER, OK, OK, 403, 403, 404, 401),
    # Migrating a content is changing it: as updateStructuredContent.
    "migrateSCContent": row(migrate_sc_content, MEMBER, OK, OK, 403, 403, 404, 401),
    # Managed migrations: every role reads (and validates); the rest is the content type's
    # configuration, admins only. Another organization does not see the content type.
    "validateSCContentTypeManagedMigration": row(
        validate_sc_content_type_managed_migration, ADMIN, OK, OK, OK, OK, 404, 401
    ),
    "createSCContentTypeManagedMigration": row(
        create_sc_content_type_managed_migration, ADMIN, OK, OK, 403, 403, 404, 401
    ),
    "listSCContentTypeManagedMigrations": row(
        list_sc_content_type_managed_migrations, ADMIN, OK, OK, OK, OK, 404, 401
    ),
    "getSCContentTypeManagedMigration": row(
        get_sc_content_type_managed_migration, ADMIN, OK, OK, OK, OK, 404, 401
    ),
    "updateSCContentTypeManagedMigration": row(
        update_sc_content_type_managed_migration, ADMIN, OK, OK, 403, 403, 404, 401
    ),
    "deleteSCContentTypeManagedMigration": row(
        delete_sc_content_type_managed_migration, ADMIN, OK, OK, 403, 403, 404, 401
    ),
    "startSCContentTypeManagedMigration": row(
        start_sc_content_type_managed_migration, ADMIN, OK, OK, 403, 403, 404, 401
    ),
    "listAssetPermissions": row(list_asset_permissions, MEMBER, OK, OK, 403, OK, 404, 401),
    "addAssetPermissions": row(add_asset_permissions, MEMBER, OK, OK, 403, 403, 404, 401),
    "updateAssetPermission": row(update_asset_permission, MEMBER, OK, OK, 403, 403, 404, 401),
    "removeAssetPermission": row(remove_asset_permission, MEMBER, OK, OK, 403, 403, 404, 401),
    "listAssetFields": row(list_asset_fields, MEMBER, OK, OK, 403, OK, 404, 401),
    "updateAssetFields": row(update_asset_fields, MEMBER, OK, OK, 403, 403, 404, 401),
    "updateAssetField": row(update_asset_field, MEMBER, OK, OK, 403, 403, 404, 401),
    "createFileUrls": row(create_file_urls, MEMBER, OK, OK, HIDDEN, OK, HIDDEN, 401),
    "listAssetLineages": row(list_asset_lineages, MEMBER, OK, OK, HIDDEN, OK, HIDDEN, 401),
    "createAssetLineage": row(create_asset_lineage, MEMBER, OK, OK, 403, 403, 404, 401),
    "deleteAssetLineage": row(delete_asset_lineage, MEMBER, OK, OK, 403, 403, 404, 401),
    "listRelatedAssets": row(list_related_assets, MEMBER, OK, OK, 403, OK, 404, 401),
    "replaceRelatedAssets": row(replace_related_assets, MEMBER, OK, OK, 403, 403, 404, 401),
    "getRenditionConfig": row(get_rendition_config, ADMIN, OK, OK, OK, OK, 404, 401),
    "getRendition": row(get_rendition, MEMBER, OK, OK, 403, OK, 404, 401),
    "listAssetRenditions": row(list_asset_renditions, MEMBER, OK, OK, 403, OK, 404, 401),
    # Fields and labels: everyone reads; changing definitions is for admins.
    "listFields": row(list_fields, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "createField": row(create_field, ADMIN, OK, OK, 403, 403, HIDDEN, 401),
    "updateField": row(update_field, ADMIN, OK, OK, 403, 403, 404, 401),
    "createFieldChoices": row(create_field_choices, ADMIN, OK, OK, 403, 403, 404, 401),
    "updateFieldChoice": row(update_field_choice, ADMIN, OK, OK, 403, 403, 404, 401),
    "deleteFieldChoice": row(delete_field_choice, ADMIN, OK, OK, 403, 403, 404, 401),
    "listLabelGroups": row(list_label_groups, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    # Uploads belong to the organization: viewers may not upload but may read a status.
    "getUploadUrl": row(get_upload_url, MEMBER, OK, OK, OK, 403, HIDDEN, 401),
    "createMultipartUpload": row(create_multipart_upload, MEMBER, OK, OK, OK, 403, HIDDEN, 401),
    "completeMultipartUpload": row(complete_multipart_upload, MEMBER, OK, OK, OK, 403, 404, 401),
    "getMultipartUploadStatus": row(get_multipart_upload_status, MEMBER, OK, OK, OK, OK, 404, 401),
    # Workflows are read by everyone; settings are for admins (the export holds secrets).
    "listWorkflows": row(list_workflows, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "getWorkflow": row(get_workflow, ADMIN, OK, OK, OK, OK, 404, 401),
    "getSettings": row(get_settings, ADMIN, OK, OK, 403, 403, HIDDEN, 401),
    "updateSettings": row(update_settings, ADMIN, OK, OK, 403, 403, HIDDEN, 401),
    # Tasks: every user of the organization sees every task; viewers read only.
    "listTasks": row(list_tasks, MEMBER, OK, OK, OK, OK, HIDDEN, 401),
    "createTask": row(create_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "getTask": row(get_task, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTask": row(update_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "updateTaskStep": row(update_task_step, MEMBER, OK, OK, OK, 403, 404, 401),
    "getTaskSubStep": row(get_task_sub_step, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTaskSubStep": row(update_task_sub_step, MEMBER, OK, OK, OK, 403, 404, 401),
    "getTaskSubStepExternalWork": row(
        get_task_sub_step_external_work, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    "updateTaskSubStepExternalWork": row(
        update_task_sub_step_external_work, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "listTaskAssets": row(list_task_assets, MEMBER, OK, OK, OK, OK, 404, 401),
    "addAssetToTask": row(add_asset_to_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "getTaskImage": row(get_task_image, MEMBER, OK, OK, OK, OK, 404, 401),
    "getTaskVideo": row(get_task_video, MEMBER, OK, OK, OK, OK, 404, 401),
    "getTaskRawFile": row(get_task_raw_file, MEMBER, OK, OK, OK, OK, 404, 401),
    "getTaskArticle": row(get_task_article, MEMBER, OK, OK, OK, OK, 404, 401),
    "listTaskAssetDrafts": row(list_task_asset_drafts, MEMBER, OK, OK, OK, OK, 404, 401),
    "addDraftToTaskAsset": row(add_draft_to_task_asset, MEMBER, OK, OK, OK, 403, 404, 401),
    "listTaskAssetComments": row(list_task_asset_comments, MEMBER, OK, OK, OK, OK, 404, 401),
    "addCommentToTaskAsset": row(add_comment_to_task_asset, MEMBER, OK, OK, OK, 403, 404, 401),
    "listTaskAssetFields": row(list_task_asset_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTaskAssetFields": row(update_task_asset_fields, MEMBER, OK, OK, OK, 403, 404, 401),
    "listBrandComplianceCategories": row(
        list_brand_compliance_categories, ADMIN, OK, OK, OK, OK, HIDDEN, 401
    ),
    "getTaskAssetDraftBrandCompliance": row(
        get_task_asset_draft_brand_compliance, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    "updateTaskAssetDraftBrandCompliance": row(
        update_task_asset_draft_brand_compliance, MEMBER, OK, OK, OK, X403, 404, 401
    ),
    # A task's structured contents are task assets: the task's writers change them.
    "addStructuredContentToTask": row(
        add_structured_content_to_task, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "getTaskStructuredContent": row(get_task_structured_content, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTaskStructuredContent": row(
        update_task_structured_content, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "deleteTaskStructuredContent": row(
        delete_task_structured_content, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "createTaskStructuredContentDraft": row(
        create_task_structured_content_draft, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    # The preview handshake: those who may change the task (FastAPI-shaped refusals).
    "acknowledgeSCContentPreview": row(
        acknowledge_sc_content_preview, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "completeSCContentPreview": row(complete_sc_content_preview, MEMBER, OK, OK, OK, 403, 404, 401),
    # Comments: writers comment; only the author or an admin edits or deletes.
    "addCommentToTask": row(add_comment_to_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "listTaskSubStepComments": row(list_task_sub_step_comments, MEMBER, OK, OK, OK, OK, 404, 401),
    "addCommentToTaskSubStep": row(add_comment_to_task_sub_step, MEMBER, OK, OK, OK, 403, 404, 401),
    "getTaskSubStepComment": row(get_task_sub_step_comment, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTaskSubStepComment": row(
        update_task_sub_step_comment, MEMBER, OK, OK, 403, 403, 404, 401
    ),
    "deleteTaskSubStepComment": row(
        delete_task_sub_step_comment, MEMBER, OK, OK, 403, 403, 404, 401
    ),
    "listTaskFields": row(list_task_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "addFieldToTask": row(add_field_to_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "updateTaskField": row(update_task_field, MEMBER, OK, OK, OK, 403, 404, 401),
    "removeTaskField": row(remove_task_field, MEMBER, OK, OK, OK, 403, 404, 401),
    "listTaskSubStepFields": row(list_task_sub_step_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "listTaskCustomFields": row(list_task_custom_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "getTaskCustomField": row(get_task_custom_field, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateTaskCustomField": row(update_task_custom_field, MEMBER, OK, OK, OK, 403, 404, 401),
    "listTaskCustomFieldChoices": row(
        list_task_custom_field_choices, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    "listTaskAttachments": row(list_task_attachments, MEMBER, OK, OK, OK, OK, 404, 401),
    "getTaskBrief": row(get_task_brief, MEMBER, OK, OK, OK, OK, 404, 401),
    "addUrlToTask": row(add_url_to_task, MEMBER, OK, OK, OK, 403, 404, 401),
    "createTaskPublishingIntent": row(
        create_task_publishing_intent, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    # Publishing: everyone reads channels, events and metadata; admins and members (an
    # integration's token user) post metadata. Channels are configured by admins (/ext/v1).
    "listPublishingChannels": row(list_publishing_channels, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "getPublishingEvent": row(get_publishing_event, MEMBER, OK, OK, OK, OK, 404, 401),
    "listPublishingEventMetadata": row(
        list_publishing_event_metadata, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    "bulkCreatePublishingEventMetadata": row(
        bulk_create_publishing_event_metadata, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "getPublishingEventAssetMetadata": row(
        get_publishing_event_asset_metadata, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    # Milestones: everyone reads; admins and members write. Linking another
    # organization's task is 404 naming it.
    "listMilestones": row(list_milestones, MEMBER, OK, OK, OK, OK, HIDDEN, 401),
    "createMilestone": row(create_milestone, MEMBER, OK, OK, OK, 403, 404, 401),
    "getMilestone": row(get_milestone, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateMilestone": row(update_milestone, MEMBER, OK, OK, OK, 403, 404, 401),
    # Campaigns and calendar events: everyone reads; admins and members write. A parent
    # campaign or an event's campaign of another organization is 404 naming it.
    "listCampaigns": row(list_campaigns, MEMBER, OK, OK, OK, OK, HIDDEN, 401),
    "createCampaign": row(create_campaign, MEMBER, OK, OK, OK, 403, 404, 401),
    "getCampaign": row(get_campaign, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateCampaign": row(update_campaign, MEMBER, OK, OK, OK, 403, 404, 401),
    "listEvents": row(list_events, MEMBER, OK, OK, OK, OK, HIDDEN, 401),
    "createEvent": row(create_event, MEMBER, OK, OK, OK, 403, 404, 401),
    "getEvent": row(get_event, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateEvent": row(update_event, MEMBER, OK, OK, OK, 403, 404, 401),
    # Their shared sub-resources (comments, attachments, brief, fields) follow the parent.
    "getCampaignBrief": row(get_campaign_brief, MEMBER, OK, OK, OK, OK, 404, 401),
    "addCommentToCampaign": row(add_comment_to_campaign, MEMBER, OK, OK, OK, 403, 404, 401),
    "addAttachmentToCampaign": row(add_attachment_to_campaign, MEMBER, OK, OK, OK, 403, 404, 401),
    "listCampaignFields": row(list_campaign_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "addFieldToCampaign": row(add_field_to_campaign, MEMBER, OK, OK, OK, 403, 404, 401),
    "updateCampaignField": row(update_campaign_field, MEMBER, OK, OK, OK, 403, 404, 401),
    "listEventFields": row(list_event_fields, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateEventFields": row(update_event_fields, MEMBER, OK, OK, OK, 403, 404, 401),
    # Templates: imported by admins (updateSettings), read by everyone.
    "listTemplates": row(list_templates, ADMIN, OK, OK, OK, OK, HIDDEN, 401),
    "getTemplate": row(get_template, ADMIN, OK, OK, OK, OK, 404, 401),
    # Work requests: everyone reads, admins and members write any request. Another
    # organization's template is a 422 (createWorkRequest declares no 404); the related
    # resources of another organization's request list nothing (no 404 declared either).
    "listWorkRequests": row(list_work_requests, MEMBER, OK, OK, OK, OK, HIDDEN, 401),
    "createWorkRequest": row(create_work_request, MEMBER, OK, OK, OK, 403, 422, 401),
    "getWorkRequest": row(get_work_request, MEMBER, OK, OK, OK, OK, 404, 401),
    "updateWorkRequest": row(update_work_request, MEMBER, OK, OK, OK, 403, 404, 401),
    "updateWorkRequestFormField": row(
        update_work_request_form_field, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "createWorkRequestCreativeAsset": row(
        create_work_request_creative_asset, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "deleteWorkRequestCreativeAsset": row(
        delete_work_request_creative_asset, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "listWorkRequestApprovedAssets": row(
        list_work_request_approved_assets, MEMBER, OK, OK, OK, OK, 404, 401
    ),
    "listWorkRequestRelatedResources": row(
        list_work_request_related_resources, MEMBER, OK, OK, OK, OK, HIDDEN, 401
    ),
    # Their comments and attachments follow the request; starting work from it needs the
    # right to write requests (and tasks or campaigns: members and admins).
    "listWorkRequestComments": row(list_work_request_comments, MEMBER, OK, OK, OK, OK, 404, 401),
    "addCommentToWorkRequest": row(add_comment_to_work_request, MEMBER, OK, OK, OK, 403, 404, 401),
    "getWorkRequestComment": row(get_work_request_comment, MEMBER, OK, OK, OK, OK, 404, 401),
    "addAttachmentToWorkRequest": row(
        add_attachment_to_work_request, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "deleteWorkRequestAttachment": row(
        delete_work_request_attachment, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "createTaskFromWorkRequest": row(
        create_task_from_work_request, MEMBER, OK, OK, OK, 403, 404, 401
    ),
    "createCampaignFromWorkRequest": row(
        create_campaign_from_work_request, MEMBER, OK, OK, OK, 403, 404, 401
    ),
}

# GET requests whose objects must be made per case (the list shows the newest first).
FRESH_READS = {"listFolders"}


# -- the scene, one per backend and test process ---------------------------------------------


def _empty_postgres(request: pytest.FixtureRequest) -> str:
    """The test process's PostgreSQL database (tests/conftest.py), emptied. Other modules
    empty it when each of their tests starts; this module's cases run one after another in
    a process, so the scene stays whole while they run."""
    url: str = request.getfixturevalue("pg_database")
    empty_postgres(url)
    return url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def scene(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """The app with the seeded scene, for every case of one backend."""
    data_dir = tmp_path_factory.mktemp(f"authz-{request.param}")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, data_dir / "cmpapi.db")
        url = f"sqlite:///{data_dir / 'cmpapi.db'}"
    else:
        url = _empty_postgres(request)
    app = create_app(Settings(data_dir=data_dir, database_url=url, worker_embedded=False))
    try:
        with ContractClient(app, base_url="https://testserver", follow_redirects=False) as client:
            yield Scene.build(client, app.state.sessionmaker)
    finally:
        app.state.engine.dispose()


def success_status(scene: Scene, op: str) -> int:
    """The documented success status of a served operation (2xx, or 302 for redirects)."""
    if "success" not in scene.shared:
        found: dict[str, int] = {}
        for item in scene.client.app.openapi()["paths"].values():
            for operation in item.values():
                codes = [int(c) for c in operation["responses"] if c[0] in "23"]
                assert len(codes) == 1, operation
                found[operation["operationId"]] = codes[0]
        scene.shared["success"] = found
    return int(scene.shared["success"][op])


def request_for(scene: Scene, op: str, user: str | None) -> Req:
    """The row's request: made once per row for reads, afresh for every write."""
    if op in scene.cache:
        return scene.cache[op]
    req = MATRIX[op].build(scene, user)
    if req.method == "GET" and op not in FRESH_READS:
        scene.cache[op] = req
    return req


def shown(req: Req, body: Any, raw: str) -> str:
    """What an answer shows of its objects (see ``Req.view``)."""
    if req.view is not None:
        return json.dumps(req.view(body))
    if isinstance(body, dict) and "data" in body:
        return json.dumps(body["data"])
    return raw


# -- the tests -------------------------------------------------------------------------------


def _routes(router: Any) -> Iterator[Any]:
    """A router's routes, those of the routers it includes too."""
    for route in router.routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included) if included is not None else (route,)


def served_operations(tmp_path: Path) -> set[str]:
    """The operationIds of the app's /v3 routes: those of its OpenAPI document, and those
    of the routers it mounts under /v3 (in case one left the document)."""
    routed = {
        str(route.operation_id)
        for router in V3_ROUTERS
        for route in _routes(router)
        if getattr(route, "operation_id", None)
    }
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        documented = {
            op["operationId"]
            for path, item in app.openapi()["paths"].items()
            if path.startswith("/v3/")
            for op in item.values()
            if "operationId" in op
        }
    finally:
        app.state.engine.dispose()
    return routed | documented


def test_every_served_operation_has_exactly_one_row(tmp_path: Path) -> None:
    served = served_operations(tmp_path)
    assert sorted(served - MATRIX.keys()) == [], "served operations without a row in MATRIX"
    assert sorted(MATRIX.keys() - served) == [], "rows in MATRIX for operations not served"
    assert sorted(FRESH_READS - MATRIX.keys()) == []


def test_every_row_is_well_formed() -> None:
    for op, r in MATRIX.items():
        assert len(r.cells) == len(ACTORS), op
        assert r.owner in (ADMIN, MEMBER), op
        assert r.cells[ACTORS.index("anonymous")] == 401, op
        for cell in r.cells:
            assert cell in (OK, HIDDEN, UNDECLARED_403, 401, 403, 404, 422), (op, cell)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("op", sorted(MATRIX))
def test_authorization(scene: Scene, op: str, actor: str) -> None:
    row_ = MATRIX[op]
    cell = row_.cells[ACTORS.index(actor)]
    user = row_.owner if actor == "owner" else USER_OF[actor]
    req = request_for(scene, op, user)
    refused = cell not in (OK, HIDDEN)
    before = scene.footprint() if refused else None
    check = suspended() if cell == UNDECLARED_403 else nullcontext()
    with check:
        r = scene.client.request(
            req.method, req.path, params=req.params, json=req.json, headers=scene.headers(user)
        )
    expected = int(str(cell)[:3]) if refused else success_status(scene, op)
    assert r.status_code == expected, (
        f"{op} as {actor}: expected {cell} ({expected}), got {r.status_code}: {r.text[:300]}"
    )
    if refused:
        after = scene.footprint()
        assert after == before, (
            f"{op} as {actor}: the refusal left (stored objects, events) {before} -> {after}"
        )
        return
    if not r.content:
        return
    body = r.json()
    seen = shown(req, body, r.text)
    if cell == OK:
        missing = [t for t in req.targets if t not in seen]
        assert missing == [], f"{op} as {actor}: the answer does not show {missing}"
        return
    leaked = [t for t in req.targets if t in seen]
    assert leaked == [], f"{op} as {actor}: the answer shows {leaked}"
    if actor == "other_org":
        sent = req.text()
        leaked = sorted(s for s in scene.secrets if s in r.text and s not in sent)
        assert leaked == [], f"{op} as {actor}: the answer holds {ORG_A}'s {leaked}"
