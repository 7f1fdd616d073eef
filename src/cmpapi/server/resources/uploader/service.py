"""Uploads (tag "Uploader"): upload keys for presigned POST forms, and multipart uploads.

Sync functions take ``(session, principal, ...)`` and run in one ``api.call``.
``assemble_multipart`` is the async completion step, run by the ``uploads.assemble`` job
that completeMultipartUpload enqueues (durable: a crash mid-way retries it; idempotent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Update, update
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.http.deps import Db
from cmpapi.server.jobs import JobContext, enqueue, job_handler
from cmpapi.server.storage import store_for
from cmpapi.server.storage.base import MultipartTarget, ObjectStore
from cmpapi.server.storage.inspect import SessionRunner
from cmpapi.server.storage.tables import (
    FAILED,
    IN_PROGRESS,
    NOT_STARTED,
    SUCCEEDED,
    MultipartUpload,
    UploadKey,
    planned_part_sizes,
)

ASSEMBLE_JOB = "uploads.assemble"
log = logging.getLogger("cmpapi.uploads")
MAX_PARTS = 10_000
# How many offending part numbers a status message lists.
_LISTED = 10


@dataclass(frozen=True, slots=True)
class MultipartPlan:
    """How a file is cut into parts."""

    file_size: int
    part_size: int
    part_sizes: list[int]


def plan_multipart(file_size: int, part_size: int) -> MultipartPlan:
    """The parts of a ``file_size`` file; Invalid (422) beyond 10,000 parts.

    ``file_size`` and ``part_size`` bounds are checked by the request model (spec limits).
    """
    sizes = planned_part_sizes(file_size, part_size)
    if len(sizes) > MAX_PARTS:
        needed = -(-file_size // MAX_PARTS)
        message = f"{len(sizes)} parts exceed the limit of {MAX_PARTS}; use part_size >= {needed}"
        raise Invalid(message, {"part_size": message})
    return MultipartPlan(file_size, part_size, sizes)


def _updated(session: Session, stmt: Update) -> int:
    """Run an UPDATE; how many rows it changed."""
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


def issue_upload_key(
    session: Session, principal: Principal, key: str, expires_at: datetime
) -> UploadKey:
    """Record that ``key`` was handed to the caller's organization (getUploadUrl)."""
    require(principal, "uploads:write")
    row = UploadKey(
        org_id=principal.org_id, key=key, user_id=principal.user_id, expires_at=expires_at
    )
    session.add(row)
    session.commit()
    return row


def create_multipart_upload(
    session: Session,
    principal: Principal,
    upload_id: str,
    key: str,
    plan: MultipartPlan,
    expires_at: datetime,
) -> MultipartUpload:
    """Record a new multipart upload of the caller's organization (createMultipartUpload)."""
    require(principal, "uploads:write")
    row = MultipartUpload(
        id=upload_id,
        org_id=principal.org_id,
        key=key,
        user_id=principal.user_id,
        file_size=plan.file_size,
        part_size=plan.part_size,
        part_count=len(plan.part_sizes),
        status=NOT_STARTED,
        expires_at=expires_at,
    )
    session.add(row)
    session.commit()
    return row


def set_backend_upload_id(
    session: Session, principal: Principal, upload_id: str, backend_upload_id: str
) -> MultipartUpload:
    """Attach the storage backend's own upload id (S3 UploadId)."""
    row = Repository(MultipartUpload, session, principal.org_id).get(upload_id)
    row.backend_upload_id = backend_upload_id
    session.commit()
    return row


def get_multipart_upload(session: Session, principal: Principal, upload_id: str) -> MultipartUpload:
    """One multipart upload of the caller's organization (getMultipartUploadStatus)."""
    require(principal, "uploads:read")
    return Repository(MultipartUpload, session, principal.org_id).get(upload_id)


