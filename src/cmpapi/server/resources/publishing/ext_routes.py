"""``/ext/v1/publishing-channels``: what the CMP does from its web app, for tests and
integration developers without a browser (docs/compat.md, Publishing): configuring
webhook channels (admins), and publishing, re-syncing or withdrawing a task's assets on
a channel (admins and members). Bodies are validated strictly; errors use the CMP body.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.errors import Invalid
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.responses import json_response, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.publishing import channels, mapping, service

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: publishing"])
ERRORS = error_responses(400, 401, 403, 404, 422)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelCreate(_Strict):
    """``POST /ext/v1/publishing-channels``."""

    name: str
    disabled: bool = False
    locales: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)


class ChannelUpdate(_Strict):
    """``PATCH /ext/v1/publishing-channels/{channel_id}``: the keys given change."""

    name: str | None = None
    disabled: bool | None = None
    locales: list[str] | None = None
    allowed_domains: list[str] | None = None


class Push(_Strict):
    """``POST .../publish`` and ``.../withdraw``: the task, and optionally which of its
    assets (default: all of them; for a withdrawal, all that are live on the channel)."""

    task_id: str
    asset_ids: list[str] | None = Field(default=None, max_length=1000)


def _all_channels(session: Session, principal: Principal) -> list[dict[str, Any]]:
    page = channels.list_publishing_channels(session, principal, 0, 10_000, channels.CONFIG_COLUMNS)
    return [channels.channel_view(c) for c in page.items]


@router.get("/publishing-channels", operation_id="extListPublishingChannels", responses=ERRORS)
async def ext_list_publishing_channels(api: ApiDep) -> Response:
    """Every channel of the organization with its configuration."""
    return json_response({"data": await api.call(_all_channels)})


@router.post(
    "/publishing-channels",
    operation_id="extCreatePublishingChannel",
    status_code=201,
    responses=ERRORS,
)
async def ext_create_publishing_channel(body: ChannelCreate, api: ApiDep) -> Response:
    """Add a webhook publishing channel (admins)."""
    return await api.answer(
        lambda channel: json_response(channels.channel_view(channel), 201),
        channels.create_channel,
        body.model_dump(),
    )


@router.patch(
    "/publishing-channels/{channel_id}", operation_id="extUpdatePublishingChannel", responses=ERRORS
)
async def ext_update_publishing_channel(
    channel_id: str, body: ChannelUpdate, api: ApiDep
) -> Response:
    """Rename, disable or enable a channel, or change its locales or allowed domains."""
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise Invalid("Invalid channel", {key: "May not be null"})
    return await api.answer(
        lambda channel: json_response(channels.channel_view(channel)),
        channels.update_channel,
        channel_id,
        changes,
    )


async def _push(channel_id: str, body: Push, api: ApiDep, withdraw: bool) -> Response:
    return await api.answer(
        lambda view: wire_response(mapping.event_response(view, api.links), 201),
        service.publish_task,
        api.links,
        channel_id,
        body.task_id,
        body.asset_ids,
        withdraw,
    )


@router.post(
    "/publishing-channels/{channel_id}/publish",
    operation_id="extPublishOnPublishingChannel",
    status_code=201,
    responses=ERRORS,
)
async def ext_publish_on_publishing_channel(channel_id: str, body: Push, api: ApiDep) -> Response:
    """Publish a task's assets on the channel (``asset_published``; assets already live
    there are re-synced: ``asset_synced``). Answers the new publishing event."""
    return await _push(channel_id, body, api, withdraw=False)


@router.post(
    "/publishing-channels/{channel_id}/withdraw",
    operation_id="extWithdrawFromPublishingChannel",
    status_code=201,
    responses=ERRORS,
)
async def ext_withdraw_from_publishing_channel(
    channel_id: str, body: Push, api: ApiDep
) -> Response:
    """Withdraw a task's assets from the channel (``asset_unpublished``). Answers the new
    publishing event."""
    return await _push(channel_id, body, api, withdraw=True)
