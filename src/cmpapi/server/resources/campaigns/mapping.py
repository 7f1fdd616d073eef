"""Campaign rows -> wire models."""

from __future__ import annotations

from datetime import date
from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.campaigns.service import CampaignView
from cmpapi.server.resources.labels.service import resource_labels
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.wire import CampaignResponse


def reference_id(c: Any) -> str:
    """``CPN-<n>``, the spec's example shape."""
    return f"CPN-{c.number}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def campaign_response(view: CampaignView, links: Links) -> CampaignResponse:
    """createCampaign, getCampaign. ``links.brief`` is ``null`` unless the campaign has a
    brief."""
    c = view.campaign
    budget = (
        {"budgeted_amount": c.budget_amount, "currency_code": c.budget_currency}
        if c.budget_amount is not None and c.budget_currency is not None
        else None
    )
    return CampaignResponse.model_validate(
        {
            "id": c.id,
            "title": c.title,
            "description": c.description,
            "start_date": _day(c.start_date),
            "end_date": _day(c.end_date),
            "created_at": timestamp(c.created_at),
            "is_hidden": c.is_hidden,
            "status": c.status,
            "reference_id": reference_id(c),
            "budget": budget,
            "labels": resource_labels(c.labels, view.labels),
            "links": {
                "self": links.to("getCampaign", id=c.id),
                "brief": links.to("getCampaignBrief", id=c.id) if view.has_brief else None,
                "owner": links.to("getUser", id=c.owner_id) if c.owner_id else None,
                "parent_campaign": links.to("getCampaign", id=c.parent_id) if c.parent_id else None,
                "child_campaigns": [links.to("getCampaign", id=child) for child in view.children],
            },
        }
    )


def campaign_list_item(c: Any, links: Links) -> dict[str, Any]:
    """listCampaigns, as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row or a Campaign. ``owner`` is ``{}`` for a campaign without
    an owner."""
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "start_date": _day(c.start_date),
        "end_date": _day(c.end_date),
        "is_hidden": c.is_hidden,
        "reference_id": reference_id(c),
        "owner": {"id": c.owner_id} if c.owner_id else {},
        "links": {"self": links.to("getCampaign", id=c.id)},
    }
