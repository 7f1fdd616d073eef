"""Deleting a work request, as the CMP web app does and the API cannot
(``work_request_removed``; served under /ext/v1 by ``server/ext/web_app.py``). The tasks
and campaigns started from it stay: they are work of their own."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources import service as subresources
from cmpapi.server.resources.work_requests.parent import WORK_REQUEST
from cmpapi.server.resources.work_requests.service import load_work_request
from cmpapi.server.resources.work_requests.tables import WorkRequestFile


def delete_work_request(
    session: Session, principal: Principal, _links: Links, work_request_id: str
) -> list[str]:
    """Delete the work request with its files, comments, attachments and related-resource
    rows (``work_requests:delete``: admins and members); records ``work_request_removed``
    (``{"work_request": {"id"}}``, like ``task_removed``). Returns the storage keys to
    delete once committed."""
    wr = load_work_request(session, principal, work_request_id, "delete")
    keys = list(
        session.scalars(
            select(WorkRequestFile.storage_key).where(WorkRequestFile.work_request_id == wr.id)
        )
    )
    keys += subresources.purge(session, WORK_REQUEST, wr.org_id, wr.id)
    data = {"work_request": {"id": wr.id}}
    record_event(session, "work_request_removed", data, org_id=wr.org_id)
    session.delete(wr)
    session.commit()
    return sorted(set(keys))
