"""``/ext/v1/webhooks``: registering webhooks, the delivery log, redelivery and test pings
(admins only; docs/webhooks.md). Bodies are validated strictly (unknown fields are 422)
and errors use the CMP error body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.paging import pagination
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import json_response, no_content
from cmpapi.server.http.router import Router
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import service
from cmpapi.server.webhooks.ssrf import check_callback_url, check_resolves
from cmpapi.server.webhooks.views import attempt_view, delivery_view, webhook_view

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: webhooks"])
ERRORS = error_responses(400, 401, 403, 404, 409, 422)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Strict):
    """``POST /ext/v1/webhooks``."""

    name: str
    callback_url: str
    event_names: list[str]
    secret: str | None = None
    description: str = ""


class WebhookUpdate(_Strict):
    """``PATCH /ext/v1/webhooks/{id}``: only the fields given change (``secret: null``
    removes the secret)."""

    name: str | None = None
    callback_url: str | None = None
    event_names: list[str] | None = None
    secret: str | None = None
    description: str | None = None


class DisableBody(_Strict):
    """``POST /ext/v1/webhooks/{id}/disable`` (the body is optional)."""

    reason: str | None = Field(default=None, max_length=1000)


class RedeliverFailedBody(_Strict):
    """``POST /ext/v1/webhooks/{id}/redeliver-failed``."""

    since: AwareDatetime


class DeliveryQuery(Paging):
    """Filters of the delivery lists."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = None
    event_name: str | None = None
    since: AwareDatetime | None = None


