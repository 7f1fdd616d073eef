"""An external ticket system (Jira) working a CMP task end to end, over real HTTP.

Two OAuth apps, both through the real token endpoint: the CMP user's app (a member signs
in on the authorization pages, authorization code + PKCE) and the ticket system's app
(client_credentials; its name is the external system's name, its token acts as the app's
token user). The ticket system learns about its work from the outbox (what webhooks would
deliver) and follows the payload's links. Every /v3 response is checked against the spec.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.identity import service as identity
from cmpapi.server.oauth import store
from tests.oauth.flow import TOKEN, Browser, bearer, query_of, s256
from tests.support.tasks import make_workflow
from tests.support.world import World


def outbox(db: Session) -> list[OutboxEvent]:
    """Every recorded event in order of occurrence. ``created_at`` is the outbox's clock
    (microseconds, strictly increasing within a process: ``events.outbox.occurred_now``);
    the live server runs in this process, so the order is exact."""
    db.rollback()  # a fresh snapshot: the server commits in its own sessions
    return list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)))


def since(db: Session, seen: list[OutboxEvent]) -> list[str]:
    """Names of the events recorded since ``seen`` was taken; ``seen`` catches up."""
    rows = outbox(db)
    fresh = rows[len(seen) :]
    assert [r.id for r in rows[: len(seen)]] == [r.id for r in seen], "history changed"
    seen[:] = rows
    return [r.event_name for r in fresh]


def cmp_user_token(http: httpx.Client, world: World) -> dict[str, str]:
    """A member signs in and allows the CMP user's app: code + PKCE, exchanged."""
    browser = Browser(http, world)
    verifier = secrets.token_urlsafe(48)
    params = browser.params(code_challenge=s256(verifier), code_challenge_method="S256")
    page = browser.consent_page(params, who="member@example.com")
    answer = browser.submit(page, action="allow")
    assert answer.status_code == 302, answer.text
    code = query_of(answer.headers["location"])["code"]
    tokens = browser.exchange(code, code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    return bearer(tokens.json()["access_token"])


def ticket_system_token(
    http: httpx.Client, db: Session, world: World
) -> tuple[dict[str, str], str]:
    """The "Jira" app, acting as its own integration user, with a client_credentials token."""
    bot = identity.create_user(db, world.org.id, email="jira-bot@example.com", name="Jira Bot")
    app, secret = store.create_app(
        db, world.org.id, name="Jira", redirect_uris=[], token_user_id=bot.id
    )
    db.commit()
    body = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret}
    r = http.post(TOKEN, data=body)
    assert r.status_code == 200, r.text
    assert "refresh_token" not in r.json()
    return bearer(r.json()["access_token"]), bot.id


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


