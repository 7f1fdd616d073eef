"""Demo work (``cmpapi serve --demo``): tasks of the "Spring launch" campaign in several
states, and the milestone they lead to.

- "Spring terms and conditions" (workflow "Legal review with Jira"): written, now waiting
  at the external "Jira ticket" sub-step, its ticket linked by the Jira app;
- "Spring hero banner" (workflow "Blog post"): completed; its image has two drafts, with
  comments on them, and the task has comments (one on a sub-step, with a reply);
- "Summer newsletter" (no workflow): not started; "Holiday gift guide": on hold.

Made through the task services as the demo's people (and the Jira app) would through the
API, so the workflow rules and webhook events apply; task ids are stable. The drafts'
files are written to the store first, under keys of their own (an upload's copy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.session import one_unit
from cmpapi.server.demo_seeded import seeded
from cmpapi.server.http.links import Links
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.milestones.tables import Milestone
from cmpapi.server.resources.tasks import asset_comments, asset_service, comments
from cmpapi.server.resources.tasks import service as tasks
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.storage import ObjectStore, UploadedFile
from cmpapi.server.storage.sniff import EXTENSIONS, image_size, sniff
from cmpapi.server.storage.tables import UploadKey
from cmpapi.wire import TaskCreateRequest, TaskExternalWorkRequest, TaskSubStepRequest

LINKS = Links("http://localhost:8000")  # events recorded while seeding name the default URL
DemoId = Callable[[str], str]
MILESTONE = "Spring launch ready"
WAITING = "Spring terms and conditions"
COMPLETED = "Spring hero banner"
NOT_STARTED = "Summer newsletter"
ON_HOLD = "Holiday gift guide"
BANNER = "Hero banner"
TICKET = {
    "identifier": "LEGAL-42",
    "title": "Review the spring terms and conditions",
    "status": "In Progress",
    "url": "https://jira.example.com/browse/LEGAL-42",
}
DONE = TaskSubStepRequest(is_completed=True)


def seed_work(
    session: Session, store: ObjectStore, org_id: str, demo_id: DemoId, jira_client_id: str
) -> None:
    """Seed the tasks and the milestone once (the milestone marks it done); the Jira app
    (``jira_client_id``) links the waiting task's ticket."""
    if seeded(session, Milestone, demo_id(f"milestone:{MILESTONE}")):
        return
    from cmpapi.server.demo_files import drafts  # Pillow: only when seeding

    files = {title: _file(demo_id(f"task-draft:{title}"), data) for title, data in drafts().items()}
    asyncio.run(_write(store, {files[title].key: data for title, data in drafts().items()}))
    people = {
        name: _member(org_id, demo_id(f"user:{name}"))
        for name in ("mia.marketer", "dan.designer", "wes.writer")
    }
    with one_unit(session):
        waiting = _waiting_at_jira(session, people["mia.marketer"], jira_client_id, demo_id)
        done = _completed(session, people, files, demo_id)
        _create(session, people["mia.marketer"], NOT_STARTED, None, demo_id)
        held = _create(session, people["mia.marketer"], ON_HOLD, "Blog post", demo_id)
        tasks.set_task_flag(session, LINKS, org_id, held, "is_on_hold", True)
        _milestone(session, org_id, people["mia.marketer"].user_id, [waiting, done], demo_id)


