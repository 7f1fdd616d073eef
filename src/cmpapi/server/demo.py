"""Deterministic demo data: the same ids, users and app credentials on every fresh start,
so tutorials and other people's tests can refer to them.

Seeding is idempotent, in parts: the organization with its people, apps, settings and
planning objects; then, when an object store is given, the library (real images with
their renditions, raw files, an article, labels and field values) and the work (tasks in
several states, comments, drafts, a milestone). A part already there is left alone, so a
data directory made by an older version gains the newer parts at its next start, and a
start on a seeded directory costs three primary-key lookups (``demo_seeded``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from cmpapi.server.demo_library import seed_library
from cmpapi.server.demo_planning import seed_planning
from cmpapi.server.demo_publishing import seed_publishing
from cmpapi.server.demo_seeded import seeded
from cmpapi.server.demo_structured import seed_structured_content
from cmpapi.server.demo_task_content import seed_task_content
from cmpapi.server.demo_work import seed_work
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Organization
from cmpapi.server.oauth import store
from cmpapi.server.resources.fields import service as fields
from cmpapi.server.resources.labels import service as labels
from cmpapi.wire import SettingsFieldCreateRequest

if TYPE_CHECKING:
    from cmpapi.server.storage import ObjectStore

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
# The banner's ready-to-open authorization URL: published values, like the secrets above
# (PKCE still binds each code to this verifier; a real client makes a new one per flow).
STATE = "cmpapi-demo"
SCOPE = "openid profile offline_access"

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


CODE_VERIFIER = f"cmpapi-demo-code-verifier-{demo_id('pkce')}"  # RFC 7636: 43-128 chars


@dataclass(frozen=True)
class DemoCredentials:
    """What the demo banner prints: the demo app, a user to sign in as, an authorization
    request ready to open (state and PKCE verifier), and the "Jira" app."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI
    user_email: str = ADMIN_EMAIL
    user_password: str = PASSWORD
    state: str = STATE
    code_verifier: str = CODE_VERIFIER
    jira_client_id: str = JIRA_CLIENT_ID
    jira_client_secret: str = JIRA_CLIENT_SECRET

    @property
    def code_challenge(self) -> str:
        """The verifier's S256 challenge (RFC 7636 4.2)."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def authorize_url(self, base: str) -> str:
        """The demo app's authorization request on the server at ``base``."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{base.rstrip('/')}/o/oauth2/v1/auth?{urlencode(query)}"


def seed(session: Session, store: ObjectStore | None = None) -> DemoCredentials:
    """Create the demo organization once; later calls leave existing data alone. With a
    ``store``, also the library and the work that have files (written there)."""
    _seed_organization(session)
    if store is not None:
        seed_library(session, store, ORG_ID, demo_id)
        seed_work(session, store, ORG_ID, demo_id, JIRA_CLIENT_ID)
    return DemoCredentials()