def test_jira_works_an_external_sub_step(http: httpx.Client, db: Session, world: World) -> None:
    workflow_id = make_workflow(db, world)  # Create | External: Ticket, Legal | Publish
    user = cmp_user_token(http, world)
    jira, bot_id = ticket_system_token(http, db, world)
    seen: list[OutboxEvent] = []

    # The CMP user creates the task and finishes step 1.
    task = ok(
        http.post(
            "/v3/tasks", json={"title": "Spring launch", "workflow_id": workflow_id}, headers=user
        ),
        201,
    )
    assert since(db, seen) == ["task_added"]
    create, external = task["steps"][0], task["steps"][1]
    for sub in create["sub_steps"]:
        ok(http.patch(sub["links"]["self"], json={"is_completed": True}, headers=user))
    assert since(db, seen) == [
        "workflow_sub_step_updated",  # write completed
        "workflow_sub_step_updated",  # review completed
        "workflow_sub_step_updated",
        "external_sub_step_started",  # ticket started
    ]

    # The ticket system gets external_sub_step_started and follows its links.
    started = seen[-1].data
    assert started["external_work"]["external_system"] == "Jira"
    ticket = external["sub_steps"][0]
    assert started["sub_step"]["id"] == ticket["id"]
    work_url = started["sub_step"]["links"]["external_work"]
    assert work_url.startswith(str(http.base_url)) and work_url == ticket["links"]["external_work"]
    sub_step = ok(http.get(started["sub_step"]["links"]["self"], headers=jira))
    assert sub_step["is_external"] and sub_step["is_in_progress"]
    assert ok(http.get(work_url, headers=jira))["identifier"] is None

    # It links its ticket, then reports progress twice: no events.
    link = {
        "identifier": "MKT-42",
        "title": "Spring launch",
        "status": "To Do",
        "url": "https://jira.example.com/browse/MKT-42",
    }
    assert ok(http.patch(work_url, json=link, headers=jira))["external_system"] == "Jira"
    for status in ("In Progress", "In Review"):
        assert ok(http.patch(work_url, json={"status": status}, headers=jira))["status"] == status
    work = ok(http.get(work_url, headers=user))
    assert (work["identifier"], work["status"]) == ("MKT-42", "In Review")
    assert since(db, seen) == []

    # Two-way comments: the ticket system comments, the CMP user replies (replies fire
    # nothing).
    comments_url = f"{ticket['links']['self']}/comments"
    note = ok(
        http.post(comments_url, json={"value": "Review requested in **MKT-42**"}, headers=jira), 201
    )
    assert note["links"]["comment_by"].endswith(f"/users/{bot_id}")
    assert since(db, seen) == ["workflow_sub_step_comment_added", "external_sub_step_comment_added"]
    assert seen[-1].data["comment"]["links"]["self"] == note["links"]["self"]
    ok(
        http.post(
            comments_url, json={"value": "Thanks!", "parent_comment_id": note["id"]}, headers=user
        ),
        201,
    )
    listed = ok(http.get(comments_url, headers=jira))["data"]
    assert [c["value"] for c in listed] == ["Review requested in **MKT-42**", "Thanks!"]
    assert since(db, seen) == []

    # The ticket system completes its sub-step; the task moves on to the legal approval.
    done = ok(http.patch(ticket["links"]["self"], json={"is_completed": True}, headers=jira))
    assert done["is_completed"]
    assert since(db, seen) == [
        "workflow_sub_step_updated",
        "external_sub_step_completed",  # ticket
        "workflow_sub_step_updated",
        "external_sub_step_started",  # legal approval reached
    ]
    legal = external["sub_steps"][1]
    assert seen[-1].data["sub_step"]["id"] == legal["id"]
    now = ok(http.get(f"/v3/tasks/{task['id']}", headers=user))
    assert now["status"] == "In Progress"
    assert [ss["is_in_progress"] for ss in now["steps"][1]["sub_steps"]] == [False, True]

    # The legal approval is deferred to Jira: the CMP user may not complete it.
    refused = http.patch(legal["links"]["self"], json={"is_completed": True}, headers=user)
    assert refused.status_code == 403 and "Jira" in refused.json()["message"]
    assert since(db, seen) == []
    ok(http.patch(legal["links"]["self"], json={"is_completed": True}, headers=jira))
    assert since(db, seen) == ["workflow_sub_step_updated", "external_sub_step_completed"]

    # The CMP user publishes; the task is completed.
    go_live = task["steps"][2]["sub_steps"][0]
    ok(http.patch(go_live["links"]["self"], json={"is_completed": True}, headers=user))
    final = ok(http.get(f"/v3/tasks/{task['id']}", headers=user))
    assert final["status"] == "Completed" and final["is_completed"]
    assert all(s["is_completed"] for s in final["steps"])

    assert [e.event_name for e in outbox(db)] == [
        "task_added",
        "workflow_sub_step_updated",  # write completed
        "workflow_sub_step_updated",  # review completed
        "workflow_sub_step_updated",
        "external_sub_step_started",  # ticket started
        "workflow_sub_step_comment_added",
        "external_sub_step_comment_added",  # Jira's note
        "workflow_sub_step_updated",
        "external_sub_step_completed",  # ticket completed
        "workflow_sub_step_updated",
        "external_sub_step_started",  # legal started
        "workflow_sub_step_updated",
        "external_sub_step_completed",  # legal completed
        "workflow_sub_step_updated",
        "task_metadata_modified",  # go live; task completed
    ]
    statuses = [e.data["status"] for e in outbox(db) if e.event_name == "workflow_sub_step_updated"]
    assert statuses == [
        "completed",
        "completed",
        "started",
        "completed",
        "started",
        "completed",
        "completed",
    ]
