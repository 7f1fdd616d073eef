"""Deterministic demo data: the same ids, users and app credentials on every fresh start,
so tutorials and other people's tests can refer to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.demo_planning import seed_planning
from cmpapi.server.demo_publishing import seed_publishing
from cmpapi.server.demo_structured import seed_structured_content
from cmpapi.server.demo_task_content import seed_task_content
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Organization
from cmpapi.server.oauth import store
from cmpapi.server.resources.fields import service as fields
from cmpapi.server.resources.labels import service as labels
from cmpapi.wire import SettingsFieldCreateRequest

_NS = uuid.UUID("6f1c3a52-5d2e-4c7e-9a51-0c6d8f0e2b11")

CLIENT_ID = "cmpapi-demo-app"
CLIENT_SECRET = "cmpapi-demo-secret-do-not-use-in-production"  # noqa: S105 - published demo value
REDIRECT_URI = "http://localhost:3000/callback"
PASSWORD = "demo-password"  # noqa: S105 - published demo value
ADMIN_EMAIL = "ada.admin@demo.cmpapi.dev"
# An app named like the demo workflow's external system: its client_credentials tokens
# may complete the deferred legal approval (docs/tasks.md).
JIRA_CLIENT_ID = "cmpapi-demo-jira"
JIRA_CLIENT_SECRET = "cmpapi-demo-jira-secret-do-not-use-in-production"  # noqa: S105

USERS = [  # (email local part, name, role)
    ("ada.admin", "Ada Admin", "admin"),
    ("mia.marketer", "Mia Marketer", "member"),
    ("dan.designer", "Dan Designer", "member"),
    ("wes.writer", "Wes Writer", "member"),
    ("lea.legal", "Lea Legal", "member"),
    ("val.viewer", "Val Viewer", "viewer"),
]
TEAMS = {
    "Marketing": ["mia.marketer", "wes.writer"],
    "Design": ["dan.designer"],
    "Legal": ["lea.legal", "ada.admin"],
}


def demo_id(name: str) -> str:
    """A stable 32-hex id for a named demo object."""
    return uuid.uuid5(_NS, name).hex


ORG_ID = demo_id("organization")


@dataclass(frozen=True)
class DemoCredentials:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI
    user_email: str = ADMIN_EMAIL
    user_password: str = PASSWORD


def seed(session: Session) -> DemoCredentials:
    """Create the demo organization once; later calls leave existing data alone."""
    if session.get(Organization, ORG_ID) is None:
        identity.create_organization(session, "Demo Organization", id_=ORG_ID)
        for local, name, role in USERS:
            identity.create_user(
                session, ORG_ID, email=f"{local}@demo.cmpapi.dev", name=name,
                password=PASSWORD, role=role, username=local, id_=demo_id(f"user:{local}"),
            )  # fmt: skip
        for team, members in TEAMS.items():
            identity.create_team(
                session, ORG_ID, team, [demo_id(f"user:{m}") for m in members],
                id_=demo_id(f"team:{team}"),
            )  # fmt: skip
        store.create_app(
            session, ORG_ID, name="Demo App", redirect_uris=[REDIRECT_URI],
            token_user_id=demo_id("user:ada.admin"), expose_email=True,
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        )  # fmt: skip
        store.create_app(
            session, ORG_ID, name="Jira", redirect_uris=[], token_user_id=demo_id("user:lea.legal"),
            client_id=JIRA_CLIENT_ID, client_secret=JIRA_CLIENT_SECRET,
        )  # fmt: skip
        _seed_fields_and_labels(session)
        _seed_renditions(session)
        _seed_workflows(session)
        seed_planning(session, ORG_ID, demo_id("user:mia.marketer"), demo_id)
        seed_publishing(session, ORG_ID, demo_id("user:mia.marketer"), demo_id)
        seed_structured_content(
            session, ORG_ID, demo_id("user:ada.admin"), demo_id("user:mia.marketer"), demo_id
        )
        seed_task_content(session, ORG_ID, demo_id("user:mia.marketer"), demo_id)
        session.commit()
    return DemoCredentials()


# -- fields and label groups ---------------------------------------------------------------
FIELDS: list[dict[str, Any]] = [  # createField bodies; one field of every type
    {"name": "Headline", "type": "text", "helper_text": "One line, no period"},
    {"name": "Summary", "type": "text_area"},
    {"name": "Body copy", "type": "rich_text"},
    {"name": "Launch date", "type": "date"},
    {"name": "Hero image", "type": "image"},
    {"name": "Teaser video", "type": "video"},
    {"name": "Channel", "type": "dropdown", "is_multi_select": True,
     "choices": [{"name": n} for n in ("Web", "Email", "Social", "Print")]},
    {"name": "Priority", "type": "radio_button",
     "choices": [{"name": n} for n in ("Low", "Medium", "High")]},
    {"name": "Audience", "type": "checkbox", "choices": [{"name": n} for n in ("B2B", "B2C")]},
    {"name": "Review state", "type": "label", "is_multi_select": False,
     "choices": [{"name": "Draft", "color": "#FFC700"}, {"name": "Approved", "color": "#5FEEAD"},
                 {"name": "Archived", "color": "#9694B3"}]},
    {"name": "Budget", "type": "currency_number", "currency_code": "USD",
     "has_thousand_separator": True},
    {"name": "Reach", "type": "simple_number", "decimal_places": 1},
    {"name": "Conversion rate", "type": "percentage_number", "decimal_places": 1},
]  # fmt: skip
LABEL_GROUPS = {  # name -> (values, single value)
    "Content Pillar": (["Pillar 1", "Pillar 2", "Pillar 3"], False),
    "Region": (["Americas", "APAC", "EMEA"], True),
}


def _seed_fields_and_labels(session: Session) -> None:
    for spec in FIELDS:
        payload = SettingsFieldCreateRequest.model_validate({"is_active": True, **spec}).root
        choices = [demo_id(f"field:{spec['name']}:{c['name']}") for c in spec.get("choices", ())]
        fields.add_field(session, ORG_ID, payload, id_=demo_id(f"field:{spec['name']}"),
                         choice_ids=choices)  # fmt: skip
    for name, (values, single) in LABEL_GROUPS.items():
        labels.create_label_group(
            session, ORG_ID, name, values, has_single_value=single,
            id_=demo_id(f"label-group:{name}"),
            value_ids=[demo_id(f"label:{name}:{v}") for v in values],
        )  # fmt: skip


def _seed_renditions(session: Session) -> None:
    from cmpapi.server.resources.library import renditions

    for name, size, fmt, quality in (("thumbnail", 256, "jpeg", 80), ("web", 1600, "webp", 85)):
        renditions.create_config(
            session, ORG_ID, name=name, width=size, height=size, output_format=fmt,
            quality=quality, id_=demo_id(f"rendition:{name}"),
        )  # fmt: skip


# -- workflows -----------------------------------------------------------------------------
def _user(local: str) -> dict[str, str]:
    return {"type": "user", "id": demo_id(f"user:{local}")}


WORKFLOWS: dict[str, list[dict[str, Any]]] = {
    "Blog post": [
        {"name": "Create", "duration": 3, "sub_steps": [
            {"name": "Write draft", "actions": ["writeEditArticle"],
             "assignees": [_user("wes.writer")]},
            {"name": "Add images", "assignees": [_user("dan.designer")]}]},
        {"name": "Review", "duration": 2, "sub_steps": [
            {"name": "Edit", "assignees": [_user("mia.marketer")]}]},
        {"name": "Publish", "duration": 1, "sub_steps": [{"name": "Go live"}]},
    ],
    "Legal review with Jira": [
        {"name": "Create", "duration": 2, "sub_steps": [
            {"name": "Write", "assignees": [_user("wes.writer")]}]},
        {"name": "Compliance", "duration": 3, "sub_steps": [
            {"name": "Jira ticket", "is_external": True, "external_system": "Jira",
             "is_user_interaction_allowed": True},
            {"name": "Legal approval", "is_external": True, "external_system": "Jira",
             "is_user_interaction_allowed": False,
             "assignees": [{"type": "team", "id": demo_id("team:Legal")}]}]},
        {"name": "Publish", "sub_steps": [{"name": "Go live"}]},
    ],
}  # fmt: skip


def _seed_workflows(session: Session) -> None:
    from cmpapi.server.resources.workflows import service as workflows

    for name, steps in WORKFLOWS.items():
        for n, step in enumerate(steps):  # stable ids for tutorials
            step["id"] = demo_id(f"workflow:{name}:{n}")
            for m, sub in enumerate(step["sub_steps"]):
                sub["id"] = demo_id(f"workflow:{name}:{n}:{m}")
        workflows.create_workflow(session, ORG_ID, name, steps, id_=demo_id(f"workflow:{name}"),
                                  is_asset_approval_enabled=name.startswith("Legal"))  # fmt: skip