def begin_completion(
    session: Session, principal: Principal, upload_id: str
) -> tuple[MultipartUpload, bool]:
    """Move an upload to IN_PROGRESS (completeMultipartUpload). Returns the row and whether
    this call started the completion: completing again while it runs, or after it
    succeeded, changes nothing (clients retry); after FAILED it starts over."""
    require(principal, "uploads:write")
    row = Repository(MultipartUpload, session, principal.org_id).get(upload_id)
    if row.status in (IN_PROGRESS, SUCCEEDED):
        return row, False
    if row.expires_at <= datetime.now(UTC):
        raise Invalid("The multipart upload has expired", {"id": "The upload has expired"})
    # Conditional: of two concurrent completions exactly one starts the assembly.
    started = _updated(
        session,
        update(MultipartUpload)
        .where(MultipartUpload.id == row.id, MultipartUpload.status.in_((NOT_STARTED, FAILED)))
        .values(status=IN_PROGRESS, status_message=None, modified_at=utcnow()),
    )
    if started == 1:
        enqueue(session, ASSEMBLE_JOB, {"upload_id": row.id}, org_id=row.org_id)
    session.commit()
    session.refresh(row)
    return row, started == 1


# -- assembly (the job-handler entry point) ---------------------------------------------
@dataclass(frozen=True, slots=True)
class Assembly:
    """What assembling one upload needs, read in one unit of work."""

    target: MultipartTarget
    file_size: int
    part_sizes: list[int]


def load_assembly(session: Session, upload_id: str) -> Assembly | None:
    """The upload to assemble, or None unless its completion is in progress."""
    row = session.get(MultipartUpload, upload_id)
    if row is None or row.status != IN_PROGRESS:
        return None
    target = MultipartTarget(row.id, row.key, row.backend_upload_id)
    return Assembly(target, row.file_size, row.part_sizes())


def finish_assembly(session: Session, upload_id: str, status: str, message: str | None) -> bool:
    """Record the outcome, unless another run already did (only IN_PROGRESS moves)."""
    done = _updated(
        session,
        update(MultipartUpload)
        .where(MultipartUpload.id == upload_id, MultipartUpload.status == IN_PROGRESS)
        .values(status=status, status_message=message, modified_at=utcnow()),
    )
    session.commit()
    return done == 1


def part_problems(received: dict[int, int], expected: list[int]) -> str | None:
    """Why the received parts cannot be assembled, or None."""
    missing = [n for n in range(1, len(expected) + 1) if n not in received]
    if missing:
        listed = ", ".join(map(str, missing[:_LISTED]))
        more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
        return f"Missing parts: {listed}{more}"
    wrong = [n for n, size in enumerate(expected, 1) if received[n] != size]
    if wrong:
        n = wrong[0]
        more = f"; {len(wrong) - 1} more part(s) of the wrong size" if len(wrong) > 1 else ""
        return f"Part {n} has {received[n]} bytes, expected {expected[n - 1]}{more}"
    return None


@job_handler(ASSEMBLE_JOB, timeout=3600)
async def assemble_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The job of completeMultipartUpload: assemble in the worker, not the request."""
    db = Db(ctx.db, ctx.sessionmaker)
    await assemble_multipart(store_for(ctx.settings), db, str(payload["upload_id"]))


async def assemble_multipart(store: ObjectStore, db: SessionRunner, upload_id: str) -> str | None:
    """Check the parts of an upload whose completion began, assemble them into its key and
    record SUCCEEDED or FAILED (with ``status_message``). Returns the recorded status, or None
    when there was nothing to do. Safe to run twice (job retries)."""
    assembly = await db.run(load_assembly, upload_id)
    if assembly is None:
        return None
    try:
        problem = part_problems(await store.list_parts(assembly.target), assembly.part_sizes)
        if problem is None:
            meta = await store.complete_multipart(assembly.target, len(assembly.part_sizes))
            if meta.size != assembly.file_size:
                problem = f"Assembled {meta.size} bytes, expected {assembly.file_size}"
                await store.delete(meta.key)
    except Exception:
        log.exception("assembling multipart upload %s failed", upload_id)
        problem = "The parts could not be assembled; complete the upload again"
    status = FAILED if problem else SUCCEEDED
    await db.run(finish_assembly, upload_id, status, problem)
    return status
