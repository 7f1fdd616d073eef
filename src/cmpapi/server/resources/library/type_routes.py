"""Library assets at their type endpoints (Library tag): getImage, updateImage, deleteImage,
getVideo, updateVideo, deleteVideo, getRawFile, updateRawFile, deleteRawFile, getArticle.

One route function per operation; what they share is in ``_get``, ``_update`` and
``_delete``. The spec answers deleteImage and deleteVideo with 204, deleteRawFile with an
empty 200, and has no update or delete for articles.
"""

from __future__ import annotations

from fastapi import Request, Response
from pydantic import BaseModel

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.deps import Api
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import assets, files, mapping
from cmpapi.server.resources.library.mapping import FileUrl
from cmpapi.wire import (
    LibraryArticle,
    LibraryImage,
    LibraryImageUpdateRequest,
    LibraryRawFile,
    LibraryRawFileUpdateRequest,
    LibraryVideo,
    LibraryVideoUpdateRequest,
)

router = Router(tags=["Library"])

IMAGE, VIDEO, RAW_FILE, ARTICLE = (
    "/images/{id}",
    "/videos/{id}",
    "/raw-files/{id}",
    "/articles/{id}",
)
READ = error_responses(400, 401, 403, 404)
WRITE = error_responses(400, 401, 403, 404, 422)


async def _get(type_: str, id: str, api: Api, file_url: FileUrl) -> Response:
    view = await api.call(assets.get_asset, type_, id)
    return wire_response(mapping.BY_TYPE[type_](view, api.links, file_url))


async def _update(type_: str, id: str, body: BaseModel, api: Api, file_url: FileUrl) -> Response:
    return await api.answer(
        lambda view: wire_response(mapping.BY_TYPE[type_](view, api.links, file_url)),
        assets.update_asset,
        api.links,
        type_,
        id,
        body.model_dump(mode="python"),
    )


async def _delete(request: Request, type_: str, id: str, api: Api) -> None:
    keys = await api.call(assets.delete_asset, api.links, type_, id)
    await files.remove(request, keys)  # the files go once their rows are gone


@router.get(IMAGE, operation_id="getImage", response_model=LibraryImage, responses=READ)
async def get_image(id: str, api: ApiDep, file_url: files.FileUrlDep) -> Response:
    """A library image."""
    return await _get("image", id, api, file_url)


@router.patch(IMAGE, operation_id="updateImage", response_model=LibraryImage, responses=WRITE)
async def update_image(
    id: str, body: LibraryImageUpdateRequest, api: ApiDep, file_url: files.FileUrlDep
) -> Response:
    """Change the given fields of a library image."""
    return await _update("image", id, body, api, file_url)


@router.delete(
    IMAGE, operation_id="deleteImage", status_code=204, response_class=Response, responses=WRITE
)
async def delete_image(request: Request, id: str, api: ApiDep) -> Response:
    """Delete a library image and its files."""
    await _delete(request, "image", id, api)
    return no_content()


@router.get(VIDEO, operation_id="getVideo", response_model=LibraryVideo, responses=READ)
async def get_video(id: str, api: ApiDep, file_url: files.FileUrlDep) -> Response:
    """A library video."""
    return await _get("video", id, api, file_url)


@router.patch(VIDEO, operation_id="updateVideo", response_model=LibraryVideo, responses=WRITE)
async def update_video(
    id: str, body: LibraryVideoUpdateRequest, api: ApiDep, file_url: files.FileUrlDep
) -> Response:
    """Change the given fields of a library video."""
    return await _update("video", id, body, api, file_url)


@router.delete(
    VIDEO, operation_id="deleteVideo", status_code=204, response_class=Response, responses=WRITE
)
async def delete_video(request: Request, id: str, api: ApiDep) -> Response:
    """Delete a library video and its files."""
    await _delete(request, "video", id, api)
    return no_content()


@router.get(RAW_FILE, operation_id="getRawFile", response_model=LibraryRawFile, responses=READ)
async def get_raw_file(id: str, api: ApiDep, file_url: files.FileUrlDep) -> Response:
    """A library raw file."""
    return await _get("raw_file", id, api, file_url)


@router.patch(
    RAW_FILE, operation_id="updateRawFile", response_model=LibraryRawFile, responses=WRITE
)
async def update_raw_file(
    id: str, body: LibraryRawFileUpdateRequest, api: ApiDep, file_url: files.FileUrlDep
) -> Response:
    """Change the given fields of a library raw file."""
    return await _update("raw_file", id, body, api, file_url)


@router.delete(
    RAW_FILE,
    operation_id="deleteRawFile",
    status_code=200,
    response_class=Response,
    responses=WRITE,
)
async def delete_raw_file(request: Request, id: str, api: ApiDep) -> Response:
    """Delete a library raw file and its files (the spec answers an empty 200)."""
    await _delete(request, "raw_file", id, api)
    return Response(status_code=200)


@router.get(ARTICLE, operation_id="getArticle", response_model=LibraryArticle, responses=READ)
async def get_article(id: str, api: ApiDep, file_url: files.FileUrlDep) -> Response:
    """A library article."""
    return await _get("article", id, api, file_url)
