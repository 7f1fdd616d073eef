"""Brand compliance (tag "Brand Compliance"): listBrandComplianceCategories,
getTaskAssetDraftBrandCompliance, updateTaskAssetDraftBrandCompliance.

The categories and their criteria are a fixed catalogue (``CATALOGUE``, documented in
docs/tasks.md), the same for every organization: the spec has no operation to manage them.
Ids are stable (derived from the names). A review is stored per draft; a draft never
reviewed reads as ``not_reviewed`` with every category and criterion unset (``null``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.tasks.asset_service import latest_draft, load_asset
from cmpapi.server.resources.tasks.asset_tables import (
    TaskAsset,
    TaskAssetBrandCompliance,
    TaskAssetDraft,
)
from cmpapi.wire import TaskAssetDraftBrandComplianceRequest
from cmpapi.wire import (
    TaskAssetDraftBrandComplianceRequestCategoryStatusEnum as CategoryStatus,
)

NOT_REVIEWED = "not_reviewed"
LATEST = "latest"
_IDS = uuid.UUID("6f1d3c52-9b0e-4c47-8a55-2e7b9f0d4a11")


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    criteria: tuple[Criterion, ...]


def _category(name: str, *criteria: tuple[str, str]) -> Category:
    cid = uuid.uuid5(_IDS, name).hex
    return Category(
        cid, name, tuple(Criterion(uuid.uuid5(_IDS, f"{name}/{n}").hex, n, d) for n, d in criteria)
    )


CATALOGUE: tuple[Category, ...] = (
    _category(
        "Logo",
        ("Approved logo version", "Only a logo file from the brand portal is used"),
        ("Clear space", "The clear space around the logo is respected"),
        ("Minimum size", "The logo is not smaller than its minimum size"),
    ),
    _category(
        "Colour",
        ("Brand palette", "Only colours of the brand palette are used"),
        ("Contrast", "Text and background contrast meets WCAG AA"),
    ),
    _category(
        "Typography",
        ("Brand typefaces", "Only the brand typefaces are used"),
        ("Hierarchy", "Headline, body and caption sizes follow the type scale"),
    ),
    _category(
        "Imagery",
        ("Photography style", "Images follow the photography guidelines"),
        ("Rights cleared", "Usage rights and model releases are on file"),
    ),
    _category(
        "Tone of voice",
        ("Brand voice", "Copy follows the tone of voice guidelines"),
        ("Spelling and grammar", "Copy is proofread in the target language"),
    ),
    _category(
        "Legal",
        ("Disclaimers", "Required disclaimers and footnotes are present"),
        ("Trademarks", "Trademark symbols are used as the legal guide says"),
    ),
)
BY_ID = {c.id: c for c in CATALOGUE}


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A draft's review (``row`` None: never reviewed) over the catalogue."""

    row: TaskAssetBrandCompliance | None

    @property
    def status(self) -> str:
        return self.row.status if self.row else NOT_REVIEWED

    @property
    def reviewed_at(self) -> datetime | None:
        return self.row.reviewed_at if self.row else None

    @property
    def reviewed_by(self) -> str | None:
        return self.row.reviewed_by if self.row else None

    def category(self, category_id: str) -> dict[str, Any]:
        """What the reviewer set on a category (``{}`` when nothing)."""
        stored = self.row.categories if self.row else {}
        return dict(stored.get(category_id) or {})


def list_brand_compliance_categories(
    session: Session, principal: Principal, offset: int, size: int
) -> Page[Category]:
    """A page of the catalogue, in its order."""
    require(principal, "tasks:read")
    items = CATALOGUE[offset : offset + size]
    return Page(items, offset, size, offset + size < len(CATALOGUE))


def _draft(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    draft_id: str,
    action: str,
) -> TaskAssetDraft:
    """A draft of the asset, by id or ``latest`` (404 otherwise; articles have none)."""
    asset: TaskAsset = load_asset(session, principal, task_id, asset_id, action)
    if draft_id == LATEST:
        draft = latest_draft(session, asset)
    else:
        draft = session.get(TaskAssetDraft, draft_id)
        if draft is not None and (draft.asset_id != asset.id or draft.org_id != asset.org_id):
            draft = None
    if draft is None:
        raise NotFound()
    return draft


def get_task_asset_draft_brand_compliance(
    session: Session, principal: Principal, task_id: str, asset_id: str, draft_id: str
) -> ReviewView:
    """The review of a draft."""
    draft = _draft(session, principal, task_id, asset_id, draft_id, "read")
    return ReviewView(session.get(TaskAssetBrandCompliance, draft.id))


def _categories(body: TaskAssetDraftBrandComplianceRequest) -> dict[str, Any]:
    """The request's categories by id, checked against the catalogue (errors name
    ``categories.N.id`` and ``categories.N.criteria.M.id``)."""
    out: dict[str, Any] = {}
    for n, item in enumerate(body.categories):
        category = BY_ID.get(item.id)
        if category is None or item.id in out:
            why = "Unknown category" if category is None else "Category given more than once"
            raise Invalid("Invalid brand compliance categories", {f"categories.{n}.id": why})
        known = {c.id for c in category.criteria}
        criteria: dict[str, Any] = {}
        for m, criterion in enumerate(item.criteria):
            if criterion.id not in known or criterion.id in criteria:
                why = (
                    "Not a criterion of this category"
                    if criterion.id not in known
                    else ("Criterion given more than once")
                )
                where = f"categories.{n}.criteria.{m}.id"
                raise Invalid("Invalid brand compliance categories", {where: why})
            criteria[criterion.id] = {
                "selected": criterion.selected,
                "description": criterion.description,
            }
        status = item.status.root if item.status is not None else None
        out[item.id] = {
            "status": status.value if isinstance(status, CategoryStatus) else None,
            "notes": item.notes,
            "criteria": criteria,
        }
    return out


def update_task_asset_draft_brand_compliance(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    draft_id: str,
    body: TaskAssetDraftBrandComplianceRequest,
) -> ReviewView:
    """Replace the review of a draft: categories not given are unset again. ``approved``
    or ``declined`` records the caller and the time as the reviewer; ``not_reviewed``
    clears them."""
    draft = _draft(session, principal, task_id, asset_id, draft_id, "write")
    categories = _categories(body)
    status = str(body.status.value)
    row = session.get(TaskAssetBrandCompliance, draft.id)
    if row is None:
        row = TaskAssetBrandCompliance(draft_id=draft.id, org_id=draft.org_id)
        session.add(row)
    now = utcnow()
    reviewed = status != NOT_REVIEWED
    row.status, row.categories, row.modified_at = status, categories, now
    row.reviewed_at = now if reviewed else None
    row.reviewed_by = principal.user_id if reviewed else None
    session.commit()
    return ReviewView(row)