async def _write(store: ObjectStore, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        await store.put_bytes(key, data)


def _member(org_id: str, user_id: str, app_id: str = "") -> Principal:
    return Principal(org_id=org_id, user_id=user_id, role="member", app_id=app_id)


def _file(file_id: str, data: bytes) -> UploadedFile:
    """What inspecting the uploaded picture would tell (its copy's key: ``assets/<id>``)."""
    mime = sniff(data[:64])
    width, height = image_size(data, mime) or (None, None)
    return UploadedFile(
        key=f"assets/{file_id}",
        size=len(data),
        mime_type=mime,
        file_extension=EXTENSIONS.get(mime),
        kind="image",
        width=width,
        height=height,
    )


def _create(
    session: Session, who: Principal, title: str, workflow: str | None, demo_id: DemoId
) -> str:
    body = {"title": title, "campaign_id": demo_id("campaign:Spring launch")}
    if workflow is not None:
        body["workflow_id"] = demo_id(f"workflow:{workflow}")
    request = TaskCreateRequest.model_validate(body)
    return tasks.create_task(
        session, who, LINKS, request, id_=demo_id(f"task:{title}")
    ).flow.task.id


def _waiting_at_jira(session: Session, mia: Principal, jira_client_id: str, demo_id: DemoId) -> str:
    """Written, then handed to Jira: the external sub-step is started and its ticket
    linked by the Jira app (only its tokens may finish the legal approval after it)."""
    task_id = _create(session, mia, WAITING, "Legal review with Jira", demo_id)
    flow = tasks.load_flow(session, session.get_one(Task, task_id))
    write, ticket = flow.of_step(flow.steps[0])[0], flow.of_step(flow.steps[1])[0]
    tasks.update_task_sub_step(session, mia, LINKS, task_id, write.step_id, write.id, DONE)
    jira_app = session.scalar(select(OAuthApp.id).where(OAuthApp.client_id == jira_client_id))
    if jira_app is None:  # deleted from an older demo data directory: no ticket then
        return task_id
    jira = _member(mia.org_id, demo_id("user:lea.legal"), jira_app)
    work = TaskExternalWorkRequest.model_validate(TICKET)
    tasks.update_task_sub_step_external_work(
        session, jira, task_id, ticket.step_id, ticket.id, work
    )
    return task_id


def _completed(
    session: Session,
    people: dict[str, Principal],
    files: dict[str, UploadedFile],
    demo_id: DemoId,
) -> str:
    """The banner task: two drafts of its image, discussed, then every sub-step done."""
    mia, dan, wes = people["mia.marketer"], people["dan.designer"], people["wes.writer"]
    task_id = _create(session, mia, COMPLETED, "Blog post", demo_id)
    (first, file1), (second, file2) = files.items()
    asset = asset_service.add_asset_to_task(
        session, dan, LINKS, task_id, BANNER, file1, _upload_key(session, dan, first, demo_id)
    ).row
    say = asset_comments.add_comment_to_task_asset
    say(session, mia, task_id, asset.id, "Lovely. Could the sun be a little smaller?", [])
    key = _upload_key(session, dan, second, demo_id)
    asset_service.add_draft_to_task_asset(
        session, dan, LINKS, task_id, asset.id, BANNER, file2, key
    )
    say(session, mia, task_id, asset.id, "Approved, thanks Dan!", [])
    flow = tasks.load_flow(session, session.get_one(Task, task_id))
    edit = flow.of_step(flow.steps[1])[0]
    target = comments.Target(task_id, edit.step_id, edit.id)
    first_comment = comments.add_comment_to_task_sub_step(
        session, mia, LINKS, target, "Copy and banner are final.", None, []
    )[0]
    comments.add_comment_to_task_sub_step(
        session, wes, LINKS, target, "Great, publishing tomorrow.", first_comment.row.id, []
    )
    comments.add_comment_to_task(session, wes, LINKS, task_id, "Thanks all, shipped.", [])
    for step in flow.steps:
        for sub in tasks.load_flow(session, flow.task).of_step(step):
            tasks.update_task_sub_step(session, mia, LINKS, task_id, step.id, sub.id, DONE)
    return task_id


def _upload_key(session: Session, who: Principal, title: str, demo_id: DemoId) -> str:
    """An upload key as getUploadUrl issues it (the file itself went to its copy)."""
    key = demo_id(f"upload:{title}")
    session.add(
        UploadKey(
            key=key,
            org_id=who.org_id,
            user_id=who.user_id,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    session.flush()
    return key


def _milestone(
    session: Session, org_id: str, owner: str, task_ids: list[str], demo_id: DemoId
) -> None:
    """The campaign's milestone, as createMilestone with ``tasks`` makes it."""
    milestone = Milestone(
        id=demo_id(f"milestone:{MILESTONE}"),
        org_id=org_id,
        title=MILESTONE,
        description="Everything the spring launch needs, done",
        due_date=datetime(2031, 2, 25, 17, 0, tzinfo=UTC),
        color="#4C9900",
        campaign_id=demo_id("campaign:Spring launch"),
        created_by=owner,
    )
    session.add(milestone)
    session.flush()
    for task_id in task_ids:
        session.get_one(Task, task_id).milestone_id = milestone.id
    session.flush()
