"""Demo publishing data (``cmpapi serve --demo``): a webhook publishing channel, and a
task of the "Blog post" workflow whose article was published on it, with the publishing
metadata the blog answered (a public URL). Made through the services as Mia Marketer (a
member) would; the channel, the publishing event and its metadata have stable ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.session import one_unit
from cmpapi.server.http.links import Links
from cmpapi.server.resources.publishing import channels, loop
from cmpapi.server.resources.publishing.tables import PublishingMetadata
from cmpapi.server.resources.tasks import metadata_service
from cmpapi.server.resources.tasks import service as tasks
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.wire import TaskCreateRequest, TaskSubStepRequest

LINKS = Links("http://localhost:8000")  # events recorded while seeding name the default URL
CHANNEL = "Company blog"
TITLE = "Spring launch announcement"
ARTICLE = "<h1>Spring is here</h1><p>Our spring collection launches on March 1.</p>"
PUBLIC_URL = "https://blog.example.com/spring-launch"


def seed_publishing(
    session: Session, org_id: str, member_id: str, demo_id: Callable[[str], str]
) -> None:
    """Seed the publishing objects into the demo organization (one transaction with the
    caller's: the services' commits only flush here)."""
    with one_unit(session):
        _seed(session, org_id, member_id, demo_id)


def _seed(session: Session, org_id: str, member_id: str, demo_id: Callable[[str], str]) -> None:
    mia = Principal(org_id=org_id, user_id=member_id, role="member", app_id="")
    channel = channels.add_channel(
        session, org_id, CHANNEL, id_=demo_id(f"publishing-channel:{CHANNEL}"), locales=["en"]
    )
    body = TaskCreateRequest(title=TITLE, workflow_id=demo_id("workflow:Blog post"))
    task = tasks.create_task(session, mia, LINKS, body).flow.task
    article = _article(session, task.id, org_id, member_id)
    done = TaskSubStepRequest(is_completed=True)
    for step in tasks.load_flow(session, task).steps:  # the whole workflow, Publish included
        for sub in tasks.load_flow(session, task).of_step(step):
            tasks.update_task_sub_step(session, mia, LINKS, task.id, step.id, sub.id, done)
    # Published on the blog as `cmpapi publishing publish` does, with a stable event id;
    # the intent then finds the task published there already.
    pushed = loop.publish(
        session,
        LINKS,
        channel,
        task,
        [article],
        member_id,
        event_id=demo_id(f"publishing-event:{TITLE}"),
    )
    metadata_service.create_task_publishing_intent(session, mia, LINKS, task.id, channel.id)
    session.add(
        PublishingMetadata(
            id=demo_id(f"publishing-metadata:{TITLE}"),
            org_id=org_id,
            event_id=pushed.event.id,
            asset_id=article.id,
            asset_type="article",
            status="published",
            locale="en",
            public_url=PUBLIC_URL,
            status_message="Live on the company blog",
            publishing_destination_updated_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        )
    )
    session.flush()


def _article(session: Session, task_id: str, org_id: str, member_id: str) -> TaskAsset:
    """The task's article (the API makes articles only by forking library ones)."""
    article = TaskAsset(
        org_id=org_id,
        task_id=task_id,
        type="article",
        title=TITLE,
        mime_type="text/html",
        html_body=ARTICLE,
        labels=[],
        created_by=member_id,
    )
    session.add(article)
    session.flush()
    return article
