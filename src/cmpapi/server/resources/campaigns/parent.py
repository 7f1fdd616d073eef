"""Campaigns as a parent of the shared sub-resources: comments, attachments, a brief and
field values (``subresources``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.campaigns.service import KIND, load_campaign, record_campaign_event
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.subresources.parent import Owner, Parent


def read_campaign(session: Session, principal: Principal, campaign_id: str) -> Campaign:
    """The campaign, if the caller may read campaigns (404 for unknown ids)."""
    return load_campaign(session, principal, campaign_id, "read")


def write_campaign(session: Session, principal: Principal, campaign_id: str) -> Campaign:
    """The campaign, if the caller may change campaigns (viewers may not: 403)."""
    return load_campaign(session, principal, campaign_id, "write")


def _fields_changed(session: Session, links: Links, owner: Owner, _: Sequence[Field]) -> None:
    # The CMP has no campaign field event: field values are the campaign's metadata.
    record_campaign_event(session, links, "campaign_metadata_modified", cast(Campaign, owner))


def _brief_changed(session: Session, links: Links, owner: Owner, action: str) -> None:
    """campaign_brief_added / _modified (with the ``brief`` link) / _removed."""
    refs = {"self": links.to("getCampaign", id=owner.id)}
    if action != "removed":
        refs["brief"] = links.to("getCampaignBrief", id=owner.id)
    data = {"campaign": {"id": owner.id, "links": refs}}
    record_event(session, f"campaign_brief_{action}", data, org_id=owner.org_id)


CAMPAIGN = Parent(
    kind=KIND,
    get_op="getCampaign",
    brief_op="getCampaignBrief",
    fields_op="listCampaignFields",
    read=read_campaign,
    write=write_campaign,
    update_field="updateCampaignField",
    fields_changed=_fields_changed,
    brief_changed=_brief_changed,
)
"""Campaign comments fire no event (the CMP has none for them)."""