Pages = Annotated[Paging, Depends(query(Paging))]
Deliveries = Annotated[DeliveryQuery, Depends(query(DeliveryQuery))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _admin(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(session, org_id, ...)`` as ``(session, principal, ...)`` for admins only."""

    def call(session: Session, principal: Principal, *args: Any, **kwargs: Any) -> Any:
        require(principal, "webhooks:write")
        return fn(session, principal.org_id, *args, **kwargs)

    return call


def _page(request: Request, links: Links, page: Page[Any], data: list[Any]) -> Response:
    envelope = pagination(request, links, page)
    return json_response(
        {"data": data, "pagination": {"next": envelope.next, "previous": envelope.previous}}
    )


async def _vet_url(url: str | None, settings: Settings) -> None:
    """The DNS half of the URL check (the service does the rest without a lookup)."""
    if url and check_callback_url(url, settings) is None:
        reason = await check_resolves(url, settings)
        if reason is not None:
            raise Invalid("Invalid webhook", {"callback_url": reason})


@router.get("/webhooks", operation_id="extListWebhooks", responses=ERRORS)
async def list_webhooks(request: Request, api: ApiDep, params: Pages) -> Response:
    """The organization's webhooks, oldest first."""

    def work(session: Session, principal: Principal) -> tuple[Page[Any], list[Any]]:
        page = _admin(service.list_webhooks)(session, principal, params.offset, params.page_size)
        return page, [webhook_view(w, api.links) for w in page.items]

    page, data = await api.call(work)
    return _page(request, api.links, page, data)


@router.post("/webhooks", operation_id="extCreateWebhook", status_code=201, responses=ERRORS)
async def create_webhook(request: Request, body: WebhookCreate, api: ApiDep) -> Response:
    """Register a webhook; the answer includes its Standard Webhooks signing key."""
    settings = _settings(request)
    await api.call(_admin(lambda *_: None))  # authorize before any DNS lookup
    await _vet_url(body.callback_url, settings)
    return await api.answer(
        lambda webhook: json_response(webhook_view(webhook, api.links), 201),
        _admin(service.create_webhook),
        **body.model_dump(),
        settings=settings,
    )


@router.get("/webhooks/{webhook_id}", operation_id="extGetWebhook", responses=ERRORS)
async def get_webhook(webhook_id: str, api: ApiDep) -> Response:
    """One webhook."""
    webhook = await api.call(_admin(service.get_webhook), webhook_id)
    return json_response(webhook_view(webhook, api.links))


@router.patch("/webhooks/{webhook_id}", operation_id="extUpdateWebhook", responses=ERRORS)
async def update_webhook(
    request: Request, webhook_id: str, body: WebhookUpdate, api: ApiDep
) -> Response:
    """Change a webhook's name, description, URL, secret or event names."""
    settings = _settings(request)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "callback_url", "event_names", "description"):
        if key in changes and changes[key] is None:
            raise Invalid("Invalid webhook", {key: "May not be null"})
    await api.call(_admin(lambda *_: None))
    await _vet_url(changes.get("callback_url"), settings)
    return await api.answer(
        lambda webhook: json_response(webhook_view(webhook, api.links)),
        _admin(service.update_webhook),
        webhook_id,
        changes,
        settings,
    )


@router.post("/webhooks/{webhook_id}/disable", operation_id="extDisableWebhook", responses=ERRORS)
async def disable_webhook(
    webhook_id: str, api: ApiDep, body: DisableBody | None = None
) -> Response:
    """Stop deliveries; pending ones fail (and can be redelivered later)."""
    reason = body.reason if body else None
    return await api.answer(
        lambda webhook: json_response(webhook_view(webhook, api.links)),
        _admin(service.disable_webhook),
        webhook_id,
        reason,
    )


@router.post("/webhooks/{webhook_id}/enable", operation_id="extEnableWebhook", responses=ERRORS)
async def enable_webhook(webhook_id: str, api: ApiDep) -> Response:
    """Deliver new events again."""
    return await api.answer(
        lambda webhook: json_response(webhook_view(webhook, api.links)),
        _admin(service.enable_webhook),
        webhook_id,
    )


@router.delete(
    "/webhooks/{webhook_id}",
    operation_id="extDeleteWebhook",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
)
async def delete_webhook(webhook_id: str, api: ApiDep) -> Response:
    """Delete a webhook with its delivery log."""
    await api.call(_admin(service.delete_webhook), webhook_id)
    return no_content()


def _deliveries(params: DeliveryQuery, links: Links, **where: Any) -> Callable[..., Any]:
    def work(session: Session, principal: Principal) -> tuple[Page[Any], list[Any]]:
        page = _admin(service.list_deliveries)(
            session,
            principal,
            **where,
            status=params.status,
            event_name=params.event_name,
            since=params.since,
            offset=params.offset,
            page_size=params.page_size,
        )
        return page, [delivery_view(d, links) for d in page.items]

    return work


@router.get(
    "/webhooks/{webhook_id}/deliveries", operation_id="extListWebhookDeliveries", responses=ERRORS
)
async def list_deliveries(
    request: Request, webhook_id: str, api: ApiDep, params: Deliveries
) -> Response:
    """The webhook's deliveries, newest first (filters: status, event_name, since)."""
    page, data = await api.call(_deliveries(params, api.links, webhook_id=webhook_id))
    return _page(request, api.links, page, data)


@router.get(
    "/events/{event_id}/deliveries", operation_id="extListEventDeliveries", responses=ERRORS
)
async def list_event_deliveries(
    request: Request, event_id: str, api: ApiDep, params: Deliveries
) -> Response:
    """Every delivery of one outbox event (one per subscribed webhook)."""
    page, data = await api.call(_deliveries(params, api.links, event_id=event_id))
    return _page(request, api.links, page, data)


@router.get(
    "/webhooks/{webhook_id}/attempts", operation_id="extListWebhookAttempts", responses=ERRORS
)
async def list_attempts(request: Request, webhook_id: str, api: ApiDep, params: Pages) -> Response:
    """Every attempt to the webhook, newest first."""

    def work(session: Session, principal: Principal) -> tuple[Page[Any], list[Any]]:
        page = _admin(service.list_attempts)(
            session,
            principal,
            webhook_id=webhook_id,
            offset=params.offset,
            page_size=params.page_size,
        )
        return page, [attempt_view(a) for a in page.items]

    page, data = await api.call(work)
    return _page(request, api.links, page, data)


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}",
    operation_id="extGetDelivery",
    responses=ERRORS,
)
async def get_delivery(webhook_id: str, delivery_id: str, api: ApiDep) -> Response:
    """One delivery with its body and every attempt (newest first, up to 100)."""

    def work(session: Session, principal: Principal) -> dict[str, Any]:
        delivery = _admin(service.get_delivery)(session, principal, delivery_id)
        if delivery.webhook_id != webhook_id:
            raise NotFound()
        attempts = _admin(service.list_attempts)(
            session, principal, delivery_id=delivery_id, page_size=100
        )
        view = delivery_view(delivery, api.links, body=True)
        return view | {"attempt_log": [attempt_view(a) for a in attempts.items]}

    return json_response(await api.call(work))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id="extRedeliver",
    status_code=202,
    responses=ERRORS,
)
async def redeliver(request: Request, webhook_id: str, delivery_id: str, api: ApiDep) -> Response:
    """Send a delivery again (same body and webhook-id, fresh retry schedule)."""

    def work(session: Session, principal: Principal) -> dict[str, Any]:
        found = _admin(service.get_delivery)(session, principal, delivery_id)
        if found.webhook_id != webhook_id:
            raise NotFound()
        delivery = _admin(service.redeliver)(session, principal, delivery_id, _settings(request))
        return delivery_view(delivery, api.links)

    return await api.answer(lambda view: json_response(view, 202), work)


@router.post(
    "/webhooks/{webhook_id}/redeliver-failed",
    operation_id="extRedeliverFailed",
    status_code=202,
    responses=ERRORS,
)
async def redeliver_failed(
    request: Request, webhook_id: str, body: RedeliverFailedBody, api: ApiDep
) -> Response:
    """Send again every failed delivery of the webhook created since ``since``."""
    return await api.answer(
        lambda count: json_response({"redelivered": count}, 202),
        _admin(service.redeliver_failed),
        webhook_id,
        body.since,
        _settings(request),
    )


@router.post(
    "/webhooks/{webhook_id}/ping", operation_id="extPingWebhook", status_code=202, responses=ERRORS
)
async def ping(webhook_id: str, api: ApiDep) -> Response:
    """Queue a test delivery (event name ``ping``) and return it."""
    return await api.answer(
        lambda delivery: json_response(delivery_view(delivery, api.links), 202),
        _admin(service.send_ping),
        webhook_id,
    )