def _seed_organization(session: Session) -> None:
    if not seeded(session, Organization, ORG_ID):
        identity.create_organization(session, "Demo Organization", id_=ORG_ID)
        for local, name, role in USERS:
            identity.create_user(
                session,
                ORG_ID,
                email=f"{local}@demo.cmpapi.dev",
                name=name,
                password=PASSWORD,
                role=role,
                username=local,
                id_=demo_id(f"user:{local}"),
            )
        for team, members in TEAMS.items():
            identity.create_team(
                session,
                ORG_ID,
                team,
                [demo_id(f"user:{m}") for m in members],
                id_=demo_id(f"team:{team}"),
            )
        store.create_app(
            session,
            ORG_ID,
            name="Demo App",
            redirect_uris=[REDIRECT_URI],
            token_user_id=demo_id("user:ada.admin"),
            expose_email=True,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        store.create_app(
            session,
            ORG_ID,
            name="Jira",
            redirect_uris=[],
            token_user_id=demo_id("user:lea.legal"),
            client_id=JIRA_CLIENT_ID,
            client_secret=JIRA_CLIENT_SECRET,
        )
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


# -- fields and label groups ---------------------------------------------------------------
FIELDS: list[dict[str, Any]] = [  # createField bodies; one field of every type
    {"name": "Headline", "type": "text", "helper_text": "One line, no period"},
    {"name": "Summary", "type": "text_area"},
    {"name": "Body copy", "type": "rich_text"},
    {"name": "Launch date", "type": "date"},
    {"name": "Hero image", "type": "image"},
    {"name": "Teaser video", "type": "video"},
    {
        "name": "Channel",
        "type": "dropdown",
        "is_multi_select": True,
        "choices": [{"name": n} for n in ("Web", "Email", "Social", "Print")],
    },
    {
        "name": "Priority",
        "type": "radio_button",
        "choices": [{"name": n} for n in ("Low", "Medium", "High")],
    },
    {"name": "Audience", "type": "checkbox", "choices": [{"name": n} for n in ("B2B", "B2C")]},
    {
        "name": "Review state",
        "type": "label",
        "is_multi_select": False,
        "choices": [
            {"name": "Draft", "color": "#FFC700"},
            {"name": "Approved", "color": "#5FEEAD"},
            {"name": "Archived", "color": "#9694B3"},
        ],
    },
    {
        "name": "Budget",
        "type": "currency_number",
        "currency_code": "USD",
        "has_thousand_separator": True,
    },
    {"name": "Reach", "type": "simple_number", "decimal_places": 1},
    {"name": "Conversion rate", "type": "percentage_number", "decimal_places": 1},
]
LABEL_GROUPS = {  # name -> (values, single value)
    "Content Pillar": (["Pillar 1", "Pillar 2", "Pillar 3"], False),
    "Region": (["Americas", "APAC", "EMEA"], True),
}


def _seed_fields_and_labels(session: Session) -> None:
    for spec in FIELDS:
        payload = SettingsFieldCreateRequest.model_validate({"is_active": True, **spec}).root
        choices = [demo_id(f"field:{spec['name']}:{c['name']}") for c in spec.get("choices", ())]
        fields.add_field(
            session, ORG_ID, payload, id_=demo_id(f"field:{spec['name']}"), choice_ids=choices
        )
    for name, (values, single) in LABEL_GROUPS.items():
        labels.create_label_group(
            session,
            ORG_ID,
            name,
            values,
            has_single_value=single,
            id_=demo_id(f"label-group:{name}"),
            value_ids=[demo_id(f"label:{name}:{v}") for v in values],
        )


def _seed_renditions(session: Session) -> None:
    from cmpapi.server.resources.library import renditions

    for name, size, fmt, quality in (("thumbnail", 256, "jpeg", 80), ("web", 1600, "webp", 85)):
        renditions.create_config(
            session,
            ORG_ID,
            name=name,
            width=size,
            height=size,
            output_format=fmt,
            quality=quality,
            id_=demo_id(f"rendition:{name}"),
        )


# -- workflows -----------------------------------------------------------------------------
def _user(local: str) -> dict[str, str]:
    return {"type": "user", "id": demo_id(f"user:{local}")}


WORKFLOWS: dict[str, list[dict[str, Any]]] = {
    "Blog post": [
        {
            "name": "Create",
            "duration": 3,
            "sub_steps": [
                {
                    "name": "Write draft",
                    "actions": ["writeEditArticle"],
                    "assignees": [_user("wes.writer")],
                },
                {"name": "Add images", "assignees": [_user("dan.designer")]},
            ],
        },
        {
            "name": "Review",
            "duration": 2,
            "sub_steps": [{"name": "Edit", "assignees": [_user("mia.marketer")]}],
        },
        {"name": "Publish", "duration": 1, "sub_steps": [{"name": "Go live"}]},
    ],
    "Legal review with Jira": [
        {
            "name": "Create",
            "duration": 2,
            "sub_steps": [{"name": "Write", "assignees": [_user("wes.writer")]}],
        },
        {
            "name": "Compliance",
            "duration": 3,
            "sub_steps": [
                {
                    "name": "Jira ticket",
                    "is_external": True,
                    "external_system": "Jira",
                    "is_user_interaction_allowed": True,
                },
                {
                    "name": "Legal approval",
                    "is_external": True,
                    "external_system": "Jira",
                    "is_user_interaction_allowed": False,
                    "assignees": [{"type": "team", "id": demo_id("team:Legal")}],
                },
            ],
        },
        {"name": "Publish", "sub_steps": [{"name": "Go live"}]},
    ],
}


def _seed_workflows(session: Session) -> None:
    from cmpapi.server.resources.workflows import service as workflows

    for name, steps in WORKFLOWS.items():
        for n, step in enumerate(steps):  # stable ids for tutorials
            step["id"] = demo_id(f"workflow:{name}:{n}")
            for m, sub in enumerate(step["sub_steps"]):
                sub["id"] = demo_id(f"workflow:{name}:{n}:{m}")
        workflows.create_workflow(
            session,
            ORG_ID,
            name,
            steps,
            id_=demo_id(f"workflow:{name}"),
            is_asset_approval_enabled=name.startswith("Legal"),
        )
