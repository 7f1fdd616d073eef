"""Task assets (tag "Tasks") and brand compliance (tag "Brand Compliance"): listTaskAssets,
addAssetToTask, getTaskImage/Video/RawFile/Article, listTaskAssetDrafts, addDraftToTaskAsset,
listTaskAssetComments, addCommentToTaskAsset, listTaskAssetFields, updateTaskAssetFields,
listBrandComplianceCategories, get/updateTaskAssetDraftBrandCompliance.

Handlers that take files copy them between the service's check and its write, and delete
the copies when the write fails (``files.or_remove``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeAlias

import orjson
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from cmpapi.server.errors import BadRequest, Invalid
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.bounds import check_body
from cmpapi.server.http.deps import Api
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.library import files
from cmpapi.server.resources.tasks import asset_brand_compliance as compliance
from cmpapi.server.resources.tasks import asset_comments as comments
from cmpapi.server.resources.tasks import asset_mapping as mapping
from cmpapi.server.resources.tasks import asset_service as service
from cmpapi.server.resources.tasks.asset_events import asset_self
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.wire import (
    AssetFieldListResponseItem,
    CommentCreateRequest,
    ListBrandComplianceCategoriesParametersQuery,
    ListBrandComplianceCategoriesResponse,
    ListTaskAssetCommentsResponse,
    ListTaskAssetDraftsResponse,
    ListTaskAssetFieldsResponse,
    ListTaskAssetsParametersQuery,
    ListTaskAssetsResponse,
    TaskArticle,
    TaskAssetCommentResponse,
    TaskAssetDraftBrandComplianceRequest,
    TaskAssetDraftBrandComplianceResponse,
    TaskAssetDraftResponse,
    TaskAssetFieldsUpdateRequest,
    TaskAssetRequest,
    TaskAssetRequestForDirectUpload,
    TaskAssetRequestForLibrary,
    TaskAssetResponse,
    TaskImage,
    TaskRawFile,
    TaskVideo,
)

router = Router(tags=["Tasks"])
ASSET = "/tasks/{task_id}/assets/{asset_id}"
BRAND = ASSET + "/drafts/{draft_id}/brand-compliance"
AssetRequest: TypeAlias = TaskAssetRequestForDirectUpload | TaskAssetRequestForLibrary
PagingQuery = Annotated[Paging, Depends(query(Paging))]


async def asset_request(request: Request) -> AssetRequest:
    """The ``TaskAssetRequest`` body. Its ``type`` may be left out and then means
    ``direct_upload`` (the spec's description); the generated model's discriminator
    requires it, so the default is filled in before validation."""
    raw_body = await request.body()
    try:
        raw = orjson.loads(raw_body) if raw_body else None
    except orjson.JSONDecodeError:
        raise BadRequest("Request body is not valid JSON") from None
    if isinstance(raw, dict) and "type" not in raw:
        raw = {**raw, "type": "direct_upload"}
    try:
        return check_body(TaskAssetRequest.model_validate(raw)).root
    except ValidationError as exc:
        details = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(details, body=raw) from None


AssetBody = Annotated[AssetRequest, Depends(asset_request)]


# -- assets ------------------------------------------------------------------------------


@router.get(
    "/tasks/{id}/assets",
    operation_id="listTaskAssets",
    response_model=ListTaskAssetsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_assets(
    request: Request,
    id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: Annotated[ListTaskAssetsParametersQuery, Depends(query(ListTaskAssetsParametersQuery))],
) -> Response:
    """The task's assets, in the order they were added."""
    page, views = await api.call(service.list_task_assets, id, params.offset, params.page_size)
    data = [mapping.task_asset_item(v, api.links, sign) for v in views]
    return page_response(ListTaskAssetsResponse, request, api.links, page, data)


async def _fork(
    request: Request,
    api: Api,
    task_id: str,
    body: TaskAssetRequestForLibrary,
    answer: Callable[[service.TaskAssetView], Response],
) -> Response:
    source = await api.call(service.fork_source, task_id, body.content_id, body.content_type.value)
    copied = await files.duplicate(request, source.file.key) if source.file else None
    work = api.answer(answer, service.fork_library_asset, api.links, task_id, source, copied)
    return await files.or_remove(request, [copied] if copied else [], work)


@router.post(
    "/tasks/{id}/assets",
    operation_id="addAssetToTask",
    status_code=201,
    response_model=TaskAssetResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_asset_to_task(
    request: Request, id: str, body: AssetBody, api: ApiDep, sign: files.SignerDep
) -> Response:
    """Add an uploaded file (``direct_upload``, the default) or a copy of a library asset
    (``fork_from_library``) to the task."""

    def answer(view: service.TaskAssetView) -> Response:
        return wire_response(mapping.task_asset_response(view, api.links, sign), 201)

    if isinstance(body, TaskAssetRequestForLibrary):
        return await _fork(request, api, id, body, answer)
    await api.call(service.check_direct_upload, id, body.key)
    stored = await files.claim(request, api, body.key)
    work = api.answer(
        answer, service.add_asset_to_task, api.links, id, body.title, stored, body.key
    )
    return await files.or_remove(request, [stored.key], work)


async def _typed(api: Api, sign: files.Signer, type_: str, task_id: str, asset_id: str) -> Response:
    view = await api.call(service.get_task_asset, task_id, asset_id, type_)
    return wire_response(mapping.BY_TYPE[type_](view, api.links, sign))


@router.get(
    "/tasks/{task_id}/images/{image_id}",
    operation_id="getTaskImage",
    response_model=TaskImage,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_image(
    task_id: str, image_id: str, api: ApiDep, sign: files.SignerDep
) -> Response:
    """An image of the task."""
    return await _typed(api, sign, "image", task_id, image_id)


@router.get(
    "/tasks/{task_id}/videos/{video_id}",
    operation_id="getTaskVideo",
    response_model=TaskVideo,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_video(
    task_id: str, video_id: str, api: ApiDep, sign: files.SignerDep
) -> Response:
    """A video of the task."""
    return await _typed(api, sign, "video", task_id, video_id)


@router.get(
    "/tasks/{task_id}/raw-files/{raw_file_id}",
    operation_id="getTaskRawFile",
    response_model=TaskRawFile,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_raw_file(
    task_id: str, raw_file_id: str, api: ApiDep, sign: files.SignerDep
) -> Response:
    """A raw file of the task."""
    return await _typed(api, sign, "raw_file", task_id, raw_file_id)


@router.get(
    "/tasks/{task_id}/articles/{article_id}",
    operation_id="getTaskArticle",
    response_model=TaskArticle,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_article(
    task_id: str, article_id: str, api: ApiDep, sign: files.SignerDep
) -> Response:
    """An article of the task, with its public URL once it is published."""
    view, url = await api.call(service.get_task_article, task_id, article_id)
    return wire_response(mapping.task_article(view, api.links, sign, url))


# -- drafts ------------------------------------------------------------------------------


@router.get(
    ASSET + "/drafts",
    operation_id="listTaskAssetDrafts",
    response_model=ListTaskAssetDraftsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_asset_drafts(
    request: Request,
    task_id: str,
    asset_id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: PagingQuery,
) -> Response:
    """The asset's drafts, draft 1 first."""
    asset, page = await api.call(
        service.list_task_asset_drafts, task_id, asset_id, params.offset, params.page_size
    )
    data = [mapping.draft_item(asset, d, api.links, sign) for d in page.items]
    return page_response(ListTaskAssetDraftsResponse, request, api.links, page, data)


@router.post(
    ASSET + "/drafts",
    operation_id="addDraftToTaskAsset",
    status_code=201,
    response_model=TaskAssetDraftResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_draft_to_task_asset(
    request: Request,
    task_id: str,
    asset_id: str,
    body: AssetBody,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """A new draft of an image, video or raw file, from an upload."""
    upload = await api.call(service.check_new_draft, task_id, asset_id, body)
    stored = await files.claim(request, api, upload.key)
    work = api.answer(
        lambda added: wire_response(mapping.draft_response(*added, api.links, sign), 201),
        service.add_draft_to_task_asset,
        api.links,
        task_id,
        asset_id,
        upload.title,
        stored,
        upload.key,
    )
    return await files.or_remove(request, [stored.key], work)


# -- comments ----------------------------------------------------------------------------


def _asset_url(api: Api, asset: TaskAsset) -> str:
    return asset_self(api.links, asset.task_id, asset.id, asset.type)


@router.get(
    ASSET + "/comments",
    operation_id="listTaskAssetComments",
    response_model=ListTaskAssetCommentsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_asset_comments(
    request: Request,
    task_id: str,
    asset_id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: PagingQuery,
) -> Response:
    """Comments on the asset's latest draft, oldest first."""
    asset, page = await api.call(
        comments.list_task_asset_comments, task_id, asset_id, params.offset, params.page_size
    )
    url = _asset_url(api, asset)
    data = [mapping.comment_item(c, url, api.links, sign) for c in page.items]
    return page_response(ListTaskAssetCommentsResponse, request, api.links, page, data)


async def _claim_attachments(
    request: Request, api: Api, body: CommentCreateRequest, copies: list[comments.NewAttachment]
) -> None:
    given = body.attachments if isinstance(body.attachments, list) else []
    for n, item in enumerate(given):
        try:
            stored = await files.claim(request, api, item.key)
        except Invalid as exc:
            raise Invalid(exc.message, {f"attachments.{n}.key": exc.message}) from None
        copies.append(comments.NewAttachment(item.name, item.key, stored))


@router.post(
    ASSET + "/comments",
    operation_id="addCommentToTaskAsset",
    status_code=201,
    response_model=TaskAssetCommentResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_comment_to_task_asset(
    request: Request,
    task_id: str,
    asset_id: str,
    body: CommentCreateRequest,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """Comment on the asset's latest draft, with attachments from upload keys."""
    given = body.attachments if isinstance(body.attachments, list) else []
    await api.call(
        comments.check_comment, task_id, asset_id, body.value, [(a.name, a.key) for a in given]
    )
    copies: list[comments.NewAttachment] = []
    try:
        await _claim_attachments(request, api, body, copies)
    except Exception:
        await files.remove(request, [c.file.key for c in copies])
        raise

    def answer(added: tuple[TaskAsset, comments.CommentView]) -> Response:
        asset, view = added
        return wire_response(
            mapping.comment_response(view, _asset_url(api, asset), api.links, sign), 201
        )

    work = api.answer(
        answer, comments.add_comment_to_task_asset, task_id, asset_id, body.value, copies
    )
    return await files.or_remove(request, [c.file.key for c in copies], work)


# -- fields ------------------------------------------------------------------------------


@router.get(
    ASSET + "/fields",
    operation_id="listTaskAssetFields",
    response_model=ListTaskAssetFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_asset_fields(
    request: Request, task_id: str, asset_id: str, api: ApiDep, params: PagingQuery
) -> Response:
    """The asset's custom field values."""
    page = await api.call(
        service.list_task_asset_fields, task_id, asset_id, params.offset, params.page_size
    )
    data = [values.render_item(AssetFieldListResponseItem, fv) for fv in page.items]
    return page_response(ListTaskAssetFieldsResponse, request, api.links, page, data)


@router.put(
    ASSET + "/fields",
    operation_id="updateTaskAssetFields",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_asset_fields(
    task_id: str, asset_id: str, body: TaskAssetFieldsUpdateRequest, api: ApiDep
) -> Response:
    """Replace the asset's field values (the library's rules for asset fields)."""
    await api.call(service.update_task_asset_fields, api.links, task_id, asset_id, body.root)
    return no_content()


# -- brand compliance --------------------------------------------------------------------


@router.get(
    "/brand-compliance/categories",
    operation_id="listBrandComplianceCategories",
    response_model=ListBrandComplianceCategoriesResponse,
    tags=["Brand Compliance"],
    responses=error_responses(400, 401, 403),
)
async def list_brand_compliance_categories(
    request: Request,
    api: ApiDep,
    params: Annotated[
        ListBrandComplianceCategoriesParametersQuery,
        Depends(query(ListBrandComplianceCategoriesParametersQuery)),
    ],
) -> Response:
    """The brand compliance categories and their criteria (a fixed catalogue)."""
    page = await api.call(
        compliance.list_brand_compliance_categories, params.offset, params.page_size
    )
    data = [mapping.category_response(c) for c in page.items]
    return page_response(ListBrandComplianceCategoriesResponse, request, api.links, page, data)


@router.get(
    BRAND,
    operation_id="getTaskAssetDraftBrandCompliance",
    response_model=TaskAssetDraftBrandComplianceResponse,
    tags=["Brand Compliance"],
    responses=error_responses(400, 401, 404),
)
async def get_task_asset_draft_brand_compliance(
    task_id: str, asset_id: str, draft_id: str, api: ApiDep
) -> Response:
    """The review of a draft (``draft_id`` may be ``latest``)."""
    view = await api.call(
        compliance.get_task_asset_draft_brand_compliance, task_id, asset_id, draft_id
    )
    return wire_response(mapping.review_response(view, compliance.CATALOGUE))


@router.put(
    BRAND,
    operation_id="updateTaskAssetDraftBrandCompliance",
    response_model=TaskAssetDraftBrandComplianceResponse,
    tags=["Brand Compliance"],
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_asset_draft_brand_compliance(
    task_id: str,
    asset_id: str,
    draft_id: str,
    body: TaskAssetDraftBrandComplianceRequest,
    api: ApiDep,
) -> Response:
    """Record the review of a draft (``draft_id`` may be ``latest``)."""
    return await api.answer(
        lambda view: wire_response(mapping.review_response(view, compliance.CATALOGUE)),
        compliance.update_task_asset_draft_brand_compliance,
        task_id,
        asset_id,
        draft_id,
        body,
    )
