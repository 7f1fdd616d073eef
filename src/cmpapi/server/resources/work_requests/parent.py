"""Work requests as a parent of the shared sub-resources: comments and attachments
(``subresources``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.work_requests.service import load_work_request
from cmpapi.server.resources.work_requests.tables import WorkRequest

KIND = "work_request"


def read_work_request(session: Session, principal: Principal, work_request_id: str) -> WorkRequest:
    """The work request, if the caller may read work requests."""
    return load_work_request(session, principal, work_request_id, "read")


def write_work_request(session: Session, principal: Principal, work_request_id: str) -> WorkRequest:
    """The work request, if the caller may change work requests (viewers may not: 403)."""
    return load_work_request(session, principal, work_request_id, "write")


def _comment_changed(
    session: Session, links: Links, owner: Owner, comment_id: str, action: str
) -> None:
    """work_request_comment_added / _modified / _removed (cmp-webhooks.md §2.5): the
    request with its comments link, and the comment (its id only once removed)."""
    url = links.to("getWorkRequest", id=owner.id)
    comments = links.to("listWorkRequestComments", id=owner.id)
    comment: dict[str, object] = {"id": comment_id}
    if action != "removed":
        comment["links"] = {
            "self": links.to(
                "getWorkRequestComment", work_request_id=owner.id, comment_id=comment_id
            )
        }
    data = {
        "work_request": {"id": owner.id, "links": {"self": url, "comments": comments}},
        "comment": comment,
    }
    record_event(session, f"work_request_comment_{action}", data, org_id=owner.org_id)


WORK_REQUEST = Parent(
    kind=KIND,
    get_op="getWorkRequest",
    read=read_work_request,
    write=write_work_request,
    comment_changed=_comment_changed,
)
