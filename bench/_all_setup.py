"""The bench organization of ``bench/all.py``'s databases, made through the services
(``_all_rows`` generates the bulk rows that go with it)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

from _all_data import Meta
from _all_rows import WORKFLOW


def setup(engine: Any, settings: Any, meta: Meta) -> None:
    """Demo seed, then the bench organization through the services: users, app, label
    group, field, workflows, work-request template, one stored file. Each create
    operation the data imitates is also run once and rolled back, to learn which tables
    it writes (``meta.writes``) and the work request's stored form."""
    from sqlalchemy import select

    from cmpapi.server import demo
    from cmpapi.server.db.engine import make_sessionmaker
    from cmpapi.server.demo_planning import TEMPLATE
    from cmpapi.server.identity import service as identity
    from cmpapi.server.oauth import store as oauth
    from cmpapi.server.resources.fields import service as fields
    from cmpapi.server.resources.labels import service as labels
    from cmpapi.server.resources.library import acl
    from cmpapi.server.resources.templates import service as templates
    from cmpapi.server.resources.templates.tables import Template
    from cmpapi.server.resources.workflows import service as workflows
    from cmpapi.wire import SettingsFieldCreateRequest, SettingsTemplate

    with make_sessionmaker(engine)() as session:
        demo.seed(session)
        org = identity.create_organization(session, "Bench All")
        admin = identity.create_user(
            session, org.id, email="admin@bench-all.dev", name="Bench Admin", role="admin"
        )
        member = identity.create_user(
            session, org.id, email="member@bench-all.dev", name="Bench Member", role="member"
        )
        app, _ = oauth.create_app(
            session, org.id, name="Bench All", redirect_uris=[], token_user_id=admin.id
        )
        group = labels.create_label_group(session, org.id, "Bench Campaign", ["Tagged", "Other"])
        payload = SettingsFieldCreateRequest.model_validate(
            {
                "name": "Bench Channel",
                "type": "dropdown",
                "is_multi_select": True,
                "is_active": True,
                "choices": [{"name": n} for n in ("Web", "Email", "Social")],
            }
        ).root
        channel = fields.add_field(session, org.id, payload)
        flows = [
            workflows.create_workflow(session, org.id, f"Bench flow {n}", WORKFLOW)
            for n in ("A", "B")
        ]
        templates.import_templates(
            session, org.id, [SettingsTemplate.model_validate(TEMPLATE)], True
        )
        template = session.scalars(select(Template.id).where(Template.org_id == org.id)).one()
        meta.org_id, meta.admin_id, meta.member_id, meta.app_id = (
            org.id,
            admin.id,
            member.id,
            app.id,
        )
        ids = meta.ids
        ids["label_group"], ids["label"] = group.id, group.values[0].id
        ids["other_label"] = group.values[1].id
        ids["field"] = channel.id
        ids["web"], ids["email"], ids["social"] = (c.id for c in channel.choices)
        ids["workflow"], ids["other_workflow"] = flows[0].id, flows[1].id
        ids["template"] = template
        # The member's grant on the first root folder is made with the tree (no folder yet).
        ids["member_level"] = str(acl.LEVELS["view"])
        session.commit()
        ids["storage_key"], size = _put_object(settings)
        ids["storage_size"] = str(size)
        _learn_writes(session, meta)


def _put_object(settings: Any) -> tuple[str, int]:
    """One small real PNG in the local store, shared by every asset."""
    from PIL import Image

    from cmpapi.server.db.base import new_id
    from cmpapi.server.storage import make_store

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 80, 40)).save(out, "PNG")
    key, data = f"assets/{new_id()}", out.getvalue()
    asyncio.run(make_store(settings).put_bytes(key, data, "image/png"))
    return key, len(data)


class _Undo(Exception):
    pass


def _learn_writes(session: Any, meta: Meta) -> None:
    """Run each imitated create operation once, in a transaction rolled back after
    counting the rows of every table: the tables it wrote are what the generated rows
    must fill (``all.py`` warns about any the generation leaves empty)."""
    from cmpapi.server.authz import Principal
    from cmpapi.server.db.session import one_unit
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.campaigns import service as campaigns
    from cmpapi.server.resources.library import assets, folders
    from cmpapi.server.resources.tasks import service as tasks
    from cmpapi.server.resources.work_requests import service as work_requests
    from cmpapi.server.storage.inspect import UploadedFile
    from cmpapi.wire import (
        CampaignCreateRequest,
        FolderCreateRequest,
        TaskCreateRequest,
        WorkRequestCreateRequest,
    )

    who = Principal(org_id=meta.org_id, user_id=meta.admin_id, role="admin", app_id=meta.app_id)
    links = Links("http://localhost:8000")
    ids = meta.ids
    png = UploadedFile(
        ids["storage_key"], int(ids["storage_size"]), "image/png", "png", "image", 16, 16
    )
    form = {
        "template_id": ids["template"],
        "form_fields": [{"identifier": "title", "type": "text", "values": ["Sample"]}],
    }
    ops: dict[str, Callable[[], Any]] = {
        "createFolder": lambda: folders.create_folder(
            session, who, FolderCreateRequest.model_validate({"name": "Sample"})
        ),
        "createAsset": lambda: assets.create_asset(session, who, links, "Sample", None, png),
        "createTask": lambda: tasks.create_task(
            session,
            who,
            links,
            TaskCreateRequest.model_validate(
                {
                    "title": "Sample",
                    "workflow_id": ids["workflow"],
                    "due_at": "2036-01-01T00:00:00Z",
                }
            ),
        ),
        "createCampaign": lambda: campaigns.create_campaign(
            session, who, links, CampaignCreateRequest.model_validate({"title": "Sample"})
        ),
        "createWorkRequest": lambda: work_requests.create_work_request(
            session, who, links, WorkRequestCreateRequest.model_validate(form), {}
        ),
    }
    for name, op in ops.items():
        before = _row_counts(session)
        try:
            with one_unit(session):
                made = op()
                grown = [t for t, n in _row_counts(session).items() if n > before.get(t, 0)]
                if name == "createWorkRequest":
                    ids["wr_form"] = json.dumps(made.row.form_values)
                raise _Undo
        except _Undo:
            session.rollback()
        meta.writes[name] = sorted(grown)


def _row_counts(session: Any) -> dict[str, int]:
    from sqlalchemy import inspect, text

    names = inspect(session.connection()).get_table_names()
    return {
        n: int(session.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() or 0) for n in names
    }
