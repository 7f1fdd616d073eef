"""Demo task structured content (``cmpapi serve --demo``): a landing page of the demo's
"Article" content type in the task made from the "Product launch blog post" work request,
added by Mia Marketer through the task service (a stable id). ``cmpapi tasks preview
<task> <content>`` then asks for its preview."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.session import one_unit
from cmpapi.server.http.links import Links
from cmpapi.server.resources.structured_content import task_contents
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import TaskStructuredContentCreateRequest

LINKS = Links("http://localhost:8000")  # events recorded while seeding name the default URL
TASK_TITLE = "Product launch blog post"
TITLE = "Product launch landing page"


def _text(value: str, locale: str = "en_US") -> list[dict[str, object]]:
    return [{"locale": locale, "field_values": [{"text_value": value}]}]


def seed_task_content(
    session: Session, org_id: str, member_id: str, demo_id: Callable[[str], str]
) -> None:
    """Add the landing page to the demo task: one transaction with the caller's."""
    task = session.scalars(
        select(Task).where(Task.org_id == org_id, Task.title == TASK_TITLE)
    ).one()
    mia = Principal(org_id=org_id, user_id=member_id, role="member", app_id="")
    fields = {
        "title": [*_text(TITLE), *_text("Page de lancement", "fr_FR")],
        "summary": _text("Everything new in the spring line, on one page"),
        "topics": [{"locale": "en_US", "field_values": [{"choice_key": "product"}]}],
    }
    body = TaskStructuredContentCreateRequest.model_validate(
        {"content_type_guid": demo_id("sc-type:Article"), "title": TITLE, "fields": fields}
    )
    with one_unit(session):
        task_contents.add_structured_content_to_task(
            session, mia, LINKS, task.id, body, fields, content_id=demo_id(f"sc-content:{TITLE}")
        )
