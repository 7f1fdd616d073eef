"""Upload bookkeeping: which organization was handed which upload key, and the state of
multipart uploads. Object bytes live in the store, never here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow

NOT_STARTED = "UPLOAD_COMPLETION_NOT_STARTED"
IN_PROGRESS = "UPLOAD_COMPLETION_IN_PROGRESS"
SUCCEEDED = "UPLOAD_COMPLETION_SUCCEEDED"
FAILED = "UPLOAD_COMPLETION_FAILED"


class UploadKey(OrgScoped, Base):
    """A key issued by getUploadUrl. Consumers (createAsset, attachments) accept a key only
    if it was issued to the caller's organization."""

    __tablename__ = "upload_keys"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # End of the upload policy; the uploaded object stays usable after it.
    expires_at: Mapped[datetime]


class MultipartUpload(OrgScoped, Base):
    """One createMultipartUpload: its plan, its key and where completion stands."""

    __tablename__ = "multipart_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    file_size: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(BigInteger)
    part_count: Mapped[int] = mapped_column(Integer)
    # The S3 UploadId (S3 backend); the local backend has none.
    backend_upload_id: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(40), default=NOT_STARTED)
    status_message: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def part_sizes(self) -> list[int]:
        """The expected size of each part, in order (the last one may be smaller)."""
        return planned_part_sizes(self.file_size, self.part_size)


def planned_part_sizes(file_size: int, part_size: int) -> list[int]:
    """Sizes of the parts a file of ``file_size`` bytes is cut into."""
    full, rest = divmod(file_size, part_size)
    return [part_size] * full + ([rest] if rest else [])
